// The Job controller: runs a Job's pods until enough of them succeed
// (completions, NonIndexed or Indexed, successPolicy), or the Job fails
// (backoffLimit, activeDeadlineSeconds, podFailurePolicy, backoffLimitPerIndex /
// maxFailedIndexes), or is suspended. The verdict is job-verdict.ts's.
// https://kubernetes.io/docs/concepts/workloads/controllers/job/
//
// Finished pods are counted the way kube-controller-manager counts them: every
// pod carries the batch.kubernetes.io/job-tracking finalizer; a finished pod's
// UID goes first into status.uncountedTerminatedPods (written), then its
// finalizer is removed, then the UID moves into status.succeeded/failed. A pod
// is thus counted exactly once even if it is deleted right after it finishes.
// Terminal conditions are two-step as in 1.32: SuccessCriteriaMet/FailureTarget
// first, Complete/Failed once no pod is uncounted or still terminating.
import type { Job, JobCondition } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { controllerOf, Controller } from '../client/controller.ts';
import type { EventRecorder } from '../client/events.ts';
import { isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { SharedInformer } from '../client/informer.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { JobExpectations } from './job-expectations.ts';
import { WrittenObjects } from '../client/written-objects.ts';
import { type JobPodOps, manageJob } from './job-manage.ts';
import { countsAsFailure } from './job-failure-policy.ts';
import {
  completionIndexOf, failureTime, formatIndexes, hasTrackingFinalizer, isIndexed, isPodFailed, isTerminating, JOB_TRACKING_FINALIZER,
} from './job-pods.ts';
import { decideVerdict } from './job-verdict.ts';
import { isPodActive, isPodReady } from './pod-control.ts';
import {
  type BackoffRecord, countReleasedPods, DEFAULT_POD_BACKOFF, ensureCondition, hasTrueCondition, isJobFinished,
  newCondition, nextBackoffRecord, type PodBackoff, uncountedCount,
} from './job-status.ts';
import { rfc3339 } from '../api/time.ts';
import { cloneJson } from '../api/json-clone.ts';

/** Index of pods by the key ("namespace/name") of the Job controlling them. */
export const PODS_BY_JOB_INDEX = 'job-controller:job-key';
const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';
/** At most this many pods are counted per status write, so status stays small (kube: 500). */
const MAX_UNCOUNTED = 500;

export interface JobControllerOptions {
  /** Delay before replacing failed pods: base * 2^(failures-1), capped (kube: 10 s, 6 min). */
  podBackoff?: PodBackoff;
  workers?: number;
}

export function makeJobDefinition(opts: JobControllerOptions = {}): ControllerDefinition {
  return { name: 'job', start: (ctx) => startJobController(ctx, opts) };
}

export const definition: ControllerDefinition = makeJobDefinition();

function jobKeyOfPod(pod: Pod): string | undefined {
  const owner = controllerOf(pod);
  if (!owner || owner.kind !== 'Job' || !pod.metadata?.namespace) return undefined;
  return `${pod.metadata.namespace}/${owner.name}`;
}

const indexed = new WeakSet<SharedInformer<Pod>>();

function startJobController(ctx: ControllerContext, opts: JobControllerOptions): RunningController {
  const jobs = ctx.informers.informerFor<Job>(R.jobs);
  const pods = ctx.informers.informerFor<Pod>(R.pods);
  if (!indexed.has(pods)) {
    pods.addIndexer(PODS_BY_JOB_INDEX, (p) => {
      const k = jobKeyOfPod(p);
      return k ? [k] : [];
    });
    indexed.add(pods);
  }
  const recorder = ctx.recorder('job-controller');
  const expectations = new JobExpectations();
  const backoffs = new Map<string, BackoffRecord>();
  const podBackoff = opts.podBackoff ?? DEFAULT_POD_BACKOFF;

  const written = new WrittenObjects(jobs);
  const writeStatus = (key: string, job: Job) => written.write(key, () => ctx.client.updateStatus<Job>(R.jobs, job));

  // Expectations are settled by what the pod cache shows (registered before the
  // handler that queues the Job, so a sync never sees an event before they do).
  const unregister = pods.addEventHandler({
    onAdd: (p) => {
      const k = jobKeyOfPod(p);
      if (k) expectations.creationObserved(k);
    },
    onUpdate: (_old, p) => {
      const k = jobKeyOfPod(p);
      if (k && !hasTrackingFinalizer(p)) expectations.finalizerRemovalObserved(k, p.metadata!.uid!);
    },
    onDelete: (p) => {
      const k = jobKeyOfPod(p);
      if (k) expectations.finalizerRemovalObserved(k, p.metadata!.uid!);
    },
  });

  const c = new Controller('job', [jobs], (key) => syncJob(key), opts.workers ?? 5, { log: ctx.log });
  c.watch(pods, (p) => {
    const k = jobKeyOfPod(p as Pod);
    return k ? [k] : [];
  });

  const ops: JobPodOps = {
    async create(job, pod) {
      const created = await ctx.client.create<Pod>(R.pods, pod);
      recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
      return created;
    },
    async delete(job, pod) {
      await releasePod(pod);
      try {
        await ctx.client.delete(R.pods, pod.metadata!.name!, { namespace: pod.metadata!.namespace });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
    },
    expectCreations: (key, n) => expectations.expectCreations(key, n),
    creationFailed: (key) => expectations.creationObserved(key),
    enqueueAfter: (key, ms) => c.enqueueAfter(key, ms),
    recorder,
  };

  /** Removes the tracking finalizer; a pod already gone counts as released. */
  async function releasePod(pod: Pod): Promise<void> {
    if (!hasTrackingFinalizer(pod)) return;
    try {
      await ctx.client.patch(R.pods, pod.metadata!.name!, { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } },
        { type: 'strategic', namespace: pod.metadata!.namespace });
    } catch (e) {
      if (!isNotFound(e)) throw new Error(`removing finalizer ${JOB_TRACKING_FINALIZER} from pod ${pod.metadata!.name}: ${(e as Error).message}`);
    }
  }

  async function syncJob(key: string): Promise<void> {
    const cached = written.get(key);
    const owned = pods.byIndex(PODS_BY_JOB_INDEX, key);
    const uid = cached?.metadata?.uid;
    // Pods of a deleted Job (or of an older Job of the same name) must not keep their finalizer forever.
    const strays = owned.filter((p) => controllerOf(p)?.uid !== uid && hasTrackingFinalizer(p));
    await Promise.all(strays.map((p) => releasePod(p)));
    if (!cached) {
      expectations.forget(key);
      backoffs.delete(key);
      return;
    }
    if (cached.spec?.managedBy && cached.spec.managedBy !== JOB_CONTROLLER_NAME) return;
    if (isJobFinished(cached)) {
      backoffs.delete(key);
      return;
    }
    const mode = cached.spec?.completionMode ?? 'NonIndexed';
    if (mode !== 'NonIndexed' && mode !== 'Indexed') {
      recorder.event(cached, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    await syncActiveJob(key, cloneJson(cached) as Job, owned.filter((p) => controllerOf(p)?.uid === uid));
  }

  async function syncActiveJob(key: string, job: Job, mine: Pod[]): Promise<void> {
    const now = Date.now();
    const nowStr = rfc3339(now);
    const spec = job.spec!;
    const st = (job.status ??= {});
    const old = { active: st.active ?? 0, ready: st.ready, terminating: st.terminating, startTime: st.startTime };
    const unc = st.uncountedTerminatedPods ??= {};
    const uncSucceeded = new Set(unc.succeeded ?? []);
    const uncFailed = new Set(unc.failed ?? []);
    const expectedRm = expectations.expectedFinalizerRemovals(key);
    const satisfied = expectations.creationsSatisfied(key);
    const tracked = (p: Pod) => hasTrackingFinalizer(p) && !expectedRm.has(p.metadata!.uid!);
    const activePods = mine.filter(isPodActive);
    let active = activePods.length;
    let ready = activePods.filter(isPodReady).length;
    let terminating = mine.filter(isTerminating).length;
    const suspended = spec.suspend === true;
    const completions = spec.completions ?? undefined;

    // Pods finished since the last count (Indexed Jobs: only those with a valid index).
    const validIndex = (p: Pod) => !isIndexed(job) || (completionIndexOf(p) ?? Infinity) < (completions ?? 0);
    const isNew = (p: Pod) => tracked(p) && !uncSucceeded.has(p.metadata!.uid!) && !uncFailed.has(p.metadata!.uid!) && validIndex(p);
    const newSucceeded = mine.filter((p) => isNew(p) && p.status?.phase === 'Succeeded');
    const newFailed = mine.filter((p) => isNew(p) && p.status?.phase !== 'Succeeded' && isPodFailed(p, job));
    let succeeded = (st.succeeded ?? 0) + newSucceeded.length + uncSucceeded.size;
    // Failures an Ignore rule of the podFailurePolicy matched do not count toward backoffLimit.
    const failed = (st.failed ?? 0) + newFailed.filter((p) => countsAsFailure(job, p)).length + uncFailed.size;
    if (!st.startTime && !suspended) st.startTime = nowStr;
    const backoff = nextBackoffRecord(backoffs.get(key), newSucceeded.length, newFailed.map((p) => failureTime(p, now)));

    // The condition the Job is heading to, if it is done (interim type first).
    const verdict = decideVerdict(job, { pods: mine, activePods, tracked, failed, now });
    let finished = verdict.finished;
    if (verdict.deadlineInMs !== undefined) c.enqueueAfter(key, verdict.deadlineInMs);
    const { completed, failedIndexes, delayed } = verdict;
    if (isIndexed(job)) succeeded = completed.length;

    let suspendChanged = false;
    if (finished) {
      // Done: stop what still runs (finalizers stay until counted below).
      let deleted = 0;
      let deletedReady = 0;
      const errors: Error[] = [];
      await Promise.all(activePods.map(async (p) => {
        try {
          await ctx.client.delete(R.pods, p.metadata!.name!, { namespace: p.metadata!.namespace });
          deleted++;
          if (isPodReady(p)) deletedReady++;
        } catch (e) {
          if (isNotFound(e)) deleted++;
          else errors.push(e as Error);
        }
      }));
      if (deleted !== active || !satisfied) finished = undefined; // pods or finalizers the cache has not shown yet
      active -= deleted;
      terminating += deleted;
      ready -= deletedReady;
      if (errors.length) throw new Error(`deleting active pods of job ${key}: ${errors.map((e) => e.message).join('; ')}`);
    } else {
      let managed = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        active = await manageJob(ops, key, job, {
          activePods, terminatingPods: mine.filter(isTerminating), succeeded, completed, failedIndexes, delayed, backoff, podBackoff, now,
        });
        managed = true;
      }
      const complete = completions === undefined ? succeeded > 0 && active === 0 : succeeded >= completions && active === 0;
      if (complete) {
        finished = newCondition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', nowStr);
      } else if (managed) {
        const cond = suspended
          ? newCondition('Suspended', 'JobSuspended', 'Job suspended', nowStr)
          : newCondition('Suspended', 'JobResumed', 'Job resumed', nowStr, 'False');
        if (ensureCondition(st, cond, nowStr)) {
          suspendChanged = true;
          recorder.event(job, 'Normal', suspended ? 'Suspended' : 'Resumed', suspended ? 'Job suspended' : 'Job resumed');
          // activeDeadlineSeconds counts time continuously active: a resumed Job starts its clock again.
          if (!suspended) st.startTime = nowStr;
        }
      }
    }

    st.active = active;
    st.ready = ready;
    st.terminating = terminating;
    const needsFlush = suspendChanged || active !== old.active || ready !== old.ready || terminating !== old.terminating || st.startTime !== old.startTime;
    await trackStatus(key, job, { mine, tracked, uncSucceeded, uncFailed, completed, failedIndexes, delayed, finished, terminating, needsFlush });
    backoffs.set(key, backoff);
  }

  interface Tracking {
    mine: Pod[];
    tracked: (p: Pod) => boolean;
    uncSucceeded: ReadonlySet<string>;
    uncFailed: ReadonlySet<string>;
    completed: number[];
    failedIndexes: number[] | undefined;
    delayed: ReadonlyMap<number, Pod>;
    finished: JobCondition | undefined;
    terminating: number;
    needsFlush: boolean;
  }

  /** Counts finished pods through uncountedTerminatedPods, releases their finalizers, and finishes the Job. */
  async function trackStatus(key: string, job: Job, t: Tracking): Promise<void> {
    const nowStr = rfc3339(Date.now());
    let st = job.status!;
    let needsFlush = t.needsFlush;
    const withFinalizer = new Set(t.mine.filter(t.tracked).map((p) => p.metadata!.uid!));
    if (countReleasedPods(st, withFinalizer)) needsFlush = true;
    const unc = st.uncountedTerminatedPods!;
    const toRelease: Pod[] = [];
    let reachedMax = false;
    const ordered = isIndexed(job) ? [...t.mine].sort((a, b) => (completionIndexOf(a) ?? -1) - (completionIndexOf(b) ?? -1)) : t.mine;
    const failing = t.finished !== undefined && t.finished.type !== 'SuccessCriteriaMet';
    const limit = job.spec?.completions ?? 0;
    for (const p of ordered) {
      if (!t.tracked(p)) continue;
      const uid = p.metadata!.uid!;
      const podFailed = isPodFailed(p, job);
      const phase = p.status?.phase;
      const settled = !!job.metadata?.deletionTimestamp || !!t.finished || phase === 'Succeeded';
      if (!settled && !podFailed) continue;
      // backoffLimitPerIndex: the index's last failed pod stays until its replacement carries its failure count.
      if (!settled && t.delayed.get(completionIndexOf(p) ?? -1)?.metadata?.uid === uid) continue;
      toRelease.push(p);
      if (phase === 'Succeeded' && !t.uncFailed.has(uid)) {
        // Indexed Jobs count by index (completedIndexes), not by UID.
        if (!isIndexed(job) && !t.uncSucceeded.has(uid)) {
          (unc.succeeded ??= []).push(uid);
          needsFlush = true;
        }
      } else if (podFailed || failing) {
        const ix = completionIndexOf(p);
        // A failure an Ignore rule of the podFailurePolicy matched is released without being counted.
        if (!t.uncFailed.has(uid) && (!isIndexed(job) || (ix !== undefined && ix < limit)) && countsAsFailure(job, p)) {
          (unc.failed ??= []).push(uid);
          needsFlush = true;
        }
      }
      if ((unc.succeeded?.length ?? 0) + (unc.failed?.length ?? 0) >= MAX_UNCOUNTED) {
        reachedMax = true;
        break;
      }
    }
    if (isIndexed(job)) {
      const s = formatIndexes(t.completed);
      if (s !== (st.completedIndexes ?? '')) needsFlush = true;
      st.completedIndexes = s;
      st.succeeded = t.completed.length;
      const failedIndexes = t.failedIndexes && formatIndexes(t.failedIndexes);
      if (failedIndexes !== st.failedIndexes) needsFlush = true;
      st.failedIndexes = failedIndexes;
    }
    // Interim conditions are written before finalizers go, so a crash cannot lose the verdict.
    let finished = t.finished;
    if (finished?.type === 'FailureTarget') {
      if (ensureCondition(st, finished, nowStr)) needsFlush = true;
      finished = newCondition('Failed', finished.reason ?? '', finished.message ?? '', nowStr);
    } else if (finished?.type === 'SuccessCriteriaMet') {
      if (!hasTrueCondition(job, 'SuccessCriteriaMet')) {
        ensureCondition(st, finished, nowStr);
        needsFlush = true;
      }
      finished = newCondition('Complete', finished.reason ?? '', finished.message ?? '', nowStr);
    }

    if (needsFlush) {
      job = await writeStatus(key, job);
      st = job.status ??= {};
      needsFlush = false;
    }
    const errors: Error[] = [];
    await Promise.all(toRelease.map(async (p) => {
      const uid = p.metadata!.uid!;
      expectations.expectFinalizerRemoved(key, uid);
      try {
        await releasePod(p);
        withFinalizer.delete(uid);
      } catch (e) {
        expectations.finalizerRemovalObserved(key, uid);
        errors.push(e as Error);
      }
    }));
    if (countReleasedPods(st, withFinalizer)) needsFlush = true;
    if (errors.length) {
      if (needsFlush) await writeStatus(key, job);
      throw new Error(`job ${key}: ${errors.map((e) => e.message).join('; ')}`);
    }
    let jobFinished = false;
    if (finished && !reachedMax && uncountedCount(st) === 0 && t.terminating === 0) {
      ensureCondition(st, finished, nowStr);
      if (finished.type === 'Complete') st.completionTime = finished.lastTransitionTime;
      jobFinished = true;
      needsFlush = true;
    }
    if (needsFlush) job = await writeStatus(key, job);
    if (jobFinished) recordFinished(recorder, job, finished!);
  }

  return {
    run: () => c.run(),
    async stop() {
      unregister();
      written.stop();
      await c.stop();
    },
  };
}

function recordFinished(recorder: EventRecorder, job: Job, cond: JobCondition): void {
  if (cond.type === 'Complete') recorder.event(job, 'Normal', 'Completed', 'Job completed');
  else recorder.event(job, 'Warning', cond.reason ?? 'Failed', cond.message ?? 'Job failed');
}
