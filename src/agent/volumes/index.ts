// A pod's volumes on the node, laid out as kubelet does under the pod's directory:
//   <podsDir>/<uid>/volumes/kubernetes.io~empty-dir/<name>     (tmpfs when medium: Memory)
//   <podsDir>/<uid>/volumes/kubernetes.io~configmap/<name>     (atomic-writer layout)
//   <podsDir>/<uid>/volumes/kubernetes.io~secret/<name>        (tmpfs, atomic-writer layout)
//   <podsDir>/<uid>/volumes/kubernetes.io~downward-api/<name>
//   <podsDir>/<uid>/volumes/kubernetes.io~projected/<name>     (tmpfs)
// hostPath and persistentVolumeClaim volumes are host paths used in place.
// https://kubernetes.io/docs/concepts/storage/volumes/
import type { Container, Pod, Volume, VolumeMount } from 'kubernetes-types/core/v1.d.ts';
import { chmod, chown, mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeepPartial, Mount, MountPropagation } from '../../cri/types.ts';
import type { RestClient } from '../../client/rest.ts';
import { parseQuantity } from '../../api/validation/quantity.ts';
import { expandVars } from '../env.ts';
import { type Payload, writeAtomically } from './atomic-writer.ts';
import { downwardAPIPayload } from './downward-api.ts';
import { setUpEmptyDir } from './empty-dir.ts';
import { nodeAllocatable, podMetadataField } from './field-ref.ts';
import { checkHostPathType } from './host-path.ts';
import { keyPayload } from './key-payload.ts';
import { ensureTmpfs, mountPoints, unmountUnder } from './mounts.ts';
import { configMapData, getConfigMap, getSecret, secretData } from './objects.ts';
import { projectedPayload } from './projected.ts';
import { persistentVolumePath, UnmountableVolumeError } from './pvc.ts';
import { expandSubPathExpr, resolveSubPath } from './sub-path.ts';

export interface VolumeContext {
  client: RestClient;
  nodeName: string;
  /** Per-pod directories live under <podsDir>/<pod uid>/volumes/... */
  podsDir: string;
}

export interface PodVolumes {
  /** CRI mounts for one container, from its volumeMounts (subPath included). */
  mountsFor(container: Container): DeepPartial<Mount>[];
}

/** Where a volume is on the host, and whether its plugin mounts it read-only whatever the volumeMount says. */
interface SetUpVolume {
  hostPath: string;
  readOnly: boolean;
}

/** kubelet's plugin directory names. */
export const PLUGIN_DIRS = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
} as const;

export function podVolumeDir(podsDir: string, podUid: string, plugin: keyof typeof PLUGIN_DIRS, volumeName: string): string {
  return join(podsDir, podUid, 'volumes', PLUGIN_DIRS[plugin], volumeName);
}

// One setup at a time per volume directory: a sync may overlap a configMap refresh.
const inFlight = new Map<string, Promise<unknown>>();
async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = inFlight.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const settled = run.then(() => undefined, () => undefined);
  inFlight.set(key, settled);
  try {
    return await run;
  } finally {
    if (inFlight.get(key) === settled) inFlight.delete(key);
  }
}

/** The runAsUser every container shares, if they do (kubelet's fsUser for token files). */
function sharedRunAsUser(pod: Pod): number | undefined {
  const podUser = pod.spec?.securityContext?.runAsUser;
  const users = new Set([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.securityContext?.runAsUser ?? podUser));
  if (users.size !== 1) return undefined;
  const [u] = users;
  return u ?? undefined;
}

/** A directory every container user may enter (kubelet's wrapped emptyDir is 0777; with fsGroup, set-gid to it). */
async function preparePluginDir(dir: string, fsGroup: number | undefined, memory: boolean): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  if (memory) await ensureTmpfs(dir); // the kernel's default tmpfs root: 1777
  else await chmod(dir, 0o777);
  if (fsGroup !== undefined) {
    const st = await stat(dir);
    await chown(dir, st.uid, fsGroup);
    await chmod(dir, (st.mode & 0o7777) | 0o2000);
  }
}

/**
 * Makes (or refreshes: configMap, secret, downwardAPI and projected contents are rewritten
 * atomically when they change) every volume of the pod. Called on every sync of the pod, so it
 * must be idempotent. Throws an Error with the message kubelet would show if a volume cannot
 * be made (e.g. configmap "x" not found), and the pod's containers are not started.
 */
export async function setUpPodVolumes(pod: Pod, ctx: VolumeContext): Promise<PodVolumes> {
  const uid = pod.metadata?.uid;
  if (!uid) throw new Error('the pod has no metadata.uid');
  let allocatable: Promise<Record<string, string>> | undefined;
  const env = {
    allocatable: () => (allocatable ??= nodeAllocatable(ctx.client, ctx.nodeName)),
    fsGroup: pod.spec?.securityContext?.fsGroup,
    fsUser: sharedRunAsUser(pod),
  };
  const volumes = new Map<string, SetUpVolume>();
  for (const vol of pod.spec?.volumes ?? []) {
    const key = join(ctx.podsDir, uid, vol.name);
    try {
      volumes.set(vol.name, await serialized(key, () => setUpVolume(pod, uid, vol, ctx, env)));
    } catch (e) {
      if (e instanceof UnmountableVolumeError) throw e;
      throw new Error(`MountVolume.SetUp failed for volume "${vol.name}" : ${(e as Error).message}`);
    }
  }
  return { mountsFor: (container) => mountsFor(pod, container, volumes) };
}

async function setUpVolume(pod: Pod, uid: string, vol: Volume, ctx: VolumeContext,
  env: { allocatable: () => Promise<Record<string, string>>; fsGroup?: number; fsUser?: number }): Promise<SetUpVolume> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const dirOf = (plugin: keyof typeof PLUGIN_DIRS) => podVolumeDir(ctx.podsDir, uid, plugin, vol.name);
  const write = async (dir: string, payload: Payload) => {
    await writeAtomically(dir, payload, { fsGroup: env.fsGroup });
    return { hostPath: dir, readOnly: true };
  };
  if (vol.emptyDir) {
    const dir = dirOf('emptyDir');
    await setUpEmptyDir(pod, vol.emptyDir, dir, async () => parseQuantity((await env.allocatable()).memory));
    return { hostPath: dir, readOnly: false };
  }
  if (vol.hostPath) {
    await checkHostPathType(vol.hostPath.path, vol.hostPath.type);
    return { hostPath: vol.hostPath.path, readOnly: false };
  }
  if (vol.configMap) {
    const s = vol.configMap;
    const optional = s.optional ?? false;
    const cm = await getConfigMap(ctx.client, namespace, s.name ?? '', optional);
    const payload = keyPayload(configMapData(cm), s.items, s.defaultMode, optional || !cm, 'configmap');
    const dir = dirOf('configMap');
    await preparePluginDir(dir, env.fsGroup, false);
    return write(dir, payload);
  }
  if (vol.secret) {
    const s = vol.secret;
    const optional = s.optional ?? false;
    const secret = await getSecret(ctx.client, namespace, s.secretName ?? '', optional);
    const payload = keyPayload(secretData(secret), s.items, s.defaultMode, optional || !secret, 'secret');
    // Secrets never touch the node's disk: a tmpfs, as kubelet does.
    const dir = dirOf('secret');
    await preparePluginDir(dir, env.fsGroup, true);
    return write(dir, payload);
  }
  if (vol.downwardAPI) {
    const payload = await downwardAPIPayload(pod, vol.downwardAPI.items, vol.downwardAPI.defaultMode, env.allocatable);
    const dir = dirOf('downwardAPI');
    await preparePluginDir(dir, env.fsGroup, false);
    return write(dir, payload);
  }
  if (vol.projected) {
    const dir = dirOf('projected');
    await preparePluginDir(dir, env.fsGroup, true);
    const payload = await projectedPayload(vol.projected, { client: ctx.client, pod, volumeDir: dir, ...env });
    return write(dir, payload);
  }
  if (vol.persistentVolumeClaim) {
    const { path } = await persistentVolumePath(ctx.client, namespace, vol.name, vol.persistentVolumeClaim.claimName);
    return { hostPath: path, readOnly: vol.persistentVolumeClaim.readOnly ?? false };
  }
  const type = Object.keys(vol).find((k) => k !== 'name') ?? 'none';
  throw new Error(`volume type ${type} is not supported by skiff (emptyDir, hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim are)`);
}

const PROPAGATION: Record<string, MountPropagation> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

/**
 * What subPathExpr may use: the container's literal env values and the pod fields known without
 * a lookup (the full env, with configMap and secret references, is computed by containerEnv).
 */
function subPathEnv(pod: Pod, container: Container): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of container.env ?? []) {
    if (e.value) {
      env.set(e.name, expandVars(e.value, (n) => env.get(n)));
    } else if (e.valueFrom?.fieldRef) {
      const path = e.valueFrom.fieldRef.fieldPath;
      if (path === 'spec.nodeName') env.set(e.name, pod.spec?.nodeName ?? '');
      else if (path === 'spec.serviceAccountName') env.set(e.name, pod.spec?.serviceAccountName ?? '');
      else if (path === 'status.podIP') env.set(e.name, pod.status?.podIP ?? '');
      else if (path.startsWith('metadata.')) env.set(e.name, podMetadataField(pod, path));
    }
  }
  return env;
}

function mountsFor(pod: Pod, container: Container, volumes: Map<string, SetUpVolume>): DeepPartial<Mount>[] {
  const mounts: DeepPartial<Mount>[] = [];
  let env: Map<string, string> | undefined;
  for (const m of container.volumeMounts ?? [] as VolumeMount[]) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`cannot find volume "${m.name}" to mount into container "${container.name}"`);
    let hostPath = v.hostPath;
    const subPath = m.subPathExpr ? expandSubPathExpr(m.subPathExpr, (env ??= subPathEnv(pod, container)), m.name, container.name) : m.subPath;
    if (subPath) hostPath = resolveSubPath(v.hostPath, subPath, m.name, container.name);
    const readonly = (m.readOnly ?? false) || v.readOnly;
    mounts.push({
      container_path: m.mountPath,
      host_path: hostPath,
      readonly,
      propagation: PROPAGATION[m.mountPropagation ?? 'None'] ?? 'PROPAGATION_PRIVATE',
      recursive_read_only: readonly && m.recursiveReadOnly === 'Enabled',
      selinux_relabel: false,
    });
  }
  return mounts;
}

/** Unmounts and deletes everything setUpPodVolumes made for the pod. */
export async function tearDownPodVolumes(podUid: string, ctx: VolumeContext): Promise<void> {
  if (!podUid || podUid.includes('/') || podUid.startsWith('.')) throw new Error(`invalid pod uid ${JSON.stringify(podUid)}`);
  const podDir = join(ctx.podsDir, podUid);
  const volumesDir = join(podDir, 'volumes');
  await unmountUnder(volumesDir);
  const left = mountPoints().filter((m) => m === volumesDir || m.startsWith(`${volumesDir}/`));
  // Never delete through a mount: that would delete what the mount shows (a tmpfs is fine; a bind of host data is not).
  if (left.length > 0) throw new Error(`cannot remove the volumes of pod ${podUid}: still mounted: ${left.join(', ')}`);
  await rm(volumesDir, { recursive: true, force: true });
  for (const [k] of inFlight) if (k.startsWith(`${podDir}/`)) inFlight.delete(k);
  // The pod directory goes too once nothing else (the agent's own files) is in it.
  try {
    if ((await readdir(podDir)).length === 0) await rmdir(podDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw e;
  }
}
