// The taints the node lifecycle controller manages, and the toleration rules
// the taint-eviction half applies to them.
// https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-nodes-by-condition
import type { Node, NodeCondition, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import { rfc3339 } from '../api/time.ts';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** Condition type -> status -> the NoSchedule taint key it calls for (nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
};
/** NoSchedule taint keys this controller owns; others' taints on a node are left alone. */
const NO_SCHEDULE_KEYS = new Set([TAINT_UNSCHEDULABLE, ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m))]);

export function condition(node: Node | undefined, type: string): NodeCondition | undefined {
  return node?.status?.conditions?.find((c) => c.type === type);
}

const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
const managedNoSchedule = (t: Taint) => t.effect === 'NoSchedule' && NO_SCHEDULE_KEYS.has(t.key);

/** The NoSchedule taints a node's conditions and spec.unschedulable call for (doNoScheduleTaintingPass). */
export function noScheduleTaints(node: Node): Taint[] {
  const out: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) out.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return out;
}

/** node's taints with the managed NoSchedule ones replaced by desired; undefined when nothing changes. */
export function reconcileNoScheduleTaints(node: Node, desired: Taint[]): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const managed = current.filter(managedNoSchedule);
  if (managed.length === desired.length && desired.every((d) => managed.some((m) => same(m, d)))) return undefined;
  return [...current.filter((t) => !managedNoSchedule(t)), ...desired];
}

/**
 * node's taints with the NoExecute taint `add` (stamped with timeAdded: evictions count
 * tolerationSeconds from then) and without the NoExecute taints in `remove`; undefined when
 * nothing changes. The controller's not-ready and unreachable NoExecute taints are exclusive,
 * as the Ready condition they mirror.
 */
export function swapNoExecuteTaints(node: Node, add: string | undefined, remove: string[], now = new Date()): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const isNoExecute = (key: string) => (t: Taint) => t.effect === 'NoExecute' && t.key === key;
  const drop = remove.filter((key) => key !== add && current.some(isNoExecute(key)));
  const missing = add !== undefined && !current.some(isNoExecute(add));
  if (drop.length === 0 && !missing) return undefined;
  const kept = current.filter((t) => !(t.effect === 'NoExecute' && drop.includes(t.key)));
  return missing ? [...kept, { key: add, effect: 'NoExecute', timeAdded: rfc3339(now) }] : kept;
}

export function hasNoExecute(node: Node, key: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === key && t.effect === 'NoExecute');
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false; // an empty key only matches everything with Exists
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/**
 * When a pod on a node with these NoExecute taints must go, in ms since epoch:
 * now for an untolerated taint, never (undefined) when every toleration is
 * unbounded, else the earliest timeAdded + tolerationSeconds.
 */
export function evictionTime(pod: Pod, taints: Taint[], now: number): number | undefined {
  const tolerations = pod.spec?.tolerations ?? [];
  let at: number | undefined;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return now;
    // The taint is tolerated for as long as the most lenient matching toleration allows.
    const forever = matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null);
    if (forever) continue;
    const seconds = Math.max(0, ...matching.map((t) => t.tolerationSeconds!));
    const since = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    const due = (Number.isNaN(since) ? now : since) + seconds * 1000;
    at = at === undefined ? due : Math.min(at, due);
  }
  return at;
}
