// NodeAffinity: spec.nodeSelector and requiredDuringScheduling node affinity must match the node
// (filter); preferredDuringScheduling terms add their weights (score).
// https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#node-affinity
import type { NodeSelectorRequirement, NodeSelectorTerm, Pod } from 'kubernetes-types/core/v1.d.ts';
import { type CycleState, defaultNormalizeScore, type FilterPlugin, type ScorePlugin, unresolvable } from '../framework.ts';
import type { NodeInfo } from '../snapshot.ts';

export const NAME = 'NodeAffinity';
export const REASON_POD = "node(s) didn't match Pod's node affinity/selector";

interface Requirement {
  key: string;
  op: string;
  values: Set<string>;
  bound?: bigint;
}

/** A compiled NodeSelectorTerm; `invalid` terms (bad operator, bad Gt/Lt value) match nothing, as kube-scheduler ignores them. */
interface Term {
  labels: Requirement[];
  fields: Requirement[];
  invalid: boolean;
}

export interface RequiredNodeAffinity {
  nodeSelector: [string, string][];
  /** undefined: no required node affinity. Terms are ORed. */
  terms?: Term[];
}

const INT = /^[+-]?\d+$/;

function compileRequirement(r: NodeSelectorRequirement, field: boolean): Requirement | undefined {
  const values = r.values ?? [];
  const req: Requirement = { key: r.key, op: r.operator, values: new Set(values) };
  switch (r.operator) {
    case 'In': case 'NotIn':
      if (values.length === 0) return undefined;
      break;
    case 'Exists': case 'DoesNotExist':
      if (field || values.length !== 0) return undefined;
      break;
    case 'Gt': case 'Lt':
      if (field || values.length !== 1 || !INT.test(values[0])) return undefined;
      req.bound = BigInt(values[0]);
      break;
    default:
      return undefined;
  }
  // Only metadata.name is a supported field (nodeaffinity's field selector).
  if (field && r.key !== 'metadata.name') return undefined;
  return req;
}

function compileTerm(t: NodeSelectorTerm): Term {
  const term: Term = { labels: [], fields: [], invalid: false };
  for (const e of t.matchExpressions ?? []) {
    const r = compileRequirement(e, false);
    if (r) term.labels.push(r);
    else term.invalid = true;
  }
  for (const e of t.matchFields ?? []) {
    const r = compileRequirement(e, true);
    if (r) term.fields.push(r);
    else term.invalid = true;
  }
  return term;
}

function requirementMatches(r: Requirement, present: boolean, value: string | undefined): boolean {
  switch (r.op) {
    case 'In': return present && r.values.has(value!);
    case 'NotIn': return !present || !r.values.has(value!);
    case 'Exists': return present;
    case 'DoesNotExist': return !present;
    case 'Gt': case 'Lt': {
      if (!present || !INT.test(value!)) return false;
      const v = BigInt(value!);
      return r.op === 'Gt' ? v > r.bound! : v < r.bound!;
    }
  }
  return false;
}

function termMatches(t: Term, node: NodeInfo): boolean {
  if (t.invalid || (t.labels.length === 0 && t.fields.length === 0)) return false;
  for (const r of t.labels) if (!requirementMatches(r, Object.hasOwn(node.labels, r.key), node.labels[r.key])) return false;
  for (const r of t.fields) if (!requirementMatches(r, true, node.name)) return false;
  return true;
}

/** nodeaffinity.GetRequiredNodeAffinity: the pod's nodeSelector and required node affinity, compiled. */
export function requiredNodeAffinity(pod: Pod): RequiredNodeAffinity {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return {
    nodeSelector: Object.entries(pod.spec?.nodeSelector ?? {}),
    terms: terms?.map(compileTerm),
  };
}

export function matchesRequiredNodeAffinity(r: RequiredNodeAffinity, node: NodeInfo): boolean {
  for (const [k, v] of r.nodeSelector) if (node.labels[k] !== v) return false;
  if (r.terms === undefined) return true;
  for (const t of r.terms) if (termMatches(t, node)) return true;
  return false;
}

/** The compiled required affinity of the cycle's pod (shared with PodTopologySpread). */
export function cycleNodeAffinity(cycle: CycleState): RequiredNodeAffinity {
  let r = cycle.data.get('RequiredNodeAffinity') as RequiredNodeAffinity | undefined;
  if (!r) cycle.data.set('RequiredNodeAffinity', (r = requiredNodeAffinity(cycle.pod)));
  return r;
}

export const nodeAffinityFilter: FilterPlugin = {
  name: NAME,
  preFilter(cycle) {
    const r = cycleNodeAffinity(cycle);
    return r.nodeSelector.length === 0 && r.terms === undefined ? 'skip' : undefined;
  },
  filter(cycle, node) {
    return matchesRequiredNodeAffinity(cycleNodeAffinity(cycle), node) ? null : unresolvable(NAME, REASON_POD);
  },
};

interface Preferred {
  weight: number;
  term: Term;
}

export const nodeAffinityScore: ScorePlugin = {
  name: NAME,
  weight: 2,
  preScore(cycle) {
    const prefs = cycle.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const terms: Preferred[] = prefs.filter((p) => p.weight !== 0).map((p) => ({ weight: p.weight, term: compileTerm(p.preference) }));
    if (terms.length === 0) return 'skip';
    cycle.data.set(`PreScore${NAME}`, terms);
    return undefined;
  },
  score(cycle, node) {
    let sum = 0;
    for (const p of cycle.data.get(`PreScore${NAME}`) as Preferred[]) if (termMatches(p.term, node)) sum += p.weight;
    return sum;
  },
  normalizeScore(_cycle, scores) {
    defaultNormalizeScore(scores, false);
  },
};
