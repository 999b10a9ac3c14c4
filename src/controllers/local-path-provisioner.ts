// The local-path provisioner (k3s's rancher/local-path-provisioner, as a Skiff controller):
// for a claim waiting for `skiff.io/local-path` on a selected node, a hostPath PersistentVolume
// `pvc-<claim uid>` at <base dir>/<namespace>_<claim>_<volume> on that node (node affinity
// keeps its pods there; the node agent creates the directory when it first mounts it).
// A released volume with reclaimPolicy Delete is emptied by a helper pod on its node
// (`rm -rf` of the directory), then deleted.
// The base dir is the controllers' localPathDir option (<data dir>/storage for `skiff server`,
// local-path-class.ts' DEFAULT_LOCAL_PATH_DIR by default), or what the ConfigMap kube-system/local-path-config says in
// config.json, as the upstream provisioner reads it:
//   {"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["/srv/volumes"]},{"node":"n1","paths":["/data"]}]}
// https://github.com/rancher/local-path-provisioner#configuration
import { basename, dirname, posix } from 'node:path';
import type { ConfigMap, Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { StorageClass } from 'kubernetes-types/storage/v1.d.ts';
import { Controller, isAlreadyExists, isNotFound, R } from '../client/index.ts';
import type { ControllerContext, ControllerDefinition } from './context.ts';
import { LOCAL_PATH_PROVISIONER } from './local-path-class.ts';
import { STORAGE_CLASSES } from './persistentvolume-binder.ts';
import { ANN_PROVISIONED_BY, ANN_SELECTED_NODE, claimClass, claimKey, claimProvisioner } from './persistentvolume-match.ts';

export const CONFIG_NAMESPACE = 'kube-system';
export const CONFIG_NAME = 'local-path-config';
const DEFAULT_NODE_KEY = 'DEFAULT_PATH_FOR_NON_LISTED_NODES';
const HELPER_LABEL = 'skiff.io/local-path-helper';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
/** The image of the helper pods (built into Skiff's runtime). */
export const HELPER_IMAGE = 'skiff.local/busybox:latest';

/** The base dir for a node from the local-path-config ConfigMap (fallback without one). */
export function baseDirFor(config: ConfigMap | undefined, node: string, fallback: string): string {
  const raw = config?.data?.['config.json'];
  if (!raw) return fallback;
  let parsed: { nodePathMap?: { node?: string; paths?: string[] }[] };
  try {
    parsed = JSON.parse(raw) as typeof parsed;
  } catch (e) {
    throw new Error(`configmap ${CONFIG_NAMESPACE}/${CONFIG_NAME}: config.json is not JSON: ${(e as Error).message}`);
  }
  const entries = parsed.nodePathMap ?? [];
  const entry = entries.find((e) => e.node === node) ?? entries.find((e) => e.node === DEFAULT_NODE_KEY);
  const path = entry?.paths?.[0];
  if (!path) return fallback;
  if (!posix.isAbsolute(path)) throw new Error(`configmap ${CONFIG_NAMESPACE}/${CONFIG_NAME}: path ${JSON.stringify(path)} for node ${entry!.node} is not absolute`);
  return path;
}

/** The node a local-path volume lives on (its node affinity's hostname). */
export function volumeNode(pv: PersistentVolume): string | undefined {
  for (const t of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const e of t.matchExpressions ?? []) if (e.key === HOSTNAME_LABEL && e.operator === 'In' && e.values?.length === 1) return e.values[0];
  }
  return undefined;
}

export function helperPodName(pv: PersistentVolume): string {
  return `helper-pod-delete-${pv.metadata!.name}`;
}

/** The PersistentVolume provisioned for the claim on the node. */
export function localPathVolume(pvc: PersistentVolumeClaim, sc: StorageClass, node: Node, baseDir: string): PersistentVolume {
  const name = `pvc-${pvc.metadata!.uid}`;
  const nodeName = node.metadata!.name!;
  const hostname = node.metadata?.labels?.[HOSTNAME_LABEL] ?? nodeName;
  return {
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name, annotations: { [ANN_PROVISIONED_BY]: LOCAL_PATH_PROVISIONER, 'local.path.provisioner/selected-node': nodeName } },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '0' },
      accessModes: pvc.spec?.accessModes,
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      storageClassName: sc.metadata!.name,
      volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
      mountOptions: sc.mountOptions,
      claimRef: {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata!.namespace, name: pvc.metadata!.name,
        uid: pvc.metadata!.uid, resourceVersion: pvc.metadata!.resourceVersion,
      },
      hostPath: { path: posix.join(baseDir, `${pvc.metadata!.namespace}_${pvc.metadata!.name}_${name}`), type: 'DirectoryOrCreate' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostname] }] }] } },
    },
  };
}

/** A pod on the volume's node that removes its directory (the parent is mounted, never the volume itself). */
export function deleteHelperPod(pv: PersistentVolume, nodeName: string): Pod {
  const path = pv.spec!.hostPath!.path;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: helperPodName(pv), namespace: CONFIG_NAMESPACE, labels: { [HELPER_LABEL]: 'delete' } },
    spec: {
      nodeName,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      tolerations: [{ operator: 'Exists' }],
      containers: [{
        name: 'helper-pod', image: HELPER_IMAGE, imagePullPolicy: 'IfNotPresent',
        command: ['rm', '-rf', posix.join('/data', basename(path))],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }],
      volumes: [{ name: 'data', hostPath: { path: dirname(path), type: 'DirectoryOrCreate' } }],
    },
  };
}

export const definition: ControllerDefinition = {
  name: 'local-path-provisioner',
  start(ctx: ControllerContext) {
    const claims = ctx.informers.informerFor<PersistentVolumeClaim>(R.persistentvolumeclaims);
    const volumes = ctx.informers.informerFor<PersistentVolume>(R.persistentvolumes);
    const classes = ctx.informers.informerFor<StorageClass>(STORAGE_CLASSES);
    const nodes = ctx.informers.informerFor<Node>(R.nodes);
    const helpers = ctx.informers.informerFor<Pod>(R.pods, { namespace: CONFIG_NAMESPACE, labelSelector: HELPER_LABEL });
    const configs = ctx.informers.informerFor<ConfigMap>(R.configmaps, { namespace: CONFIG_NAMESPACE, fieldSelector: `metadata.name=${CONFIG_NAME}` });
    const recorder = ctx.recorder(`${LOCAL_PATH_PROVISIONER}`);

    const provision = async (key: string): Promise<void> => {
      const pvc = claims.get(key);
      if (!pvc || pvc.metadata?.deletionTimestamp || pvc.spec?.volumeName) return;
      if (claimProvisioner(pvc) !== LOCAL_PATH_PROVISIONER) return;
      const sc = classes.getByName(claimClass(pvc));
      if (sc?.provisioner !== LOCAL_PATH_PROVISIONER) return;
      const nodeName = pvc.metadata?.annotations?.[ANN_SELECTED_NODE];
      if (!nodeName) {
        recorder.event(pvc, 'Warning', 'ProvisioningFailed',
          `failed to provision volume with StorageClass "${sc.metadata!.name}": configuration error, no node was specified (use volumeBindingMode WaitForFirstConsumer)`);
        return;
      }
      const node = nodes.getByName(nodeName);
      if (!node) throw new Error(`claim ${key}: node ${nodeName} is not in the cache yet`);
      if (volumes.getByName(`pvc-${pvc.metadata!.uid}`)) return;
      const pv = localPathVolume(pvc, sc, node, baseDirFor(configs.getByName(CONFIG_NAME, CONFIG_NAMESPACE), nodeName, ctx.options.localPathDir));
      recorder.event(pvc, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${key}"`);
      try {
        await ctx.client.create(R.persistentvolumes, pv);
      } catch (e) {
        if (isAlreadyExists(e)) return;
        recorder.event(pvc, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata!.name}": ${(e as Error).message}`);
        throw e;
      }
      recorder.event(pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pv.metadata!.name}`);
    };

    const reclaim = async (name: string): Promise<void> => {
      const pv = volumes.getByName(name);
      if (!pv || pv.metadata?.annotations?.[ANN_PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) return;
      if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
      const nodeName = pv.metadata?.annotations?.['local.path.provisioner/selected-node'] ?? volumeNode(pv);
      const helperKey = `${CONFIG_NAMESPACE}/${helperPodName(pv)}`;
      const helper = helpers.get(helperKey);
      const deleteVolume = async () => {
        try {
          await ctx.client.delete(R.persistentvolumes, name, { preconditions: { uid: pv.metadata!.uid } });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      };
      const deleteHelper = async () => {
        try {
          await ctx.client.delete(R.pods, helper!.metadata!.name!, { namespace: CONFIG_NAMESPACE, gracePeriodSeconds: 0 });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      };
      if (!pv.spec?.hostPath?.path || !nodeName || !nodes.getByName(nodeName)) {
        // Nowhere to run the cleanup: only the API object can go.
        recorder.event(pv, 'Warning', 'VolumeFailedDelete', `node ${nodeName ?? '(none)'} of the volume is gone: its directory ${pv.spec?.hostPath?.path} is left in place`);
        return deleteVolume();
      }
      if (!helper) {
        try {
          await ctx.client.create(R.pods, deleteHelperPod(pv, nodeName));
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
        return;
      }
      if (helper.status?.phase === 'Succeeded') {
        await deleteVolume();
        await deleteHelper();
        return;
      }
      if (helper.status?.phase === 'Failed') {
        recorder.event(pv, 'Warning', 'VolumeFailedDelete', `helper pod ${helperKey} failed to remove ${pv.spec.hostPath.path} on node ${nodeName}; retrying`);
        await deleteHelper();
        throw new Error(`deleting volume ${name}: helper pod ${helperKey} failed`);
      }
    };

    const controller = new Controller(LOCAL_PATH_PROVISIONER, [], async (key) => {
      if (key.startsWith('claim:')) return provision(key.slice('claim:'.length));
      if (key.startsWith('volume:')) return reclaim(key.slice('volume:'.length));
    }, 2, { log: ctx.log });
    controller.watch(claims, (c) => [`claim:${claimKey(c as PersistentVolumeClaim)}`]);
    controller.watch(volumes, (v) => [`volume:${v.metadata!.name}`]);
    controller.watch(helpers, (p) => {
      const m = /^helper-pod-delete-(.+)$/.exec(p.metadata?.name ?? '');
      return m ? [`volume:${m[1]}`] : [];
    });
    controller.watch(classes, () => []);
    controller.watch(nodes, () => []);
    controller.watch(configs, () => []);
    return controller;
  },
};
