// Whether a Job is done this sync, and why: the interim condition it heads to
// (FailureTarget or SuccessCriteriaMet), decided in kube's order: a verdict
// already written, a podFailurePolicy FailJob rule, backoffLimit,
// activeDeadlineSeconds, then for Indexed Jobs maxFailedIndexes / failed
// indexes and the successPolicy.
// https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup
import type { Job, JobCondition } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { failJobMessage } from './job-failure-policy.ts';
import { calculateFailedIndexes, hasBackoffLimitPerIndex, matchSuccessPolicy, podsWithDelayedDeletion } from './job-indexes.ts';
import { completionIndexOf, isIndexed, parseIndexes, pastBackoffLimitOnFailure } from './job-pods.ts';
import { findCondition, newCondition } from './job-status.ts';
import { rfc3339 } from '../api/time.ts';

export interface VerdictInput {
  /** The Job's pods (controlled by it). */
  pods: Pod[];
  activePods: Pod[];
  /** Pods still carrying the tracking finalizer, i.e. not counted yet. */
  tracked: (p: Pod) => boolean;
  /** status.failed plus the failures (not ignored by the podFailurePolicy) not yet counted. */
  failed: number;
  now: number;
}

export interface Verdict {
  /** The condition the Job heads to this sync, if it is done. */
  finished?: JobCondition;
  /** Indexed Jobs: the succeeded indexes (status.completedIndexes). */
  completed: number[];
  /** Jobs with backoffLimitPerIndex: status.failedIndexes. */
  failedIndexes?: number[];
  /** backoffLimitPerIndex: per index, the failed pod kept until its replacement exists. */
  delayed: Map<number, Pod>;
  /** activeDeadlineSeconds not yet reached: sync again in this many ms. */
  deadlineInMs?: number;
}

export function decideVerdict(job: Job, v: VerdictInput): Verdict {
  const spec = job.spec!;
  const st = job.status ?? {};
  const nowStr = rfc3339(v.now);
  const suspended = spec.suspend === true;
  const out: Verdict = { completed: [], delayed: new Map() };
  const failureTarget = (reason: string, message: string) => newCondition('FailureTarget', reason, message, nowStr);

  const scm = findCondition(job, 'SuccessCriteriaMet');
  const ft = findCondition(job, 'FailureTarget');
  if (scm?.status === 'True') out.finished = scm;
  else if (ft?.status === 'True') out.finished = newCondition('Failed', ft.reason ?? '', ft.message ?? '', nowStr);
  else {
    const msg = failJobMessage(job, v.pods);
    if (msg) out.finished = failureTarget('PodFailurePolicy', msg);
  }
  if (!out.finished) {
    if (v.failed > (spec.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, v.activePods)) {
      out.finished = failureTarget('BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    } else if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && st.startTime && !suspended) {
      const left = Date.parse(st.startTime) + spec.activeDeadlineSeconds * 1000 - v.now;
      if (left <= 0) out.finished = failureTarget('DeadlineExceeded', 'Job was active longer than specified deadline');
      else out.deadlineInMs = left + 50;
    }
  }
  if (!isIndexed(job)) return out;

  const completions = spec.completions ?? 0;
  const succeeded = new Set(parseIndexes(st.completedIndexes, completions));
  for (const p of v.pods) {
    const ix = completionIndexOf(p);
    if (p.status?.phase === 'Succeeded' && v.tracked(p) && ix !== undefined && ix < completions) succeeded.add(ix);
  }
  out.completed = [...succeeded].sort((a, b) => a - b);
  if (hasBackoffLimitPerIndex(job)) {
    const failed = calculateFailedIndexes(job, v.pods, v.tracked);
    out.failedIndexes = failed;
    if (!out.finished) {
      if (spec.maxFailedIndexes !== undefined && spec.maxFailedIndexes !== null && failed.length > spec.maxFailedIndexes) {
        out.finished = failureTarget('MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes');
      } else if (failed.length > 0 && failed.length + succeeded.size >= completions) {
        out.finished = failureTarget('FailedIndexes', 'Job has failed indexes');
      }
    }
    const active = new Set<number>();
    for (const p of v.activePods) {
      const ix = completionIndexOf(p);
      if (ix !== undefined) active.add(ix);
    }
    out.delayed = podsWithDelayedDeletion(job, v.pods, v.tracked, { succeeded, failed: new Set(failed), active });
  }
  if (!out.finished) {
    const msg = matchSuccessPolicy(job, out.completed);
    if (msg) out.finished = newCondition('SuccessCriteriaMet', 'SuccessPolicy', msg, nowStr);
  }
  return out;
}
