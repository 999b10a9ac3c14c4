// PodTopologySpread (filter): for each DoNotSchedule constraint, placing the pod in the node's
// domain must keep (matching pods there + 1) - (fewest matching pods in any domain) <= maxSkew.
// https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { type LabelSelector, labelSelectorFromMeta, matchesLabels, newRequirement } from '../../api/selectors/index.ts';
import { type CycleState, type FilterPlugin, unresolvable, unschedulable } from '../framework.ts';
import type { PodInfo } from '../pod-info.ts';
import type { NodeInfo } from '../snapshot.ts';
import { cycleNodeAffinity, matchesRequiredNodeAffinity } from './node-affinity.ts';
import { findUntoleratedTaint } from './taint-toleration.ts';

export const NAME = 'PodTopologySpread';
export const REASON_CONSTRAINTS = "node(s) didn't match pod topology spread constraints";
export const REASON_MISSING_LABEL = `${REASON_CONSTRAINTS} (missing required label)`;

export interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelSelector;
  minDomains: number;
  /** nodeAffinityPolicy: Honor (default) counts only nodes the pod's node affinity/selector allows. */
  honorNodeAffinity: boolean;
  /** nodeTaintsPolicy: Ignore (default); Honor counts only nodes whose taints the pod tolerates. */
  honorNodeTaints: boolean;
}

/** The pod's constraints with this whenUnsatisfiable, matchLabelKeys merged into the selector. */
export function constraintsOf(pod: Pod, action: 'DoNotSchedule' | 'ScheduleAnyway'): Constraint[] {
  const labels = pod.metadata?.labels ?? {};
  return (pod.spec?.topologySpreadConstraints ?? [])
    .filter((c) => c.whenUnsatisfiable === action)
    .map((c) => {
      const selector = labelSelectorFromMeta(c.labelSelector);
      if (!selector.nothing) {
        for (const key of c.matchLabelKeys ?? []) {
          if (Object.hasOwn(labels, key)) selector.requirements.push(newRequirement(key, 'in', [labels[key]]));
        }
      }
      return {
        maxSkew: c.maxSkew,
        topologyKey: c.topologyKey,
        selector,
        minDomains: c.minDomains ?? 1,
        honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
        honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
      };
    });
}

export function hasAllTopologyKeys(node: NodeInfo, constraints: Constraint[]): boolean {
  for (const c of constraints) if (!Object.hasOwn(node.labels, c.topologyKey)) return false;
  return true;
}

/** matchNodeInclusionPolicies: whether the node's domain counts for this constraint. */
export function nodeIncluded(cycle: CycleState, c: Constraint, node: NodeInfo): boolean {
  if (c.honorNodeAffinity && !matchesRequiredNodeAffinity(cycleNodeAffinity(cycle), node)) return false;
  if (c.honorNodeTaints && findUntoleratedTaint(node.hardTaints, cycle.pod.spec?.tolerations)) return false;
  return true;
}

/** countPodsMatchSelector's test for one pod: same namespace, not terminating, labels match. */
export function podCounts(p: PodInfo, c: Constraint, namespace: string): boolean {
  return p.namespace === namespace && !p.pod.metadata?.deletionTimestamp && matchesLabels(c.selector, p.labels);
}

/** Matching pods per domain value, for the domains of nodes `eligible` accepts. */
export function countByDomain(cycle: CycleState, c: Constraint, eligible: (n: NodeInfo) => boolean, domains: Map<string, number>): void {
  const ns = cycle.podInfo.namespace;
  for (const p of cycle.snapshot.podsMatching(c.selector, new Set([ns]))) {
    if (!podCounts(p, c, ns)) continue;
    const node = p.node!;
    const value = node.labels[c.topologyKey];
    if (value !== undefined && domains.has(value) && eligible(node)) domains.set(value, domains.get(value)! + 1);
  }
}

interface PreFilterState {
  constraints: Constraint[];
  /** Per constraint: domain value → matching pods. */
  counts: Map<string, number>[];
  /** Per constraint: the fewest matching pods in a domain (the global minimum). */
  minMatch: number[];
  selfMatch: number[];
}

/** The global minimum, or 0 while there are fewer domains than minDomains. */
function minMatchOf(counts: Map<string, number>, c: Constraint): number {
  if (counts.size < c.minDomains) return 0;
  let min = Infinity;
  for (const n of counts.values()) if (n < min) min = n;
  return min;
}

/** updateWithPod: one matching pod on `node` joins (+1) or leaves (-1) its domain. */
function updateWithPod(cycle: CycleState, s: PreFilterState, p: PodInfo, node: NodeInfo, delta: 1 | -1): void {
  if (!hasAllTopologyKeys(node, s.constraints)) return;
  s.constraints.forEach((c, i) => {
    if (!podCounts(p, c, cycle.podInfo.namespace) || !nodeIncluded(cycle, c, node)) return;
    const v = node.labels[c.topologyKey];
    const n = s.counts[i].get(v);
    if (n === undefined) return;
    s.counts[i].set(v, n + delta);
    s.minMatch[i] = minMatchOf(s.counts[i], c);
  });
}

function computeState(cycle: CycleState, constraints: Constraint[]): PreFilterState {
  const counts = constraints.map(() => new Map<string, number>());
  const eligible = constraints.map(() => new Set<NodeInfo>());
  for (const node of cycle.snapshot.nodes) {
    if (!hasAllTopologyKeys(node, constraints)) continue;
    constraints.forEach((c, i) => {
      if (!nodeIncluded(cycle, c, node)) return;
      eligible[i].add(node);
      const v = node.labels[c.topologyKey];
      if (!counts[i].has(v)) counts[i].set(v, 0);
    });
  }
  constraints.forEach((c, i) => countByDomain(cycle, c, (n) => eligible[i].has(n), counts[i]));
  return {
    constraints,
    counts,
    minMatch: counts.map((m, i) => minMatchOf(m, constraints[i])),
    selfMatch: constraints.map((c) => (matchesLabels(c.selector, cycle.podInfo.labels) ? 1 : 0)),
  };
}

export const podTopologySpreadFilter: FilterPlugin = {
  name: NAME,
  preFilter(cycle) {
    const constraints = constraintsOf(cycle.pod, 'DoNotSchedule');
    if (constraints.length === 0) return 'skip';
    cycle.data.set(NAME, computeState(cycle, constraints));
    return undefined;
  },
  filter(cycle, node) {
    const s = cycle.data.get(NAME) as PreFilterState;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      const value = node.labels[c.topologyKey];
      if (value === undefined) return unresolvable(NAME, REASON_MISSING_LABEL);
      const skew = (s.counts[i].get(value) ?? 0) + s.selfMatch[i] - s.minMatch[i];
      if (skew > c.maxSkew) return unschedulable(NAME, REASON_CONSTRAINTS);
    }
    return null;
  },
  addPod(cycle, p, node) {
    updateWithPod(cycle, cycle.data.get(NAME) as PreFilterState, p, node, 1);
  },
  removePod(cycle, p, node) {
    updateWithPod(cycle, cycle.data.get(NAME) as PreFilterState, p, node, -1);
  },
};
