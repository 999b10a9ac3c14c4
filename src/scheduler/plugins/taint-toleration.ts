// TaintToleration: a pod may only land on a node whose NoSchedule/NoExecute taints it tolerates,
// and prefers nodes with fewer PreferNoSchedule taints it does not tolerate.
// https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
// tolerationSeconds only bounds how long a NoExecute-tolerating pod may stay; it does not affect scheduling.
import type { Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import { type CycleState, defaultNormalizeScore, type FilterPlugin, type ScorePlugin, type Status, unresolvable } from '../framework.ts';
import { HARD_TAINTS, SOFT_TAINTS } from '../node-table.ts';
import type { NodeInfo } from '../snapshot.ts';

export const NAME = 'TaintToleration';

/** Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '': case 'Equal': return (t.value ?? '') === (taint.value ?? '');
    case 'Exists': return true;
    default: return false;
  }
}

export function tolerationsTolerateTaint(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first of the taints the tolerations do not tolerate. */
export function findUntoleratedTaint(taints: Taint[], tolerations: Toleration[] | undefined): Taint | undefined {
  for (const taint of taints) if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  return undefined;
}

export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

export const taintTolerationFilter: FilterPlugin = {
  name: NAME,
  filter(cycle: CycleState, node: NodeInfo, at: number): Status | null {
    if ((cycle.snapshot.table.flags[at] & HARD_TAINTS) === 0) return null;
    const taint = findUntoleratedTaint(node.hardTaints, cycle.pod.spec?.tolerations);
    return taint ? unresolvable(NAME, untoleratedTaintReason(taint)) : null;
  },
};

/** Tolerations that can tolerate a PreferNoSchedule taint (effect empty or PreferNoSchedule). */
function preferNoScheduleTolerations(cycle: CycleState): Toleration[] {
  let t = cycle.data.get(NAME) as Toleration[] | undefined;
  if (!t) {
    t = (cycle.pod.spec?.tolerations ?? []).filter((x) => !x.effect || x.effect === 'PreferNoSchedule');
    cycle.data.set(NAME, t);
  }
  return t;
}

export const taintTolerationScore: ScorePlugin = {
  name: NAME,
  weight: 3,
  score(cycle, node, at) {
    if ((cycle.snapshot.table.flags[at] & SOFT_TAINTS) === 0) return 0;
    const tolerations = preferNoScheduleTolerations(cycle);
    let intolerable = 0;
    for (const taint of node.softTaints) if (!tolerationsTolerateTaint(tolerations, taint)) intolerable++;
    return intolerable;
  },
  normalizeScore(_cycle, scores) {
    defaultNormalizeScore(scores, true);
  },
};
