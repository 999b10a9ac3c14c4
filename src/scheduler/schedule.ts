// One scheduling cycle (kube-scheduler's schedulePod): PreFilter, Filter over just enough nodes
// (percentageOfNodesToScore, starting where the last cycle stopped), PreScore/Score/Normalize with
// the default profile's weights, a random pick among the best, and preemption when nothing fits.
// https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import {
  type CycleState, type FilterPlugin, fitErrorMessage, newCycleState, reasonHistogram, runFilters, runPreFilters, type ScorePlugin,
  type Status,
} from './framework.ts';
import { newPodInfo } from './pod-info.ts';
import { balancedAllocation } from './plugins/balanced-allocation.ts';
import { imageLocality } from './plugins/image-locality.ts';
import { interPodAffinityFilter } from './plugins/inter-pod-affinity.ts';
import { interPodAffinityScore } from './plugins/inter-pod-affinity-score.ts';
import { nodeAffinityFilter, nodeAffinityScore } from './plugins/node-affinity.ts';
import { nodeName } from './plugins/node-name.ts';
import { nodePorts } from './plugins/node-ports.ts';
import { nodeResourcesFitFilter, nodeResourcesFitScore } from './plugins/node-resources-fit.ts';
import { nodeUnschedulable } from './plugins/node-unschedulable.ts';
import { podTopologySpreadFilter } from './plugins/pod-topology-spread.ts';
import { podTopologySpreadScore } from './plugins/pod-topology-spread-score.ts';
import { taintTolerationFilter, taintTolerationScore } from './plugins/taint-toleration.ts';
import { type BudgetLister, preempt, type PreemptionOutcome } from './preemption.ts';
import type { ClusterSnapshot, NodeInfo } from './snapshot.ts';

/** The default profile's filters, in kube-scheduler's order (the first failing one names the reason). */
export const DEFAULT_FILTERS: readonly FilterPlugin[] = [
  nodeUnschedulable, nodeName, taintTolerationFilter, nodeAffinityFilter, nodePorts, nodeResourcesFitFilter,
  podTopologySpreadFilter, interPodAffinityFilter,
];

/** The default profile's scores with their weights (TaintToleration 3; NodeAffinity, PodTopologySpread, InterPodAffinity 2; others 1). */
export const DEFAULT_SCORES: readonly ScorePlugin[] = [
  taintTolerationScore, nodeAffinityScore, nodeResourcesFitScore, podTopologySpreadScore, interPodAffinityScore,
  balancedAllocation, imageLocality,
];

export interface ScheduleOptions {
  /** 0..1, for tie breaks and preemption's starting offset; Math.random by default. */
  random?: () => number;
  /** percentageOfNodesToScore; 0 or unset: adaptive (50% - nodes/125, at least 5%). */
  percentageOfNodesToScore?: number;
  /** Try preemption (PostFilter) when no node fits; default true. */
  preemption?: boolean;
  /** The PodDisruptionBudgets preemption tries not to violate (none by default). */
  pdbs?: BudgetLister;
  filters?: readonly FilterPlugin[];
  scores?: readonly ScorePlugin[];
}

export interface Unschedulable {
  /** Filter failure reason → number of nodes that failed with it. */
  reasons: Map<string, number>;
  /** kube-scheduler's FitError text, as the FailedScheduling event and PodScheduled condition show it. */
  message: string;
  /** Set when preemption found a node: the pod should be nominated there once the victims are gone. */
  nominatedNode?: string;
  victims?: Pod[];
}

export type ScheduleResult =
  | { node: string; feasibleNodes: number; evaluatedNodes: number }
  | { unschedulable: Unschedulable };

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/** numFeasibleNodesToFind: how many feasible nodes are enough to stop filtering. */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100) return numAllNodes;
  let adaptive = percentage;
  if (adaptive <= 0) {
    adaptive = 50 - Math.trunc(numAllNodes / 125);
    if (adaptive < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) adaptive = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * adaptive) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

interface FilterResult {
  feasible: NodeInfo[];
  /** feasible[k].index, read from here so that scoring need not touch the NodeInfo objects. */
  feasibleAt: Int32Array;
  /** Failed nodes and why. */
  statuses: Map<NodeInfo, Status>;
}

function findNodesThatFit(cycle: CycleState, active: FilterPlugin[], opts: ScheduleOptions): FilterResult {
  const { snapshot } = cycle;
  const nodes = snapshot.nodes;
  const all = nodes.length;
  const enough = numFeasibleNodesToFind(all, opts.percentageOfNodesToScore);
  const feasible: NodeInfo[] = [];
  const feasibleAt = new Int32Array(Math.min(enough, all));
  const statuses = new Map<NodeInfo, Status>();
  const start = snapshot.nextStartNodeIndex % all;
  let processed = 0;
  for (; processed < all && feasible.length < enough; processed++) {
    let i = start + processed;
    if (i >= all) i -= all;
    const node = nodes[i];
    const status = runFilters(cycle, active, node, i);
    if (status === null) {
      feasibleAt[feasible.length] = i;
      feasible.push(node);
    } else statuses.set(node, status);
  }
  snapshot.nextStartNodeIndex = (start + processed) % all;
  return { feasible, feasibleAt, statuses };
}

function prioritizeAndSelect(cycle: CycleState, { feasible, feasibleAt: at }: FilterResult, opts: ScheduleOptions): NodeInfo {
  const n = feasible.length;
  if (n === 1) return feasible[0];
  const total = new Float64Array(n);
  const scores = new Float64Array(n);
  for (const plugin of opts.scores ?? DEFAULT_SCORES) {
    if (plugin.preScore?.(cycle, feasible) === 'skip') continue;
    for (let i = 0; i < n; i++) scores[i] = plugin.score(cycle, feasible[i], at[i]);
    plugin.normalizeScore?.(cycle, scores, feasible);
    const w = plugin.weight;
    for (let i = 0; i < n; i++) total[i] += scores[i] * w;
  }
  // selectHost: a uniformly random node among the highest scored (reservoir sampling).
  const random = opts.random ?? Math.random;
  let best = 0;
  let ties = 1;
  for (let i = 1; i < n; i++) {
    if (total[i] > total[best]) {
      best = i;
      ties = 1;
    } else if (total[i] === total[best]) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return feasible[best];
}

/**
 * Picks a node for the pod, or says why none fits (and whom to preempt, if that helps). Leaves the
 * snapshot as it was, except for the round-robin start index; the caller assumes the pod onto the
 * chosen node (snapshot.assumePod) before scheduling the next one.
 */
export function schedulePod(snapshot: ClusterSnapshot, pod: Pod, opts: ScheduleOptions = {}): ScheduleResult {
  const numAll = snapshot.nodes.length;
  if (numAll === 0) return { unschedulable: { reasons: new Map(), message: 'no nodes available to schedule pods' } };
  const podInfo = newPodInfo(pod);
  if (podInfo.parseError) return { unschedulable: { reasons: new Map(), message: podInfo.parseError } };
  const cycle = newCycleState(snapshot, podInfo);
  const filters = opts.filters ?? DEFAULT_FILTERS;
  const active = runPreFilters(cycle, filters);
  let result: FilterResult;
  if (Array.isArray(active)) {
    result = findNodesThatFit(cycle, active, opts);
    if (result.feasible.length > 0) {
      const node = prioritizeAndSelect(cycle, result, opts);
      return { node: node.name, feasibleNodes: result.feasible.length, evaluatedNodes: result.feasible.length + result.statuses.size };
    }
  } else {
    result = { feasible: [], feasibleAt: new Int32Array(0), statuses: new Map(snapshot.nodes.map((n) => [n, active])) };
  }
  const reasons = reasonHistogram(result.statuses.values());
  if (opts.preemption === false) return { unschedulable: { reasons, message: fitErrorMessage(numAll, reasons) } };
  // A PreFilter failure (none of the default plugins has one) fails every node alike: nothing to preempt for.
  const p: PreemptionOutcome = Array.isArray(active) ? preempt(cycle, active, result.statuses, opts.random ?? Math.random, opts.pdbs) : { message: '' };
  const message = fitErrorMessage(numAll, reasons, p.message);
  if (!p.candidate) return { unschedulable: { reasons, message } };
  return {
    unschedulable: { reasons, message, nominatedNode: p.candidate.node.name, victims: p.candidate.victims.map((v) => v.pod) },
  };
}
