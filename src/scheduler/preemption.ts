// DefaultPreemption (PostFilter): when no node fits, find nodes where evicting lower-priority pods
// lets the pod fit, keep as few victims as possible (reprieving first the pods whose
// PodDisruptionBudget would be violated), and pick the node whose victims matter least, fewest
// budget violations first. Budgets are best effort here: the victims are deleted, not evicted.
// https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#poddisruptionbudget-is-supported-but-not-guaranteed
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.d.ts';
import { type CycleState, type FilterPlugin, fitErrorMessage, reasonHistogram, runFilters, type Status, unresolvable } from './framework.ts';
import type { PodInfo } from './pod-info.ts';
import type { NodeInfo } from './snapshot.ts';
import { labelSelectorFromMeta, matchesLabels, SelectorError } from '../api/selectors/index.ts';

export const REASON_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const REASON_NO_VICTIMS = 'No preemption victims found for incoming pod';
const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE = 100;
const MAX_INT32 = 2 ** 31 - 1;

export interface Candidate {
  node: NodeInfo;
  /** Most important first (higher priority, then earlier start). */
  victims: PodInfo[];
  /** Victims whose eviction goes beyond what their PodDisruptionBudget allows. */
  pdbViolations: number;
}

/** The cluster's PodDisruptionBudgets, read only when preemption runs. */
export type BudgetLister = () => readonly PodDisruptionBudget[];

/**
 * filterPodsWithPDBViolation: splits pods (most important first) into those whose eviction would
 * take a budget below zero disruptions and the others, spending each budget's disruptionsAllowed
 * in order. Pods the eviction API already counted (status.disruptedPods) cost nothing; a budget
 * with an empty selector matches nothing here.
 */
export function splitByBudgetViolation(pods: PodInfo[], pdbs: readonly PodDisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((pdb) => pdb.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((pdb) => {
    try {
      const sel = labelSelectorFromMeta(pdb.spec?.selector);
      return sel.nothing || sel.requirements.length === 0 ? undefined : sel;
    } catch (e) {
      if (e instanceof SelectorError) return undefined; // an invalid selector matches no pod
      throw e;
    }
  });
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const p of pods) {
    const labels = p.pod.metadata?.labels;
    let violated = false;
    if (labels && Object.keys(labels).length > 0) {
      pdbs.forEach((pdb, i) => {
        const sel = selectors[i];
        if (!sel || pdb.metadata?.namespace !== p.pod.metadata?.namespace || !matchesLabels(sel, labels)) return;
        if (pdb.status?.disruptedPods?.[p.pod.metadata?.name ?? ''] !== undefined) return;
        allowed[i]--;
        if (allowed[i] < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
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
export function selectVictimsOnNode(cycle: CycleState, active: readonly FilterPlugin[], node: NodeInfo,
  pdbs: readonly PodDisruptionBudget[] = []): Candidate | Status {
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
    const { violating, nonViolating } = splitByBudgetViolation(potential, pdbs);
    const victims: PodInfo[] = [];
    let pdbViolations = 0;
    /** Puts p back; if the pod no longer fits, p stays a victim. */
    const reprieve = (p: PodInfo): boolean => {
      add(p);
      if (runFilters(cycle, active, node) === null) return true;
      remove(p);
      victims.push(p);
      return false;
    };
    // Budget-violating pods are reprieved first, then the others, each most important first.
    for (const p of violating) if (!reprieve(p)) pdbViolations++;
    for (const p of nonViolating) reprieve(p);
    if (violating.length > 0 && nonViolating.length > 0) victims.sort(moreImportantFirst);
    return { node, victims, pdbViolations };
  } finally {
    for (const p of [...removed]) add(p);
  }
}

/** pickOneNodeForPreemption's criteria, in order; each keeps the candidates with the best value. */
const criteria: ((c: Candidate) => number)[] = [
  (c) => -c.pdbViolations, // fewest PodDisruptionBudget violations
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
  budgets: BudgetLister = () => [],
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
  const pdbs = potential.length > 0 ? budgets() : [];
  if (potential.length > 0) {
    const n = potential.length;
    const offset = Math.floor(random() * n) % n;
    const wanted = Math.min(n, Math.max(MIN_CANDIDATE_NODES_ABSOLUTE, Math.trunc((n * MIN_CANDIDATE_NODES_PERCENTAGE) / 100)));
    for (let i = 0; i < n && candidates.length < wanted; i++) {
      const node = potential[(offset + i) % n];
      const r = selectVictimsOnNode(cycle, active, node, pdbs);
      if ('victims' in r) candidates.push(r);
      else nodeStatuses.set(node, r);
    }
  }
  const candidate = pickOneCandidate(candidates);
  if (candidate) return { candidate, message: '' };
  const inner = fitErrorMessage(cycle.snapshot.nodes.length, reasonHistogram(nodeStatuses.values()));
  return { message: `preemption: ${inner}` };
}
