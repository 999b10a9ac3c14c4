// The numbers of a PodDisruptionBudget's status, computed as kube's disruption controller does
// (pkg/controller/disruption): expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed,
// and the disruptedPods entries the eviction subresource left that still count.
// https://kubernetes.io/docs/tasks/run-application/configure-pdb/#think-about-how-your-application-reacts-to-disruptions
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.d.ts';
import { scaledValue } from '../api/int-or-string.ts';
import { isPodReady } from './pod-control.ts';
import {
  conditionsAreUpToDate, DISRUPTED_POD_TIMEOUT_MS, DISRUPTION_ALLOWED_CONDITION, setStatusCondition, SYNC_FAILED_REASON,
  withDisruptionAllowedCondition,
} from '../api/disruption-budget.ts';

/** A pod's controller and its desired scale (spec.replicas), keyed by the controller's uid. */
export interface ControllerScale {
  uid: string;
  scale: number;
}

/** Finds the scale behind a pod's controllerRef; undefined when no known controller matches it. */
export type ScaleFinder = (ref: OwnerReference, namespace: string) => ControllerScale | undefined;

export interface ExpectedCount {
  expectedPods: number;
  desiredHealthy: number;
  /** Pods without a controller (only looked at when the scale is needed). */
  unmanagedPods: string[];
}


/** getExpectedScale: the sum of spec.replicas of the pods' controllers, each counted once. */
function expectedScale(pods: Pod[], findScale: ScaleFinder): { expected: number; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = pod.metadata?.ownerReferences?.find((r) => r.controller === true);
    if (!ref) {
      unmanaged.push(pod.metadata!.name!);
      continue;
    }
    const found = findScale(ref, pod.metadata!.namespace!);
    if (!found) throw new Error(`found no controllers for pod "${pod.metadata!.name}"`);
    scales.set(found.uid, found.scale);
  }
  let expected = 0;
  for (const n of scales.values()) expected += n;
  return { expected, unmanaged };
}

/** getExpectedPodCount: integer minAvailable counts the selected pods; percentages and maxUnavailable need the scale. */
export function expectedPodCount(pdb: PodDisruptionBudget, pods: Pod[], findScale: ScaleFinder): ExpectedCount {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    const { expected, unmanaged } = expectedScale(pods, findScale);
    const desired = Math.max(0, expected - scaledValue(spec.maxUnavailable, expected));
    return { expectedPods: expected, desiredHealthy: desired, unmanagedPods: unmanaged };
  }
  if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === 'number') return { expectedPods: pods.length, desiredHealthy: spec.minAvailable, unmanagedPods: [] };
    const { expected, unmanaged } = expectedScale(pods, findScale);
    return { expectedPods: expected, desiredHealthy: scaledValue(spec.minAvailable, expected), unmanagedPods: unmanaged };
  }
  return { expectedPods: 0, desiredHealthy: 0, unmanagedPods: [] };
}

export interface DisruptedPods {
  /** Entries still within their timeout, for pods not yet being deleted. */
  current: Record<string, string>;
  /** Pods the eviction API recorded that were not deleted in time (a NotDeleted event each). */
  expired: Pod[];
  /** When the earliest remaining entry expires (the PDB is looked at again then). */
  recheckAt?: number;
}

/** buildDisruptedPodMap: drop entries of pods now being deleted or gone; expire entries older than 2 minutes. */
export function disruptedPodMap(pdb: PodDisruptionBudget, pods: Pod[], now: number): DisruptedPods {
  const recorded = pdb.status?.disruptedPods ?? {};
  const out: DisruptedPods = { current: {}, expired: [] };
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const at = recorded[pod.metadata!.name!];
    if (at === undefined) continue;
    const expires = Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS;
    if (expires < now) out.expired.push(pod);
    else {
      out.current[pod.metadata!.name!] = at;
      if (out.recheckAt === undefined || expires < out.recheckAt) out.recheckAt = expires;
    }
  }
  return out;
}

/** countHealthyPods: Ready pods that are neither being deleted nor about to be (a current disruptedPods entry). */
export function countHealthyPods(pods: Pod[], disrupted: Record<string, string>, now: number): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const at = disrupted[pod.metadata!.name!];
    if (at !== undefined && Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS > now) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

export interface Counts {
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  disruptedPods: Record<string, string>;
}

/**
 * The status the controller writes (updatePdbStatus), or undefined when the stored one is up to
 * date. No disruption is allowed while no pod is expected, so a budget whose first pods appear
 * before the controller catches up is safe.
 */
export function nextStatus(pdb: PodDisruptionBudget, c: Counts, now: Date): PodDisruptionBudgetStatus | undefined {
  let allowed = c.currentHealthy - c.desiredHealthy;
  if (c.expectedPods <= 0 || allowed <= 0) allowed = 0;
  const old = pdb.status;
  const generation = pdb.metadata?.generation ?? 0;
  const oldPods = old?.disruptedPods ?? {};
  const samePods = Object.keys(oldPods).length === Object.keys(c.disruptedPods).length &&
    Object.entries(c.disruptedPods).every(([k, v]) => oldPods[k] !== undefined && Date.parse(oldPods[k]) === Date.parse(v));
  if (old && old.currentHealthy === c.currentHealthy && old.desiredHealthy === c.desiredHealthy && old.expectedPods === c.expectedPods &&
    old.disruptionsAllowed === allowed && samePods && conditionsAreUpToDate(pdb)) {
    return undefined;
  }
  const status: PodDisruptionBudgetStatus = {
    observedGeneration: generation,
    ...(Object.keys(c.disruptedPods).length > 0 ? { disruptedPods: c.disruptedPods } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: c.currentHealthy,
    desiredHealthy: c.desiredHealthy,
    expectedPods: c.expectedPods,
    conditions: old?.conditions ?? [],
  };
  return withDisruptionAllowedCondition(status, now);
}

/** failSafe: when the status cannot be computed, allow no disruption and say why (SyncFailed). */
export function failSafeStatus(pdb: PodDisruptionBudget, err: Error, now: Date): PodDisruptionBudgetStatus {
  const old: Partial<PodDisruptionBudgetStatus> = pdb.status ?? {};
  const conditions = setStatusCondition(old.conditions ?? [], {
    type: DISRUPTION_ALLOWED_CONDITION, status: 'False', reason: SYNC_FAILED_REASON, message: err.message,
    observedGeneration: old.observedGeneration,
  }, now);
  return { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, ...old, disruptionsAllowed: 0, conditions };
}
