// DefaultPreemption (PostFilter), without PodDisruptionBudgets: when no node fits, find nodes
// where evicting lower-priority pods lets the pod fit, keep as few victims as possible, and pick
// the node whose victims matter least.
// https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#preemption
import { type CycleState, type FilterPlugin, fitErrorMessage, reasonHistogram, runFilters, type Status, unresolvable } from './framework.ts';
import type { PodInfo } from './pod-info.ts';
import type { NodeInfo } from './snapshot.ts';

export const REASON_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const REASON_NO_VICTIMS = 'No preemption victims found for incoming pod';
const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE = 100;
const MAX_INT32 = 2 ** 31 - 1;

export interface Candidate {
  node: NodeInfo;
  /** Most important first (higher priority, then earlier start). */
  victims: PodInfo[];
}

export interface PreemptionOutcome {
  candidate?: Candidate;
  /** The PostFilter message appended to the FitError ("preemption: ..."); empty on success. */
  message: string;
}

/** util.MoreImportantPod as a sort comparator: higher priority first, then the one started earlier. */
export function moreImportantFirst(a: PodInfo, b: PodInfo): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.startTime - b.startTime;
}

/** PodEligibleToPreemptOthers: a reason the pod may not preempt, or undefined. */
function notEligible(cycle: CycleState, statuses: Map<NodeInfo, Status>): string | undefined {
  const pod = cycle.pod;
  if (pod.spec?.preemptionPolicy === 'Never') return 'not eligible due to preemptionPolicy=Never.';
  const nominated = pod.status?.nominatedNodeName ? cycle.snapshot.nodesByName.get(pod.status.nominatedNodeName) : undefined;
  if (nominated && statuses.get(nominated)?.code !== 'UnschedulableAndUnresolvable') {
    // A lower-priority pod already terminating there is likely our earlier victim: wait for it.
    for (const p of nominated.pods.values()) {
      if (p.pod.metadata?.deletionTimestamp && p.priority < cycle.podInfo.priority) {
        return 'not eligible due to a terminating pod on the nominated node.';
      }
    }
  }
  return undefined;
}

/**
 * SelectVictimsOnNode: take every lower-priority pod off the node; if the pod then fits, put them
 * back one by one, most important first, keeping each that still lets it fit. `active` are the
 * filters PreFilter kept for this pod; their state follows each removal. The snapshot and the
 * state are restored before returning.
 */
export function selectVictimsOnNode(cycle: CycleState, active: readonly FilterPlugin[], node: NodeInfo): Candidate | Status {
  const { snapshot, podInfo } = cycle;
  const potential = [...node.pods.values()].filter((p) => p.priority < podInfo.priority);
  if (potential.length === 0) return unresolvable('DefaultPreemption', REASON_NO_VICTIMS);
  const removed = new Set<PodInfo>();
  const remove = (p: PodInfo) => {
    snapshot.removePodInfo(p);
    removed.add(p);
    for (const f of active) f.removePod?.(cycle, p, node);
  };
  const add = (p: PodInfo) => {
    snapshot.restorePodInfo(p, node);
    removed.delete(p);
    for (const f of active) f.addPod?.(cycle, p, node);
  };
  for (const p of potential) remove(p);
  try {
    const status = runFilters(cycle, active, node);
    if (status) return status;
    potential.sort(moreImportantFirst);
    const victims: PodInfo[] = [];
    for (const p of potential) {
      add(p);
      if (runFilters(cycle, active, node) !== null) {
        remove(p);
        victims.push(p);
      }
    }
    return { node, victims };
  } finally {
    for (const p of [...removed]) add(p);
  }
}

/** pickOneNodeForPreemption's criteria, in order; each keeps the candidates with the best value. */
const criteria: ((c: Candidate) => number)[] = [
  // Fewest PodDisruptionBudget violations: PDBs are not modelled, every candidate has none.
  (c) => -c.victims[0].priority, // lowest highest-priority victim
  (c) => -c.victims.reduce((sum, v) => sum + MAX_INT32 + v.priority + 1, 0), // smallest (shifted) priority sum
  (c) => -c.victims.length, // fewest victims
  (c) => {
    // latest start among the highest-priority victims' earliest start
    const top = c.victims[0].priority;
    let earliest = Infinity;
    for (const v of c.victims) if (v.priority === top && v.startTime < earliest) earliest = v.startTime;
    return earliest === Infinity ? Number.MAX_VALUE : earliest;
  },
];

export function pickOneCandidate(candidates: Candidate[]): Candidate | undefined {
  const empty = candidates.find((c) => c.victims.length === 0);
  if (empty) return empty;
  let remaining = candidates;
  for (const score of criteria) {
    if (remaining.length <= 1) break;
    let best = -Infinity;
    let kept: Candidate[] = [];
    for (const c of remaining) {
      const s = score(c);
      if (s > best) {
        best = s;
        kept = [c];
      } else if (s === best) kept.push(c);
    }
    remaining = kept;
  }
  return remaining[0];
}

/** Preempt: eligibility, dry runs on nodes where evicting could help, then the best candidate. */
export function preempt(
  cycle: CycleState,
  active: readonly FilterPlugin[],
  statuses: Map<NodeInfo, Status>,
  random: () => number,
): PreemptionOutcome {
  const reason = notEligible(cycle, statuses);
  if (reason) return { message: `preemption: ${reason}` };
  const nodeStatuses = new Map<NodeInfo, Status>();
  const potential: NodeInfo[] = [];
  for (const node of cycle.snapshot.nodes) {
    const s = statuses.get(node);
    if (s?.code === 'UnschedulableAndUnresolvable') nodeStatuses.set(node, unresolvable('DefaultPreemption', REASON_NOT_HELPFUL));
    else potential.push(node);
  }
  const candidates: Candidate[] = [];
  if (potential.length > 0) {
    const n = potential.length;
    const offset = Math.floor(random() * n) % n;
    const wanted = Math.min(n, Math.max(MIN_CANDIDATE_NODES_ABSOLUTE, Math.trunc((n * MIN_CANDIDATE_NODES_PERCENTAGE) / 100)));
    for (let i = 0; i < n && candidates.length < wanted; i++) {
      const node = potential[(offset + i) % n];
      const r = selectVictimsOnNode(cycle, active, node);
      if ('victims' in r) candidates.push(r);
      else nodeStatuses.set(node, r);
    }
  }
  const candidate = pickOneCandidate(candidates);
  if (candidate) return { candidate, message: '' };
  const inner = fitErrorMessage(cycle.snapshot.nodes.length, reasonHistogram(nodeStatuses.values()));
  return { message: `preemption: ${inner}` };
}
