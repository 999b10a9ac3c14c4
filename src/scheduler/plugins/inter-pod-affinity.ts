// InterPodAffinity (filter): required pod affinity and anti-affinity of the incoming pod, and the
// required anti-affinity of pods already running, counted per topology domain.
// https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity
import { type CycleState, type FilterPlugin, pairKey, unresolvable, unschedulable } from '../framework.ts';
import { type AffinityTerm, type PodInfo, termMatches } from '../pod-info.ts';
import type { ClusterSnapshot, NodeInfo } from '../snapshot.ts';

export const NAME = 'InterPodAffinity';
export const REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

/** Topology pair ("zone\0a") → number of matching pods there. */
type Counts = Map<string, number>;

interface PreFilterState {
  /** Pods whose required anti-affinity the incoming pod matches, per domain of their term's topologyKey. */
  existingAntiAffinity: Counts;
  /** Pods matching all of the incoming pod's required affinity terms, per domain of each term. */
  affinity: Counts;
  /** Pods matching each of the incoming pod's required anti-affinity terms, per domain of that term. */
  antiAffinity: Counts;
}

function inc(counts: Counts, key: string, node: NodeInfo, delta = 1): void {
  const value = node.labels[key];
  if (value === undefined) return;
  const k = pairKey(key, value);
  const n = (counts.get(k) ?? 0) + delta;
  if (n === 0) counts.delete(k); // an empty map means "no matching pod anywhere"
  else counts.set(k, n);
}

/** updateWithPod: what one pod on `node` contributes to the counts, added (+1) or taken away (-1). */
function updateWithPod(cycle: CycleState, s: PreFilterState, p: PodInfo, node: NodeInfo, delta: 1 | -1): void {
  const { podInfo, snapshot } = cycle;
  for (const t of p.requiredAntiAffinityTerms) {
    if (termMatches(t, podInfo, snapshot.nsLabels)) inc(s.existingAntiAffinity, t.topologyKey, node, delta);
  }
  const affinityTerms = podInfo.requiredAffinityTerms;
  if (affinityTerms.length > 0 && affinityTerms.every((t) => termMatches(t, p, snapshot.nsLabels))) {
    for (const t of affinityTerms) inc(s.affinity, t.topologyKey, node, delta);
  }
  for (const t of podInfo.requiredAntiAffinityTerms) {
    if (termMatches(t, p, snapshot.nsLabels)) inc(s.antiAffinity, t.topologyKey, node, delta);
  }
}

/** Pods the term selects, through the snapshot's label index. */
export function podsMatchingTerm(snapshot: ClusterSnapshot, term: AffinityTerm): Iterable<PodInfo> {
  if (term.namespaces !== null && term.namespaceSelector) {
    // Namespaces picked by a selector: widen to all namespaces, then check each pod's namespace.
    return [...snapshot.podsMatching(term.selector, null)].filter((p) => termMatches(term, p, snapshot.nsLabels));
  }
  return snapshot.podsMatching(term.selector, term.namespaces);
}

function computeState(cycle: CycleState): PreFilterState {
  const { snapshot, podInfo } = cycle;
  const state: PreFilterState = { existingAntiAffinity: new Map(), affinity: new Map(), antiAffinity: new Map() };
  for (const existing of snapshot.podsWithRequiredAntiAffinity) {
    for (const term of existing.requiredAntiAffinityTerms) {
      if (termMatches(term, podInfo, snapshot.nsLabels)) inc(state.existingAntiAffinity, term.topologyKey, existing.node!);
    }
  }
  const affinityTerms = podInfo.requiredAffinityTerms;
  if (affinityTerms.length > 0) {
    for (const p of podsMatchingTerm(snapshot, affinityTerms[0])) {
      if (!affinityTerms.every((t) => termMatches(t, p, snapshot.nsLabels))) continue;
      for (const t of affinityTerms) inc(state.affinity, t.topologyKey, p.node!);
    }
  }
  for (const t of podInfo.requiredAntiAffinityTerms) {
    for (const p of podsMatchingTerm(snapshot, t)) inc(state.antiAffinity, t.topologyKey, p.node!);
  }
  return state;
}

function satisfiesAffinity(cycle: CycleState, s: PreFilterState, node: NodeInfo): boolean {
  let podsExist = true;
  for (const t of cycle.podInfo.requiredAffinityTerms) {
    const value = node.labels[t.topologyKey];
    if (value === undefined) return false; // every topology key must be on the node
    if (!((s.affinity.get(pairKey(t.topologyKey, value)) ?? 0) > 0)) podsExist = false;
  }
  if (podsExist) return true;
  // The first pod of a group with affinity to itself: no pod matches anywhere yet, and it matches its own terms.
  return s.affinity.size === 0 && cycle.podInfo.requiredAffinityTerms.every((t) => termMatches(t, cycle.podInfo, cycle.snapshot.nsLabels));
}

function satisfiesAntiAffinity(cycle: CycleState, s: PreFilterState, node: NodeInfo): boolean {
  if (s.antiAffinity.size === 0) return true;
  for (const t of cycle.podInfo.requiredAntiAffinityTerms) {
    const value = node.labels[t.topologyKey];
    if (value !== undefined && (s.antiAffinity.get(pairKey(t.topologyKey, value)) ?? 0) > 0) return false;
  }
  return true;
}

function satisfiesExistingAntiAffinity(s: PreFilterState, node: NodeInfo): boolean {
  if (s.existingAntiAffinity.size === 0) return true;
  for (const key in node.labels) {
    if ((s.existingAntiAffinity.get(pairKey(key, node.labels[key])) ?? 0) > 0) return false;
  }
  return true;
}

export const interPodAffinityFilter: FilterPlugin = {
  name: NAME,
  preFilter(cycle) {
    const info = cycle.podInfo;
    const hasTerms = info.requiredAffinityTerms.length > 0 || info.requiredAntiAffinityTerms.length > 0;
    if (!hasTerms && cycle.snapshot.podsWithRequiredAntiAffinity.size === 0) return 'skip';
    const state = computeState(cycle);
    if (!hasTerms && state.existingAntiAffinity.size === 0) return 'skip';
    cycle.data.set(NAME, state);
    return undefined;
  },
  filter(cycle, node) {
    const s = cycle.data.get(NAME) as PreFilterState;
    if (!satisfiesAffinity(cycle, s, node)) return unresolvable(NAME, REASON_AFFINITY);
    if (!satisfiesAntiAffinity(cycle, s, node)) return unschedulable(NAME, REASON_ANTI_AFFINITY);
    if (!satisfiesExistingAntiAffinity(s, node)) return unschedulable(NAME, REASON_EXISTING_ANTI_AFFINITY);
    return null;
  },
  addPod(cycle, p, node) {
    updateWithPod(cycle, cycle.data.get(NAME) as PreFilterState, p, node, 1);
  },
  removePod(cycle, p, node) {
    updateWithPod(cycle, cycle.data.get(NAME) as PreFilterState, p, node, -1);
  },
};
