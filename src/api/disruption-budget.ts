// What the eviction subresource, the disruption controller and the scheduler's preemption agree
// on about PodDisruptionBudgets: which pods a budget covers, when a pod counts as healthy, and the
// DisruptionAllowed condition (k8s.io/component-helpers/apps/poddisruptionbudget).
// https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-budgets
import type { Condition } from 'kubernetes-types/meta/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.d.ts';
import { labelSelectorFromMeta, matchesLabels, SelectorError } from './selectors/index.ts';
import { rfc3339 } from './time.ts';

export const DISRUPTION_ALLOWED_CONDITION = 'DisruptionAllowed';
export const SUFFICIENT_PODS_REASON = 'SufficientPods';
export const INSUFFICIENT_PODS_REASON = 'InsufficientPods';
export const SYNC_FAILED_REASON = 'SyncFailed';
/** The StatusCause type of an eviction refused by a budget (policyv1.DisruptionBudgetCause). */
export const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';
/** How long an eviction's entry in status.disruptedPods counts the pod as gone (the controller's DeletionTimeout). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/**
 * Whether the budget covers the pod: same namespace and the selector matches. A missing selector
 * matches nothing, an empty one everything (policy/v1); an invalid one nothing.
 */
export function budgetCoversPod(pdb: PodDisruptionBudget, pod: Pod): boolean {
  if ((pdb.metadata?.namespace ?? '') !== (pod.metadata?.namespace ?? '')) return false;
  try {
    return matchesLabels(labelSelectorFromMeta(pdb.spec?.selector), pod.metadata?.labels ?? {});
  } catch (e) {
    if (e instanceof SelectorError) return false; // an invalid selector matches no pod, as in kube
    throw e;
  }
}

/** apimeta.SetStatusCondition: add or update by type; lastTransitionTime moves only when status changes. */
export function setStatusCondition(conditions: Condition[], next: Omit<Condition, 'lastTransitionTime'>, now = new Date()): Condition[] {
  const i = conditions.findIndex((c) => c.type === next.type);
  if (i < 0) return [...conditions, { ...next, lastTransitionTime: rfc3339(now) }];
  const old = conditions[i];
  const updated: Condition = {
    ...old, reason: next.reason, message: next.message, observedGeneration: next.observedGeneration,
    ...(old.status !== next.status ? { status: next.status, lastTransitionTime: rfc3339(now) } : {}),
  };
  if (updated.observedGeneration === undefined) delete updated.observedGeneration;
  return conditions.map((c, j) => (j === i ? updated : c));
}

/** UpdateDisruptionAllowedCondition: True/SufficientPods while disruptions are allowed, else False/InsufficientPods. */
export function withDisruptionAllowedCondition<S extends Partial<PodDisruptionBudgetStatus>>(status: S, now = new Date()): S {
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  const conditions = setStatusCondition(status.conditions ?? [], {
    type: DISRUPTION_ALLOWED_CONDITION, status: allowed ? 'True' : 'False',
    reason: allowed ? SUFFICIENT_PODS_REASON : INSUFFICIENT_PODS_REASON, message: '',
    observedGeneration: status.observedGeneration,
  }, now);
  return { ...status, conditions };
}

/** ConditionsAreUpToDate: the condition agrees with disruptionsAllowed for the current generation. */
export function conditionsAreUpToDate(pdb: PodDisruptionBudget): boolean {
  const cond = pdb.status?.conditions?.find((c) => c.type === DISRUPTION_ALLOWED_CONDITION);
  if (!cond) return false;
  if ((pdb.status?.observedGeneration ?? 0) !== (pdb.metadata?.generation ?? 0)) return false;
  if ((pdb.status?.disruptionsAllowed ?? 0) > 0) return cond.status === 'True' && cond.reason === SUFFICIENT_PODS_REASON;
  return cond.status === 'False' && cond.reason === INSUFFICIENT_PODS_REASON;
}
