// A pod's volumes on the node. SEED: no volume types yet; the full implementation (emptyDir,
// hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim) replaces this file.
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { DeepPartial, Mount } from '../../cri/types.ts';
import type { RestClient } from '../../client/rest.ts';

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

/**
 * Makes (or refreshes: configMap, secret, downwardAPI and projected contents are rewritten
 * atomically when they change) every volume of the pod. Called on every sync of the pod, so it
 * must be idempotent. Throws an Error with the message kubelet would show if a volume cannot
 * be made (e.g. configmap "x" not found), and the pod's containers are not started.
 */
export async function setUpPodVolumes(pod: Pod, ctx: VolumeContext): Promise<PodVolumes> {
  const known = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  return {
    mountsFor(container) {
      for (const m of container.volumeMounts ?? []) {
        if (!known.has(m.name)) throw new Error(`volume "${m.name}" not found`);
      }
      return [];
    },
  };
}

/** Unmounts and deletes everything setUpPodVolumes made for the pod. */
export async function tearDownPodVolumes(podUid: string, ctx: VolumeContext): Promise<void> {
}
