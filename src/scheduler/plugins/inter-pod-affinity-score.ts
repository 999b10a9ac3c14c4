// InterPodAffinity (score): preferred affinity adds, preferred anti-affinity subtracts, per
// topology domain; existing pods' preferred terms and required affinity (hardPodAffinityWeight 1)
// count symmetrically toward the incoming pod. Normalized min..max to 0..100.
import { type CycleState, MAX_NODE_SCORE, type ScorePlugin } from '../framework.ts';
import { type AffinityTerm, termMatches } from '../pod-info.ts';
import type { NodeInfo } from '../snapshot.ts';
import { podsMatchingTerm } from './inter-pod-affinity.ts';

export const NAME = 'InterPodAffinity';
const HARD_POD_AFFINITY_WEIGHT = 1;

/** topologyKey → value → score. */
type TopologyScore = Map<string, Map<string, number>>;

function add(scores: TopologyScore, key: string, node: NodeInfo, delta: number): void {
  const value = node.labels[key];
  if (value === undefined || delta === 0) return;
  let byValue = scores.get(key);
  if (!byValue) scores.set(key, (byValue = new Map()));
  byValue.set(value, (byValue.get(value) ?? 0) + delta);
}

function computeTopologyScore(cycle: CycleState): TopologyScore {
  const { snapshot, podInfo } = cycle;
  const scores: TopologyScore = new Map();
  // The incoming pod's preferred terms, against every pod they select.
  const own: [AffinityTerm & { weight: number }, number][] = [
    ...podInfo.preferredAffinityTerms.map((t) => [t, 1] as [typeof t, number]),
    ...podInfo.preferredAntiAffinityTerms.map((t) => [t, -1] as [typeof t, number]),
  ];
  for (const [term, sign] of own) {
    for (const p of podsMatchingTerm(snapshot, term)) add(scores, term.topologyKey, p.node!, sign * term.weight);
  }
  // Existing pods' terms that select the incoming pod.
  for (const existing of snapshot.podsWithAffinity) {
    const node = existing.node!;
    for (const t of existing.requiredAffinityTerms) {
      if (termMatches(t, podInfo, snapshot.nsLabels)) add(scores, t.topologyKey, node, HARD_POD_AFFINITY_WEIGHT);
    }
    for (const t of existing.preferredAffinityTerms) {
      if (termMatches(t, podInfo, snapshot.nsLabels)) add(scores, t.topologyKey, node, t.weight);
    }
    for (const t of existing.preferredAntiAffinityTerms) {
      if (termMatches(t, podInfo, snapshot.nsLabels)) add(scores, t.topologyKey, node, -t.weight);
    }
  }
  for (const [key, byValue] of scores) {
    for (const [v, s] of byValue) if (s === 0) byValue.delete(v);
    if (byValue.size === 0) scores.delete(key);
  }
  return scores;
}

export const interPodAffinityScore: ScorePlugin = {
  name: NAME,
  weight: 2,
  preScore(cycle) {
    const info = cycle.podInfo;
    const hasConstraints = info.preferredAffinityTerms.length > 0 || info.preferredAntiAffinityTerms.length > 0;
    if (!hasConstraints && cycle.snapshot.podsWithAffinity.size === 0) return 'skip';
    const scores = computeTopologyScore(cycle);
    if (scores.size === 0) return 'skip';
    cycle.data.set(`PreScore${NAME}`, scores);
    return undefined;
  },
  score(cycle, node) {
    const scores = cycle.data.get(`PreScore${NAME}`) as TopologyScore;
    let sum = 0;
    for (const [key, byValue] of scores) {
      const value = node.labels[key];
      if (value !== undefined) sum += byValue.get(value) ?? 0;
    }
    return sum;
  },
  normalizeScore(_cycle, scores) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s > max) max = s;
      if (s < min) min = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) {
      scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i] - min) / diff)) : 0;
    }
  },
};
