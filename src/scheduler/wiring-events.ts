// Which informer events concern the scheduler, and which of them can make a parked pod
// schedulable (kube-scheduler's cluster events: NodeAdd, NodeUpdate of allocatable, labels,
// taints or unschedulable, AssignedPodDelete, AssignedPodUpdate, unschedulable pod updates).
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { isDeepStrictEqual } from 'node:util';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export function isAssigned(pod: Pod): boolean {
  return !!pod.spec?.nodeName;
}

export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** A pending pod this scheduler should place: schedulerName is ours (unset means default-scheduler). */
export function isResponsibleFor(pod: Pod, schedulerName: string): boolean {
  return (pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === schedulerName;
}

/**
 * A node change that can let pods fit that did not before: allocatable, labels, taints,
 * spec.unschedulable (nodeSchedulingPropertiesChange). Heartbeats (conditions, lease-like
 * status updates) do not count, or every kubelet status update would retry every parked pod.
 */
export function nodeSchedulingPropertiesChanged(old: Node, node: Node): boolean {
  return !!old.spec?.unschedulable !== !!node.spec?.unschedulable
    || !isDeepStrictEqual(old.status?.allocatable ?? {}, node.status?.allocatable ?? {})
    || !isDeepStrictEqual(old.metadata?.labels ?? {}, node.metadata?.labels ?? {})
    || !isDeepStrictEqual(old.spec?.taints ?? [], node.spec?.taints ?? []);
}

/**
 * A pending pod's update that can change where it fits (isPodUpdated): anything but status,
 * resourceVersion, generation and managedFields. Our own PodScheduled writes are status-only,
 * so they never retry the pod they report on.
 */
export function podSchedulingRelevantChange(old: Pod, pod: Pod): boolean {
  const strip = (p: Pod) => {
    const { resourceVersion: _rv, generation: _g, managedFields: _mf, ...meta } = p.metadata ?? {};
    return { meta, spec: p.spec };
  };
  return !isDeepStrictEqual(strip(old), strip(pod));
}

/** An assigned pod's change other pods' affinity or topology spread can see: its labels, or it finished. */
export function assignedPodChangeMatters(old: Pod, pod: Pod): boolean {
  return !isDeepStrictEqual(old.metadata?.labels ?? {}, pod.metadata?.labels ?? {}) || (!isTerminal(old) && isTerminal(pod));
}
