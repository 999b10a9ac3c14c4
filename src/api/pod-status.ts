// What a pod's status says about it, shared by the API server (eviction), the controllers and
// the scheduler (k8s.io/kubernetes/pkg/api/v1/pod util).
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.d.ts';

export function readyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** The pod's Ready condition is True (IsPodReady). */
export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}
