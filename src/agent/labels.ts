// The CRI labels and annotations kubelet puts on sandboxes and containers, so that the agent
// (after a restart), the kubelet server and `crictl` can tell which pod and container a runtime
// object belongs to. https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/types/labels.go
import type { Pod } from 'kubernetes-types/core/v1.d.ts';

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

export const RESTART_COUNT_ANNOTATION = 'io.kubernetes.container.restartCount';
export const CONTAINER_HASH_ANNOTATION = 'io.kubernetes.container.hash';
export const TERMINATION_MESSAGE_PATH_ANNOTATION = 'io.kubernetes.container.terminationMessagePath';
export const TERMINATION_MESSAGE_POLICY_ANNOTATION = 'io.kubernetes.container.terminationMessagePolicy';
export const TERMINATION_GRACE_ANNOTATION = 'io.kubernetes.pod.terminationGracePeriod';
/** Skiff's own: whether the container is one of the pod's init containers. */
export const INIT_CONTAINER_ANNOTATION = 'io.skiff.container.init';

/** The three pod labels every sandbox and container carries. */
export function podLabels(pod: Pod): Record<string, string> {
  return {
    [POD_NAME_LABEL]: pod.metadata?.name ?? '',
    [POD_NAMESPACE_LABEL]: pod.metadata?.namespace ?? '',
    [POD_UID_LABEL]: pod.metadata?.uid ?? '',
  };
}
