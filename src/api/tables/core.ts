// Printers for core/v1 kinds other than Pod and Event: Service, Endpoints,
// Node, Namespace, ConfigMap, Secret, ServiceAccount, PersistentVolume(Claim),
// ResourceQuota (kubernetes/pkg/printers/internalversion).
import type { Node, Service } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../types.ts';
import { formatLabels } from '../selectors/labels.ts';
import { since } from './duration.ts';
import { accessModes, joinHostPort } from './format.ts';
import { AGE_COLUMN, NAME_COLUMN, type Printer, column } from './types.ts';

const age = (o: KubeObject, now: Date) => since(o.metadata?.creationTimestamp, now);
const count = (m: unknown) => (m && typeof m === 'object' ? Object.keys(m).length : 0);

function externalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  switch (spec.type || 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      // The server prints the wide form: every ingress IP (or hostname), sorted and de-duplicated.
      const ingress = [...new Set((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter((s) => s !== ''))].sort();
      if (external.length > 0) return [...ingress, ...external].join(',');
      return ingress.length > 0 ? ingress.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** `80/TCP`, or `80:30080/TCP` when a node port is allocated, comma-joined. */
function servicePorts(svc: Service): string {
  const ports = (svc.spec?.ports ?? []).map((p) =>
    (p.nodePort ?? 0) > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`);
  return ports.length > 0 ? ports.join(',') : '<none>';
}

export const servicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Type', 'string', 'type determines how the Service is exposed.'),
    column('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    column('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    column('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
    AGE_COLUMN,
    column('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
  ],
  row(o, { now }) {
    const svc = o as Service;
    const clusterIP = svc.spec?.clusterIPs?.[0] || svc.spec?.clusterIP || '<none>';
    return {
      cells: [o.metadata?.name, svc.spec?.type || 'ClusterIP', clusterIP, externalIP(svc), servicePorts(svc), age(o, now),
        formatLabels(svc.spec?.selector)],
    };
  },
};

/** formatEndpoints: up to three ip:port pairs then " + N more...", `<none>` without subsets. */
function formatEndpoints(o: KubeObject): string {
  const subsets: { addresses?: { ip: string }[]; ports?: { port: number }[] }[] = o.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    if ((ss.ports ?? []).length === 0) {
      // Headless services may have no ports.
      count += addresses.length;
      for (const a of addresses) if (list.length < 3) list.push(a.ip);
      continue;
    }
    for (const port of ss.ports ?? []) {
      count += addresses.length;
      for (const a of addresses) if (list.length < 3) list.push(joinHostPort(a.ip, port.port));
    }
  }
  return count > 3 ? `${list.join(',')} + ${count - 3} more...` : list.join(',');
}

export const endpointsPrinter: Printer = {
  columns: [NAME_COLUMN, column('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'), AGE_COLUMN],
  row: (o, { now }) => ({ cells: [o.metadata?.name, formatEndpoints(o), age(o, now)] }),
};

/** Roles from `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label, sorted. */
function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) {
      roles.add(v);
    }
  }
  return [...roles].sort().join(',') || '<none>';
}

const nodeAddress = (node: Node, type: string) => node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';

export const nodePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    AGE_COLUMN,
    column('Version', 'string', 'Kubelet Version reported by the node.'),
    column('Internal-IP', 'string', 'List of addresses reachable to the node.', 1),
    column('External-IP', 'string', 'List of addresses reachable to the node.', 1),
    column('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
    column('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
    column('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1),
  ],
  row(o, { now }) {
    const node = o as Node;
    const ready = (node.status?.conditions ?? []).filter((c) => c.type === 'Ready').at(-1);
    const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
    if (node.spec?.unschedulable) status.push('SchedulingDisabled');
    const info = node.status?.nodeInfo;
    return {
      cells: [o.metadata?.name, status.join(','), nodeRoles(node), age(o, now), info?.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'), nodeAddress(node, 'ExternalIP'), info?.osImage || '<unknown>',
        info?.kernelVersion || '<unknown>', info?.containerRuntimeVersion || '<unknown>'],
    };
  },
};

export const namespacePrinter: Printer = {
  columns: [NAME_COLUMN, column('Status', 'string', 'The status of the namespace'), AGE_COLUMN],
  row: (o, { now }) => ({ cells: [o.metadata?.name, o.status?.phase ?? '', age(o, now)] }),
};

export const configMapPrinter: Printer = {
  columns: [NAME_COLUMN, column('Data', 'string', 'Data contains the configuration data.'), AGE_COLUMN],
  row: (o, { now }) => ({ cells: [o.metadata?.name, count(o.data) + count(o.binaryData), age(o, now)] }),
};

export const secretPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    column('Data', 'string', 'Data contains the secret data.'),
    AGE_COLUMN,
  ],
  row: (o, { now }) => ({ cells: [o.metadata?.name, o.type ?? '', count(o.data), age(o, now)] }),
};

export const serviceAccountPrinter: Printer = {
  columns: [NAME_COLUMN, column('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE_COLUMN],
  row: (o, { now }) => ({ cells: [o.metadata?.name, (o.secrets ?? []).length, age(o, now)] }),
};

const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

export const persistentVolumePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Capacity', 'string', 'capacity is the description of the persistent volume\'s resources and capacity.'),
    column('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
    column('Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
    column('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    column('Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
    column('StorageClass', 'string', 'StorageClass of the pv'),
    column('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pv'),
    column('Reason', 'string', 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.'),
    AGE_COLUMN,
    column('VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', 1),
  ],
  row(o, { now }) {
    const spec = o.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    const storageClass = o.metadata?.annotations?.[BETA_STORAGE_CLASS] ?? spec.storageClassName ?? '';
    return {
      cells: [o.metadata?.name, spec.capacity?.storage ?? '0', accessModes(spec.accessModes), spec.persistentVolumeReclaimPolicy ?? '',
        o.metadata?.deletionTimestamp ? 'Terminating' : o.status?.phase ?? '', claim, storageClass,
        spec.volumeAttributesClassName ?? '<unset>', o.status?.reason ?? '', age(o, now), spec.volumeMode ?? '<unset>'],
    };
  },
};

export const persistentVolumeClaimPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
    column('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    column('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
    column('Access Modes', 'string', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    column('StorageClass', 'string', 'StorageClass of the pvc'),
    column('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'),
    AGE_COLUMN,
    column('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1),
  ],
  row(o, { now }) {
    const spec = o.spec ?? {};
    const bound = Boolean(spec.volumeName);
    const storageClass = o.metadata?.annotations?.[BETA_STORAGE_CLASS] ?? spec.storageClassName ?? '';
    return {
      cells: [o.metadata?.name, o.metadata?.deletionTimestamp ? 'Terminating' : o.status?.phase ?? '', spec.volumeName ?? '',
        bound ? o.status?.capacity?.storage ?? '0' : '', bound ? accessModes(o.status?.accessModes) : '', storageClass,
        spec.volumeAttributesClassName ?? '<unset>', age(o, now), spec.volumeMode ?? '<unset>'],
    };
  },
};

export const resourceQuotaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
    column('Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
    AGE_COLUMN,
  ],
  row(o, { now }) {
    const hard: Record<string, string> = o.status?.hard ?? {};
    const used: Record<string, string> = o.status?.used ?? {};
    const requests: string[] = [];
    const limits: string[] = [];
    for (const name of Object.keys(hard).sort()) {
      const pieces = name.split('.');
      (pieces.length > 1 && pieces[0] === 'limits' ? limits : requests).push(`${name}: ${used[name] ?? '0'}/${hard[name]}`);
    }
    return { cells: [o.metadata?.name, requests.join(', '), limits.join(', '), age(o, now)] };
  },
};
