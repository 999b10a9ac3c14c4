// Pure pieces of the Job controller's status bookkeeping: conditions, the
// uncountedTerminatedPods → counters step, and the pod re-creation backoff.
// https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.d.ts';

export type ConditionType = 'Complete' | 'Failed' | 'SuccessCriteriaMet' | 'FailureTarget' | 'Suspended';

export function findCondition(job: Job, type: ConditionType): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

export function hasTrueCondition(job: Job, type: ConditionType): boolean {
  return findCondition(job, type)?.status === 'True';
}

/** A Job with a true Complete or Failed condition is done; the controller leaves it alone. */
export function isJobFinished(job: Job): boolean {
  return hasTrueCondition(job, 'Complete') || hasTrueCondition(job, 'Failed');
}

/** The finished condition (Complete or Failed) of a finished Job. */
export function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

export function newCondition(type: ConditionType, reason: string, message: string, now: string, status: 'True' | 'False' = 'True'): JobCondition {
  return { type, status, reason, message, lastProbeTime: now, lastTransitionTime: now };
}

/**
 * Sets a condition to status; appends it only when it is true (nothing → False says nothing).
 * Returns whether the list changed.
 */
export function ensureCondition(status: JobStatus, c: JobCondition, now: string): boolean {
  const list = (status.conditions ??= []);
  const existing = list.find((x) => x.type === c.type);
  if (!existing) {
    if (c.status !== 'True') return false;
    list.push(c);
    return true;
  }
  if (existing.status === c.status && existing.reason === c.reason && existing.message === c.message) return false;
  if (existing.status !== c.status) existing.lastTransitionTime = now;
  existing.status = c.status;
  existing.reason = c.reason;
  existing.message = c.message;
  existing.lastProbeTime = now;
  return true;
}

/**
 * Moves the UIDs in status.uncountedTerminatedPods whose pods no longer carry the
 * tracking finalizer (removed, or pod gone) into the succeeded/failed counters.
 * Returns whether anything moved.
 */
export function countReleasedPods(status: JobStatus, uidsWithFinalizer: ReadonlySet<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  const keep = (uids: string[] | undefined) => (uids ?? []).filter((uid) => uidsWithFinalizer.has(uid));
  const succeeded = keep(u.succeeded);
  if (succeeded.length !== (u.succeeded ?? []).length) {
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded ?? []).length - succeeded.length;
    u.succeeded = succeeded.length ? succeeded : undefined; // empty lists are omitted, as kube writes them
    changed = true;
  }
  const failed = keep(u.failed);
  if (failed.length !== (u.failed ?? []).length) {
    status.failed = (status.failed ?? 0) + (u.failed ?? []).length - failed.length;
    u.failed = failed.length ? failed : undefined;
    changed = true;
  }
  return changed;
}

export function uncountedCount(status: JobStatus): number {
  return (status.uncountedTerminatedPods?.succeeded?.length ?? 0) + (status.uncountedTerminatedPods?.failed?.length ?? 0);
}

/**
 * Failures since the last success, for the exponential delay before a failed pod
 * is replaced (10 s, 20 s, 40 s ... capped at 6 minutes by default).
 */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime: number;
}

export interface PodBackoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_POD_BACKOFF: PodBackoff = { baseMs: 10_000, maxMs: 360_000 };

/** The record after this sync's newly finished pods (failure times in ms). */
export function nextBackoffRecord(prev: BackoffRecord | undefined, newSucceeded: number, newFailureTimes: number[]): BackoffRecord {
  const rec = prev ? { ...prev } : { failuresAfterLastSuccess: 0, lastFailureTime: 0 };
  if (newSucceeded > 0 && newFailureTimes.length === 0) return { failuresAfterLastSuccess: 0, lastFailureTime: rec.lastFailureTime };
  rec.failuresAfterLastSuccess += newFailureTimes.length;
  for (const t of newFailureTimes) rec.lastFailureTime = Math.max(rec.lastFailureTime, t);
  return rec;
}

/** How long to wait before creating a replacement pod (0: create now). */
export function backoffRemainingMs(rec: BackoffRecord | undefined, b: PodBackoff, now: number): number {
  if (!rec || rec.failuresAfterLastSuccess === 0) return 0;
  const delay = Math.min(b.baseMs * 2 ** (rec.failuresAfterLastSuccess - 1), b.maxMs);
  return Math.max(0, rec.lastFailureTime + delay - now);
}
