// The activeQ order (PrioritySort's Less): higher spec.priority first, then the pod that has
// waited longest. https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { podPriority } from './pod-info.ts';

/** A pod waiting in the scheduling queue; timestamp (ms) is when it was (re)queued. */
export interface QueuedPodInfo {
  pod: Pod;
  timestamp: number;
}

/** Negative when `a` should be scheduled before `b`; usable with Array.prototype.sort and heaps. */
export function compare(a: QueuedPodInfo, b: QueuedPodInfo): number {
  const pa = podPriority(a.pod);
  const pb = podPriority(b.pod);
  if (pa !== pb) return pb - pa;
  return a.timestamp - b.timestamp;
}

/** compare for bare pods, using metadata.creationTimestamp as the queue timestamp. */
export function comparePods(a: Pod, b: Pod): number {
  const ts = (p: Pod) => (p.metadata?.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : 0);
  return compare({ pod: a, timestamp: ts(a) }, { pod: b, timestamp: ts(b) });
}
