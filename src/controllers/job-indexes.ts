// Per-index bookkeeping of Indexed Jobs: backoffLimitPerIndex (failure counts
// carried from pod to replacement pod in an annotation, status.failedIndexes,
// the per-index replacement delay) and successPolicy.
// https://kubernetes.io/docs/concepts/workloads/controllers/job/#backoff-limit-per-index
// https://kubernetes.io/docs/concepts/workloads/controllers/job/#success-policy
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { matchPodFailurePolicy } from './job-failure-policy.ts';
import { completionIndexOf, failureTime, isIndexed, isPodFailed, parseIndexes } from './job-pods.ts';
import { backoffRemainingMs, type PodBackoff } from './job-status.ts';

/** Failures counted so far in the pod's index (before this pod), on every pod of a Job with backoffLimitPerIndex. */
export const JOB_INDEX_FAILURE_COUNT = 'batch.kubernetes.io/job-index-failure-count';
/** Failures of the index that an Ignore rule of the podFailurePolicy did not count (only when > 0). */
export const JOB_INDEX_IGNORED_FAILURE_COUNT = 'batch.kubernetes.io/job-index-ignored-failure-count';

export function hasBackoffLimitPerIndex(job: Job): boolean {
  return isIndexed(job) && job.spec?.backoffLimitPerIndex !== undefined && job.spec.backoffLimitPerIndex !== null;
}

/** An int32 annotation; anything missing, malformed or out of range reads as 0 (as upstream). */
function int32Annotation(pod: Pod, key: string): number {
  const v = pod.metadata?.annotations?.[key];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n < 0 || n > 2147483647 ? 0 : n;
}

export const indexFailureCount = (pod: Pod): number => int32Annotation(pod, JOB_INDEX_FAILURE_COUNT);
const absoluteFailureCount = (pod: Pod): number =>
  indexFailureCount(pod) + int32Annotation(pod, JOB_INDEX_IGNORED_FAILURE_COUNT);

/** Whether this pod's failure fails its index: a FailIndex rule matched, or the index used up backoffLimitPerIndex. */
export function isIndexFailed(job: Job, pod: Pod): boolean {
  if (!isPodFailed(pod, job)) return false;
  const m = matchPodFailurePolicy(job.spec?.podFailurePolicy, pod);
  if (m.action === 'FailIndex') return true;
  return m.countFailed && indexFailureCount(pod) >= (job.spec?.backoffLimitPerIndex ?? 0);
}

function validIndex(job: Job, pod: Pod): number | undefined {
  const ix = completionIndexOf(pod);
  return ix !== undefined && ix < (job.spec?.completions ?? 0) ? ix : undefined;
}

/** status.failedIndexes plus the indexes whose not yet counted pods (tracked) failed them. */
export function calculateFailedIndexes(job: Job, pods: Pod[], tracked: (p: Pod) => boolean): number[] {
  const out = new Set(parseIndexes(job.status?.failedIndexes, job.spec?.completions ?? 0));
  for (const p of pods) {
    const ix = validIndex(job, p);
    if (ix !== undefined && tracked(p) && isIndexFailed(job, p)) out.add(ix);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Per index still to be retried, the failed pod whose finalizer (hence deletion)
 * waits until its replacement exists, so the replacement can inherit its failure
 * count: the one with the most failures, the latest to finish on a tie.
 */
export function podsWithDelayedDeletion(
  job: Job, pods: Pod[], tracked: (p: Pod) => boolean, done: { succeeded: Set<number>; failed: Set<number>; active: Set<number> },
): Map<number, Pod> {
  const out = new Map<number, Pod>();
  for (const p of pods) {
    if (!tracked(p) || !isPodFailed(p, job)) continue;
    const ix = validIndex(job, p);
    if (ix === undefined || done.succeeded.has(ix) || done.failed.has(ix) || done.active.has(ix)) continue;
    const prev = out.get(ix);
    if (!prev || (absoluteFailureCount(prev) <= absoluteFailureCount(p) && failureTime(p, 0) >= failureTime(prev, 0))) out.set(ix, p);
  }
  return out;
}

/** The failure-count annotations of the pod replacing `replaced` (none replaced: a first pod, 0). */
export function replacementFailureCounts(job: Job, replaced: Pod | undefined): Record<string, string> {
  if (!replaced) return { [JOB_INDEX_FAILURE_COUNT]: '0' };
  let failed = indexFailureCount(replaced);
  let ignored = int32Annotation(replaced, JOB_INDEX_IGNORED_FAILURE_COUNT);
  if (matchPodFailurePolicy(job.spec?.podFailurePolicy, replaced).countFailed) failed++;
  else ignored++;
  const out: Record<string, string> = { [JOB_INDEX_FAILURE_COUNT]: String(failed) };
  if (ignored > 0) out[JOB_INDEX_IGNORED_FAILURE_COUNT] = String(ignored);
  return out;
}

/** How long an index waits before its replacement pod: the usual backoff, by the index's own failure count. */
export function indexBackoffRemainingMs(lastFailed: Pod | undefined, b: PodBackoff, now: number): number {
  if (!lastFailed) return 0;
  return backoffRemainingMs({ failuresAfterLastSuccess: absoluteFailureCount(lastFailed) + 1, lastFailureTime: failureTime(lastFailed, now) }, b, now);
}

/**
 * The SuccessCriteriaMet message when a successPolicy rule is met by the
 * succeeded indexes ("Matched rules at index N"), else undefined.
 */
export function matchSuccessPolicy(job: Job, succeeded: number[]): string | undefined {
  const rules = job.spec?.successPolicy?.rules;
  if (!rules || succeeded.length === 0 || !isIndexed(job)) return undefined;
  const done = new Set(succeeded);
  const completions = job.spec?.completions ?? 0;
  for (const [i, rule] of rules.entries()) {
    const count = rule.succeededCount ?? undefined;
    if (rule.succeededIndexes !== undefined && rule.succeededIndexes !== null) {
      const required = parseIndexes(rule.succeededIndexes, completions);
      if (required.length === 0) continue; // unparsable: the rule never matches
      const contains = required.filter((ix) => done.has(ix)).length;
      if (contains === required.length || (count !== undefined && contains >= count)) return `Matched rules at index ${i}`;
    } else if (count !== undefined && done.size >= count) {
      return `Matched rules at index ${i}`;
    }
  }
  return undefined;
}
