// PodTopologySpread (score): for ScheduleAnyway constraints, prefers domains with fewer matching
// pods; each constraint's count is weighted by log(number of domains + 2), so small topologies
// are not drowned by large ones.
import { type CycleState, MAX_NODE_SCORE, type ScorePlugin } from '../framework.ts';
import type { NodeInfo } from '../snapshot.ts';
import { type Constraint, constraintsOf, countByDomain, hasAllTopologyKeys, nodeIncluded, podCounts } from './pod-topology-spread.ts';

export const NAME = 'PodTopologySpread';
const HOSTNAME = 'kubernetes.io/hostname';

interface PreScoreState {
  constraints: Constraint[];
  ignored: Set<NodeInfo>;
  counts: Map<string, number>[];
  weights: number[];
}

function preScore(cycle: CycleState, feasible: NodeInfo[], constraints: Constraint[]): PreScoreState {
  const ignored = new Set<NodeInfo>();
  const counts = constraints.map(() => new Map<string, number>());
  for (const node of feasible) {
    if (!hasAllTopologyKeys(node, constraints)) {
      ignored.add(node);
      continue;
    }
    constraints.forEach((c, i) => {
      if (c.topologyKey !== HOSTNAME) counts[i].set(node.labels[c.topologyKey], 0);
    });
  }
  const weights = constraints.map((c, i) => Math.log((c.topologyKey === HOSTNAME ? feasible.length - ignored.size : counts[i].size) + 2));
  constraints.forEach((c, i) => {
    if (c.topologyKey === HOSTNAME) return; // counted per node in score
    countByDomain(cycle, c, (n) => hasAllTopologyKeys(n, constraints) && nodeIncluded(cycle, c, n), counts[i]);
  });
  return { constraints, ignored, counts, weights };
}

export const podTopologySpreadScore: ScorePlugin = {
  name: NAME,
  weight: 2,
  preScore(cycle, feasible) {
    const constraints = constraintsOf(cycle.pod, 'ScheduleAnyway');
    if (constraints.length === 0 || cycle.snapshot.nodes.length === 0) return 'skip';
    cycle.data.set(`PreScore${NAME}`, preScore(cycle, feasible, constraints));
    return undefined;
  },
  score(cycle, node) {
    const s = cycle.data.get(`PreScore${NAME}`) as PreScoreState;
    if (s.ignored.has(node)) return 0;
    let score = 0;
    s.constraints.forEach((c, i) => {
      const value = node.labels[c.topologyKey];
      if (value === undefined) return;
      let cnt = 0;
      if (c.topologyKey === HOSTNAME) {
        for (const p of node.pods.values()) if (podCounts(p, c, cycle.podInfo.namespace)) cnt++;
      } else {
        cnt = s.counts[i].get(value) ?? 0;
      }
      // scoreForCount: maxSkew-1 waters down small differences.
      score += cnt * s.weights[i] + (c.maxSkew - 1);
    });
    return Math.round(score);
  },
  normalizeScore(cycle, scores, nodes) {
    const s = cycle.data.get(`PreScore${NAME}`) as PreScoreState;
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (s.ignored.has(nodes[i])) continue;
      if (scores[i] < min) min = scores[i];
      if (scores[i] > max) max = scores[i];
    }
    for (let i = 0; i < scores.length; i++) {
      if (s.ignored.has(nodes[i])) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  },
};
