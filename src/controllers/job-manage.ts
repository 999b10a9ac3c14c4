// The Job controller's "how many pods should run now" step (manageJob): creates
// pods up to min(parallelism, remaining completions), deletes extras, and for
// Indexed Jobs hands out the lowest pending completion indexes.
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { EventRecorder } from '../client/events.ts';
import { completionIndexOf, isIndexed, podFromTemplate } from './job-pods.ts';
import { isPodReady } from './pod-control.ts';
import { type BackoffRecord, backoffRemainingMs, type PodBackoff } from './job-status.ts';
import { hasBackoffLimitPerIndex, indexBackoffRemainingMs, replacementFailureCounts } from './job-indexes.ts';

/** Pods created or deleted per sync at most (kube: MaxPodCreateDeletePerSync). */
const MAX_PODS_PER_SYNC = 500;

export interface JobPodOps {
  /** Creates the pod (and records SuccessfulCreate). */
  create(job: Job, pod: Pod): Promise<Pod>;
  /** Releases the pod's tracking finalizer and deletes it (a pod removed this way is not counted). */
  delete(job: Job, pod: Pod): Promise<void>;
  expectCreations(key: string, n: number): void;
  creationFailed(key: string): void;
  enqueueAfter(key: string, ms: number): void;
  recorder: EventRecorder;
}

export interface ManageInput {
  activePods: Pod[];
  /** Pods being deleted that have not finished. */
  terminatingPods: Pod[];
  succeeded: number;
  /** Indexed Jobs: completed indexes. */
  completed: number[];
  /** backoffLimitPerIndex: failed indexes (never retried). */
  failedIndexes?: number[];
  /** backoffLimitPerIndex: per index, the failed pod the replacement inherits its failure count from. */
  delayed: ReadonlyMap<number, Pod>;
  backoff: BackoffRecord | undefined;
  podBackoff: PodBackoff;
  now: number;
}

/** Creates/deletes pods toward the wanted number of active pods; returns the number active afterwards. */
export async function manageJob(ops: JobPodOps, key: string, job: Job, s: ManageInput): Promise<number> {
  const spec = job.spec!;
  let active = s.activePods.length;
  if (spec.suspend === true) {
    active -= await deletePods(ops, job, s.activePods);
    return active;
  }
  const parallelism = spec.parallelism ?? 1;
  let wantActive: number;
  if (spec.completions === undefined || spec.completions === null) {
    // Without completions any success means the work is done: let running pods finish, start none.
    wantActive = s.succeeded > 0 ? active : parallelism;
  } else {
    wantActive = Math.max(0, Math.min(parallelism, spec.completions - s.succeeded));
  }

  const { extra, keep } = podsForRemoval(job, s.activePods, s.completed, Math.max(0, active - wantActive));
  if (extra.length > 0) active -= await deletePods(ops, job, extra.slice(0, MAX_PODS_PER_SYNC));
  if (active >= wantActive) return active;

  // With podReplacementPolicy Failed a pod is replaced only once it has fully stopped.
  const onlyFailed = spec.podReplacementPolicy === 'Failed' || !!spec.podFailurePolicy;
  let diff = Math.min(wantActive - active - (onlyFailed ? s.terminatingPods.length : 0), MAX_PODS_PER_SYNC);
  if (diff <= 0) return active;
  // backoffLimitPerIndex: each index backs off on its own failures instead of the Job's.
  const perIndex = hasBackoffLimitPerIndex(job);
  const wait = perIndex ? 0 : backoffRemainingMs(s.backoff, s.podBackoff, s.now);
  if (wait > 0) {
    ops.enqueueAfter(key, wait);
    return active;
  }
  let indexes: number[] | undefined;
  if (isIndexed(job)) {
    const taken = [...s.completed, ...(s.failedIndexes ?? []), ...(onlyFailed ? s.terminatingPods : []).map(completionIndexOf)];
    indexes = pendingIndexes(spec.completions ?? 0, taken, keep, diff);
    if (perIndex) {
      const waits = indexes.map((ix) => indexBackoffRemainingMs(s.delayed.get(ix), s.podBackoff, s.now));
      const ready = indexes.filter((_, i) => waits[i] === 0);
      if (ready.length === 0 && indexes.length > 0) {
        ops.enqueueAfter(key, Math.min(...waits));
        return active;
      }
      indexes = ready;
    }
    diff = indexes.length;
  }
  ops.expectCreations(key, diff);
  let created = 0;
  let failure: Error | undefined;
  // Slow start (1, 2, 4, ...): a template the API rejects fails once, not 500 times.
  for (let batch = Math.min(1, diff), done = 0; done < diff; batch = Math.min(batch * 2, diff - done)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, (_, i) =>
      ops.create(job, newPod(job, indexes?.[done + i], s.delayed))));
    done += batch;
    for (const r of results) {
      if (r.status === 'fulfilled') created++;
      else {
        ops.creationFailed(key);
        failure ??= r.reason as Error;
      }
    }
    if (failure) {
      for (let i = done; i < diff; i++) ops.creationFailed(key); // never issued
      break;
    }
  }
  active += created;
  if (failure) {
    ops.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${failure.message}`);
    throw new Error(`creating pods for job ${key}: ${failure.message}`);
  }
  return active;
}

async function deletePods(ops: JobPodOps, job: Job, pods: Pod[]): Promise<number> {
  const results = await Promise.allSettled(pods.map((p) => ops.delete(job, p)));
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  if (failed.length) throw new Error(`deleting pods of job ${job.metadata!.name}: ${failed.map((f) => (f.reason as Error).message).join('; ')}`);
  return pods.length;
}

/**
 * Active pods to delete: for Indexed Jobs first those with a bad, duplicate or
 * already completed index; then `atLeast` more, the least useful first
 * (unscheduled, not running, not ready, youngest).
 */
function podsForRemoval(job: Job, activePods: Pod[], completed: number[], atLeast: number): { extra: Pod[]; keep: Pod[] } {
  let extra: Pod[] = [];
  let keep: Pod[] = [...activePods];
  if (isIndexed(job)) {
    const done = new Set(completed);
    const limit = job.spec!.completions ?? 0;
    const seen = new Set<number>();
    keep = [];
    for (const p of [...activePods].sort(byUsefulness).reverse()) {
      const ix = completionIndexOf(p);
      if (ix === undefined || ix >= limit || done.has(ix) || seen.has(ix)) extra.push(p);
      else {
        seen.add(ix);
        keep.push(p);
      }
    }
  }
  const more = Math.max(0, atLeast - extra.length);
  if (more > 0) {
    const sorted = [...keep].sort(byUsefulness);
    extra = [...extra, ...sorted.slice(0, more)];
    keep = sorted.slice(more);
  }
  return { extra, keep };
}

/** Orders pods least useful first (kube's controller.ActivePods ranking, simplified). */
function byUsefulness(a: Pod, b: Pod): number {
  const rank = (p: Pod) => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === 'Running' ? 2 : p.status?.phase === 'Pending' ? 0 : 1,
    isPodReady(p) ? 1 : 0,
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
  // Younger first: it has done less work.
  return (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? '');
}

/** The pod for an index (or none); with backoffLimitPerIndex it carries the index's failure counts. */
function newPod(job: Job, index: number | undefined, delayed: ReadonlyMap<number, Pod>): Pod {
  const pod = podFromTemplate(job, index);
  if (index !== undefined && hasBackoffLimitPerIndex(job)) {
    Object.assign(pod.metadata!.annotations!, replacementFailureCounts(job, delayed.get(index)));
  }
  return pod;
}

/** The lowest indexes neither taken (completed, failed, ...) nor held by an active pod, at most count. */
function pendingIndexes(completions: number, taken0: (number | undefined)[], activePods: Pod[], count: number): number[] {
  const taken = new Set(taken0);
  for (const p of activePods) {
    const ix = completionIndexOf(p);
    if (ix !== undefined) taken.add(ix);
  }
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) if (!taken.has(i)) out.push(i);
  return out;
}
