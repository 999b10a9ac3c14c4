// The CronJob controller: creates a Job from spec.jobTemplate at each scheduled
// time, named <cronjob>-<scheduled time in minutes since the epoch>, honouring
// concurrencyPolicy, suspend and startingDeadlineSeconds; keeps status.active,
// lastScheduleTime and lastSuccessfulTime; deletes finished Jobs beyond the
// history limits. Missed times are not replayed: only the most recent one runs.
// https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/
//
// Each CronJob is requeued for its next scheduled time (no polling). The clock is
// injectable (makeCronJobDefinition({ clock })) so tests can move time.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.d.ts';
import type { ObjectReference } from 'kubernetes-types/core/v1.d.ts';
import { isKnownTimeZone } from '../api/validation/cron.ts';
import { Controller, controllerOf } from '../client/controller.ts';
import { isAlreadyExists, isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { type CronSchedule, formatInZone, mostRecentScheduleTime, nextAfter, parseSchedule } from './cron-schedule.ts';
import { finishedCondition } from './job-status.ts';
import { WrittenObjects } from '../client/written-objects.ts';
import { cloneJson } from '../api/json-clone.ts';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
export const JOBS_BY_CRONJOB_INDEX = 'cronjob-controller:cronjob-key';

/** Time as the controller sees it. onJump lets a test clock say "time moved: look again". */
export interface Clock {
  now(): number;
  onJump?(listener: () => void): () => void;
}

export const realClock: Clock = { now: () => Date.now() };

export interface CronJobControllerOptions {
  clock?: Clock;
  workers?: number;
}

export function makeCronJobDefinition(opts: CronJobControllerOptions = {}): ControllerDefinition {
  return { name: 'cronjob', start: (ctx) => startCronJobController(ctx, opts) };
}

export const definition: ControllerDefinition = makeCronJobDefinition();

/** The name of the Job for a scheduled time (so a time is never run twice). */
export function jobNameFor(cronJobName: string, scheduled: number): string {
  return `${cronJobName}-${Math.floor(scheduled / 60_000)}`;
}

function cronJobKeyOfJob(job: Job): string | undefined {
  const owner = controllerOf(job);
  if (!owner || owner.kind !== 'CronJob' || !job.metadata?.namespace) return undefined;
  return `${job.metadata.namespace}/${owner.name}`;
}

const indexed = new WeakSet<SharedInformer<Job>>();

function startCronJobController(ctx: ControllerContext, opts: CronJobControllerOptions): RunningController {
  const clock = opts.clock ?? realClock;
  const cronjobs = ctx.informers.informerFor<CronJob>(R.cronjobs);
  const jobs = ctx.informers.informerFor<Job>(R.jobs);
  if (!indexed.has(jobs)) {
    jobs.addIndexer(JOBS_BY_CRONJOB_INDEX, (j) => {
      const k = cronJobKeyOfJob(j);
      return k ? [k] : [];
    });
    indexed.add(jobs);
  }
  const recorder = ctx.recorder('cronjob-controller');
  const c = new Controller('cronjob', [cronjobs], (key) => sync(key), opts.workers ?? 5, { log: ctx.log });
  c.watch(jobs, (j) => {
    const k = cronJobKeyOfJob(j as Job);
    return k ? [k] : [];
  });
  const written = new WrittenObjects(cronjobs);
  const offJump = clock.onJump?.(() => {
    for (const k of cronjobs.keys()) c.enqueue(k);
  });

  async function sync(key: string): Promise<void> {
    const cached = written.get(key);
    if (!cached) return;
    const cj = cloneJson(cached) as CronJob;
    const uid = cj.metadata!.uid;
    const children = jobs.byIndex(JOBS_BY_CRONJOB_INDEX, key).filter((j) => controllerOf(j)?.uid === uid);
    const st = (cj.status ??= {});
    let changed = await reconcileActive(cj, children);
    const spec = cj.spec!;
    let sched: CronSchedule | undefined;
    if (!cj.metadata?.deletionTimestamp) {
      if (spec.timeZone && !isKnownTimeZone(spec.timeZone)) {
        recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${spec.timeZone}": unknown time zone ${spec.timeZone}`);
      } else {
        try {
          sched = parseSchedule(spec.schedule, spec.timeZone);
        } catch (e) {
          recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: "${spec.schedule}" : ${(e as Error).message}`);
        }
      }
      if (sched && spec.suspend !== true && (await runIfDue(cj, sched))) changed = true;
      if (await cleanupHistory(cj, children)) changed = true;
    }
    if (changed) {
      st.active = st.active?.length ? st.active : undefined;
      await written.write(key, () => ctx.client.updateStatus<CronJob>(R.cronjobs, cj));
    }
    if (sched && spec.suspend !== true) {
      const now = clock.now();
      const next = nextAfter(sched, now);
      if (next !== undefined) c.enqueueAfter(key, next - now + 100);
    }
  }

  /** Brings status.active and lastSuccessfulTime in line with the CronJob's Jobs. */
  async function reconcileActive(cj: CronJob, children: Job[]): Promise<boolean> {
    const st = cj.status!;
    let changed = false;
    const active = (st.active ??= []);
    const childUids = new Set(children.map((j) => j.metadata!.uid));
    for (const j of children) {
      const i = active.findIndex((r) => r.uid === j.metadata!.uid);
      const fin = finishedCondition(j);
      if (i < 0 && !fin && !j.metadata?.deletionTimestamp) {
        // Ours but not listed: created just before a failed status write, or by someone else.
        if (!j.metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]) {
          recorder.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata!.name}`);
        }
        active.push(refTo(j));
        changed = true;
      } else if (i >= 0 && fin) {
        active.splice(i, 1);
        recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata!.name}, condition: ${fin.type}`);
        changed = true;
      }
      const done = fin?.type === 'Complete' ? j.status?.completionTime : undefined;
      if (done && (!st.lastSuccessfulTime || Date.parse(done) > Date.parse(st.lastSuccessfulTime))) {
        st.lastSuccessfulTime = done;
        changed = true;
      }
    }
    // Listed but not in the cache: the cache may just lag, so ask the API server.
    for (const ref of [...active]) {
      if (childUids.has(ref.uid)) continue;
      const live = await ctx.client.get<Job>(R.jobs, ref.name!, { namespace: cj.metadata!.namespace }).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (!live || live.metadata?.uid !== ref.uid) {
        active.splice(active.indexOf(ref), 1);
        recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
        changed = true;
      }
    }
    return changed;
  }

  /** Creates the Job for the most recent scheduled time if it has not run yet. Returns whether status changed. */
  async function runIfDue(cj: CronJob, sched: CronSchedule): Promise<boolean> {
    const spec = cj.spec!;
    const st = cj.status!;
    const now = clock.now();
    let earliest = Date.parse(st.lastScheduleTime ?? cj.metadata!.creationTimestamp!);
    const deadline = spec.startingDeadlineSeconds ?? undefined;
    if (deadline !== undefined) earliest = Math.max(earliest, now - deadline * 1000);
    const { time: scheduled, missed } = mostRecentScheduleTime(sched, earliest, now);
    if (missed > 100) {
      recorder.event(cj, 'Warning', 'TooManyMissedTimes',
        `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    }
    if (scheduled === undefined) return false;
    if (deadline !== undefined && scheduled + deadline * 1000 < now) {
      recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString()}`);
      return false;
    }
    const name = jobNameFor(cj.metadata!.name!, scheduled);
    const active = st.active!;
    if (active.some((r) => r.name === name) || (st.lastScheduleTime && Date.parse(st.lastScheduleTime) === scheduled)) return false;
    if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
      // The time stays unrun: it starts once the running Job finishes, if it is still the latest and in its deadline.
      recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return false;
    }
    let changed = false;
    if (spec.concurrencyPolicy === 'Replace') {
      for (const ref of [...active]) {
        await deleteJob(cj, ref.name!, recorder);
        active.splice(active.indexOf(ref), 1);
        changed = true;
      }
    }
    let job: Job;
    try {
      job = await ctx.client.create<Job>(R.jobs, jobFromTemplate(cj, scheduled, sched.timeZone));
      recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(e as Error).message}`);
        throw e;
      }
      // Created by an earlier sync whose status write was lost: take it as this time's run if it is ours.
      job = await ctx.client.get<Job>(R.jobs, name, { namespace: cj.metadata!.namespace });
      if (controllerOf(job)?.uid !== cj.metadata!.uid) {
        recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: job ${name} already exists and is not owned by this CronJob`);
        return changed;
      }
    }
    if (!finishedCondition(job) && !active.some((r) => r.uid === job.metadata!.uid)) active.push(refTo(job));
    st.lastScheduleTime = formatInZone(scheduled, 'UTC');
    return true;
  }

  /** Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit. */
  async function cleanupHistory(cj: CronJob, children: Job[]): Promise<boolean> {
    const spec = cj.spec!;
    const live = children.filter((j) => !j.metadata?.deletionTimestamp);
    const byAge = (a: Job, b: Job) => startOf(a) - startOf(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1);
    const excess = (type: 'Complete' | 'Failed', limit: number | undefined) => {
      if (limit === undefined || limit === null) return [];
      const done = live.filter((j) => finishedCondition(j)?.type === type).sort(byAge);
      return done.slice(0, Math.max(0, done.length - limit));
    };
    const doomed = [...excess('Complete', spec.successfulJobsHistoryLimit), ...excess('Failed', spec.failedJobsHistoryLimit)];
    for (const j of doomed) await deleteJob(cj, j.metadata!.name!, recorder);
    const st = cj.status!;
    const before = st.active?.length ?? 0;
    st.active = (st.active ?? []).filter((r) => !doomed.some((j) => j.metadata!.uid === r.uid));
    return st.active.length !== before;
  }

  async function deleteJob(cj: CronJob, name: string, rec: EventRecorder): Promise<void> {
    try {
      await ctx.client.delete(R.jobs, name, { namespace: cj.metadata!.namespace, propagationPolicy: 'Background' });
    } catch (e) {
      if (isNotFound(e)) return;
      rec.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(e as Error).message}`);
      throw e;
    }
    rec.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
  }

  return {
    run: () => c.run(),
    async stop() {
      offJump?.();
      written.stop();
      await c.stop();
    },
  };
}

function startOf(j: Job): number {
  return Date.parse(j.status?.startTime ?? j.metadata?.creationTimestamp ?? '') || 0;
}

function refTo(j: Job): ObjectReference {
  return {
    apiVersion: 'batch/v1', kind: 'Job', name: j.metadata!.name, namespace: j.metadata!.namespace,
    uid: j.metadata!.uid, resourceVersion: j.metadata!.resourceVersion,
  };
}

/** The Job a CronJob runs at `scheduled` (getJobFromTemplate2). */
export function jobFromTemplate(cj: CronJob, scheduled: number, timeZone: string): Job {
  const t = cj.spec!.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj.metadata!.name!, scheduled),
      namespace: cj.metadata!.namespace,
      labels: { ...(t.metadata?.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(scheduled, timeZone) },
      ownerReferences: [{
        apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true, blockOwnerDeletion: true,
      }],
    },
    spec: cloneJson(t.spec),
  };
}
