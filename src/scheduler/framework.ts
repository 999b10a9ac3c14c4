// The scheduling framework's extension points, reduced to what the default profile uses:
// PreFilter/Filter and PreScore/Score/NormalizeScore.
// https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodInfo } from './pod-info.ts';
import type { ClusterSnapshot, NodeInfo } from './snapshot.ts';

export const MAX_NODE_SCORE = 100;

/**
 * Why a node does not fit. UnschedulableAndUnresolvable means evicting pods from the node would
 * not help, so preemption does not try it.
 */
export interface Status {
  code: 'Unschedulable' | 'UnschedulableAndUnresolvable';
  reasons: string[];
  plugin: string;
}

export function unschedulable(plugin: string, ...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons, plugin };
}

export function unresolvable(plugin: string, ...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons, plugin };
}

/** Per-pod state of one scheduling cycle: the pod, the snapshot, and what each plugin precomputed. */
export interface CycleState {
  pod: Pod;
  podInfo: PodInfo;
  snapshot: ClusterSnapshot;
  /** Plugin name → the plugin's PreFilter / PreScore state. */
  data: Map<string, unknown>;
}

export function newCycleState(snapshot: ClusterSnapshot, podInfo: PodInfo): CycleState {
  return { pod: podInfo.pod, podInfo, snapshot, data: new Map() };
}

/** 'skip' tells the framework not to call this plugin's Filter/Score for this pod (framework.Skip). */
export type PreResult = 'skip' | undefined;

export interface FilterPlugin {
  name: string;
  /** Computes the cycle state once per pod. A Status fails every node with it. */
  preFilter?(cycle: CycleState): PreResult | Status;
  /** null when the pod fits the node; `at` is node.index, the node's row in snapshot.table. */
  filter(cycle: CycleState, node: NodeInfo, at: number): Status | null;
  /**
   * PreFilterExtensions: keep PreFilter state that counts other pods right while preemption's dry
   * run takes pods off a node (removePod) and puts them back (addPod).
   */
  addPod?(cycle: CycleState, pod: PodInfo, node: NodeInfo): void;
  removePod?(cycle: CycleState, pod: PodInfo, node: NodeInfo): void;
}

export interface ScorePlugin {
  name: string;
  weight: number;
  /** Computes the cycle state from the feasible nodes; 'skip' leaves this plugin out. */
  preScore?(cycle: CycleState, feasible: NodeInfo[]): PreResult;
  /** A raw score (`at` is node.index, its row in snapshot.table); normalizeScore (if any) brings the list to 0..100. */
  score(cycle: CycleState, node: NodeInfo, at: number): number;
  normalizeScore?(cycle: CycleState, scores: Float64Array, nodes: NodeInfo[]): void;
}

/**
 * helper.DefaultNormalizeScore: scales scores so the largest becomes 100; `reverse` flips them
 * (for "fewer is better" counts). All zeros stay 0, or become 100 when reversed.
 */
export function defaultNormalizeScore(scores: Float64Array, reverse: boolean): void {
  let max = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}

/** Topology pairs as map keys. */
export function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

/** Runs PreFilter; returns the filters that apply to this pod, or the Status that fails every node. */
export function runPreFilters(cycle: CycleState, filters: readonly FilterPlugin[]): FilterPlugin[] | Status {
  const active: FilterPlugin[] = [];
  for (const f of filters) {
    const r = f.preFilter?.(cycle);
    if (r === 'skip') continue;
    if (r) return r;
    active.push(f);
  }
  return active;
}

/** Runs the filters on one node; the first failure wins, as in RunFilterPlugins. */
export function runFilters(cycle: CycleState, active: readonly FilterPlugin[], node: NodeInfo, at = node.index): Status | null {
  for (let i = 0; i < active.length; i++) {
    const s = active[i].filter(cycle, node, at);
    if (s !== null) return s;
  }
  return null;
}

/**
 * FitError.Error(): "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {k: v}."
 * Each entry is "<count> <reason>", sorted as strings; the PostFilter (preemption) message follows.
 */
export function fitErrorMessage(numAllNodes: number, reasons: Map<string, number>, postFilterMessage = ''): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  const entries = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort();
  if (entries.length > 0) msg += ` ${entries.join(', ')}.`;
  if (postFilterMessage) msg += ` ${postFilterMessage}${postFilterMessage.endsWith('.') ? '' : '.'}`;
  return msg;
}

/** Counts each failed node's reasons (a node short of cpu and memory counts under both). */
export function reasonHistogram(statuses: Iterable<Status>): Map<string, number> {
  const reasons = new Map<string, number>();
  for (const s of statuses) for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  return reasons;
}
