// The scheduling algorithm as functions over plain Pods and Nodes; the wiring to the API
// (informers, the queue, pods/binding) lives elsewhere.
export { ClusterSnapshot, type NodeInfo, type ImageState } from './snapshot.ts';
export { type PodInfo, type AffinityTerm, newPodInfo, podKey, podPriority } from './pod-info.ts';
export { type Resource, type Allocatable, podRequests, podNonZeroRequests, nodeAllocatable, milliValue, intValue } from './resources.ts';
export {
  type Status, type CycleState, type FilterPlugin, type ScorePlugin, MAX_NODE_SCORE,
  fitErrorMessage, reasonHistogram, runFilters, runPreFilters,
} from './framework.ts';
export {
  type ScheduleOptions, type ScheduleResult, type Unschedulable, DEFAULT_FILTERS, DEFAULT_SCORES,
  schedulePod, numFeasibleNodesToFind,
} from './schedule.ts';
export { type Candidate, type PreemptionOutcome, preempt, selectVictimsOnNode, pickOneCandidate, moreImportantFirst } from './preemption.ts';
export { type QueuedPodInfo, compare, comparePods } from './queue.ts';
