// What a hollow node says about itself: the Node object a kubelet registers
// (capacity, labels, addresses, nodeInfo) and the conditions it posts while it
// is healthy, in kubelet's words.
// https://kubernetes.io/docs/reference/node/node-status/
import type { Node, NodeCondition, NodeStatus } from 'kubernetes-types/core/v1.d.ts';
import { formatIpv4, parseIpv4 } from '../network/cidr.ts';
import { rfc3339 } from '../api/time.ts';

export const KUBELET_VERSION = 'v1.32.0-skiff';
/** Set on every hollow node, so tools (and people) can tell them from real ones. */
export const HOLLOW_LABEL = 'node.skiff.io/hollow';

export interface NodeShape {
  cpu: string;
  memory: string;
  pods: string;
  ephemeralStorage: string;
  labels: Record<string, string>;
}

/** Kubernetes' GOARCH names for Node's arch label. */
export function goArch(arch = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/** InternalIP of the index-th hollow node: 10.99.0.1, 10.99.0.2, ... (data only, never routed). */
export function fakeNodeIp(index: number): string {
  return formatIpv4(parseIpv4('10.99.0.0') + 1 + (index % 65_534));
}

export function nodeObject(name: string, index: number, shape: NodeShape): Node {
  const arch = goArch();
  const resources = { cpu: shape.cpu, memory: shape.memory, pods: shape.pods, 'ephemeral-storage': shape.ephemeralStorage };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch,
        'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': arch,
        [HOLLOW_LABEL]: 'true',
        ...shape.labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [{ type: 'InternalIP', address: fakeNodeIp(index) }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: fakeId(name, 'machine'), systemUUID: fakeId(name, 'system'), bootID: fakeId(name, 'boot'),
        kernelVersion: '6.1.0-skiff', osImage: 'Skiff hollow node', containerRuntimeVersion: 'skiff://0.1.0',
        kubeletVersion: KUBELET_VERSION, kubeProxyVersion: KUBELET_VERSION, operatingSystem: 'linux', architecture: arch,
      },
      conditions: healthyConditions(new Date(), undefined),
      phase: 'Running',
    },
  };
}

const HEALTHY: [type: string, status: string, reason: string, message: string][] = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
];

/**
 * The kubelet's conditions as of now; lastTransitionTime is kept from the
 * current ones when the status does not change (it marks changes, not posts).
 */
export function healthyConditions(now: Date, current: NodeCondition[] | undefined): NodeCondition[] {
  const t = rfc3339(now);
  return HEALTHY.map(([type, status, reason, message]) => {
    const old = current?.find((c) => c.type === type);
    const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : t;
    return { type, status, reason, message, lastHeartbeatTime: t, lastTransitionTime };
  });
}

/** The status patch a kubelet posts: fresh heartbeats (conditions merge by type, so others' conditions stay). */
export function statusPatch(now: Date, current: NodeStatus | undefined): { status: NodeStatus } {
  return { status: { conditions: healthyConditions(now, current?.conditions) } };
}

export function isReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

function fakeId(name: string, kind: string): string {
  let h = 2166136261;
  for (const ch of `${kind}/${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const hex = (h.toString(16).padStart(8, '0') + name.length.toString(16).padStart(4, '0')).repeat(3);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
