import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Event } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/index.ts';
import {
  atOrBefore, type CronFields, formatInZone, mostRecentScheduleTime, nextAfter, parseSchedule,
} from '../../src/controllers/cron-schedule.ts';
import { type Clock, jobNameFor, makeCronJobDefinition, SCHEDULED_TIMESTAMP_ANNOTATION } from '../../src/controllers/cronjob.ts';
import { makeJobDefinition } from '../../src/controllers/job.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';
import { jobKubelet, type JobKubelet, type Outcome } from './job-helpers.ts';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('cron schedule math', () => {
  it('steps through standard fields and descriptors', () => {
    const every = parseSchedule('*/1 * * * *');
    assert.equal(iso(nextAfter(every, t('2024-03-01T10:00:00Z'))), '2024-03-01T10:01:00.000Z');
    assert.equal(iso(nextAfter(every, t('2024-03-01T10:00:30Z'))), '2024-03-01T10:01:00.000Z');
    assert.equal(iso(nextAfter(parseSchedule('@hourly'), t('2024-03-01T10:00:00Z'))), '2024-03-01T11:00:00.000Z');
    assert.equal(iso(nextAfter(parseSchedule('@daily'), t('2024-12-31T23:59:00Z'))), '2025-01-01T00:00:00.000Z');
    assert.equal(iso(nextAfter(parseSchedule('@yearly'), t('2024-06-01T00:00:00Z'))), '2025-01-01T00:00:00.000Z');
    assert.equal(iso(nextAfter(parseSchedule('15 9-17/4 * JAN-mar mon-fri'), t('2024-03-29T17:15:00Z'))), '2025-01-01T09:15:00.000Z');
    // Feb 29 only in leap years.
    assert.equal(iso(nextAfter(parseSchedule('0 0 29 2 *'), t('2024-03-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
    assert.equal(nextAfter(parseSchedule('0 0 30 2 *'), t('2024-03-01T00:00:00Z')), undefined);
  });

  it('ORs day-of-month and day-of-week unless one starts with *', () => {
    // 2024-04-01 is a Monday; "1st of the month or a Friday".
    const or = parseSchedule('0 0 1 * 5');
    assert.equal(iso(nextAfter(or, t('2024-04-01T00:00:00Z'))), '2024-04-05T00:00:00.000Z');
    assert.equal(iso(nextAfter(or, t('2024-04-26T00:00:00Z'))), '2024-05-01T00:00:00.000Z');
    const and = parseSchedule('0 0 */1 * 5'); // star: every Friday only
    assert.equal(iso(nextAfter(and, t('2024-04-05T00:00:00Z'))), '2024-04-12T00:00:00.000Z');
  });

  it('uses spec.timeZone or CRON_TZ, across DST changes', () => {
    const ny = parseSchedule('30 2 * * *', 'America/New_York');
    assert.equal(iso(nextAfter(ny, t('2024-01-10T12:00:00Z'))), '2024-01-11T07:30:00.000Z'); // EST
    assert.equal(iso(nextAfter(ny, t('2024-07-10T12:00:00Z'))), '2024-07-11T06:30:00.000Z'); // EDT
    // 2024-03-10 02:30 does not exist in New York: it runs at 03:30 EDT.
    assert.equal(iso(nextAfter(ny, t('2024-03-09T12:00:00Z'))), '2024-03-10T07:30:00.000Z');
    const tokyo = parseSchedule('CRON_TZ=Asia/Tokyo 0 9 * * *');
    assert.equal(iso(nextAfter(tokyo, t('2024-05-01T00:30:00Z'))), '2024-05-02T00:00:00.000Z');
    assert.equal(formatInZone(t('2024-05-02T00:00:00Z'), 'Asia/Tokyo'), '2024-05-02T09:00:00+09:00');
    assert.equal(formatInZone(t('2024-05-02T00:00:00Z'), 'UTC'), '2024-05-02T00:00:00Z');
    assert.throws(() => parseSchedule('0 0 * *'), /expected exactly 5 fields/);
  });

  it('finds only the most recent missed time and counts the misses', () => {
    const s = parseSchedule('*/5 * * * *');
    assert.deepEqual(mostRecentScheduleTime(s, t('2024-03-01T10:00:00Z'), t('2024-03-01T10:17:00Z')), { time: t('2024-03-01T10:15:00Z'), missed: 3 });
    assert.deepEqual(mostRecentScheduleTime(s, t('2024-03-01T10:00:00Z'), t('2024-03-01T10:04:59Z')), { time: undefined, missed: 0 });
    assert.equal(mostRecentScheduleTime(s, t('2024-01-01T00:00:00Z'), t('2024-03-01T10:17:00Z')).missed, 101);
    assert.equal(iso(atOrBefore(s as CronFields, t('2024-03-01T10:15:00Z'))), '2024-03-01T10:15:00.000Z');
    assert.equal(jobNameFor('backup', t('2024-03-01T10:15:00Z')), 'backup-28488135');
  });
});

class FakeClock implements Clock {
  private t: number;
  private readonly listeners = new Set<() => void>();
  constructor(t: number) {
    this.t = t;
  }
  now(): number {
    return this.t;
  }
  onJump(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  set(t: number): void {
    this.t = t;
    for (const fn of this.listeners) fn();
  }
}

const NS = 'crons';
const MIN = 60_000;

describe('cronjob controller', () => {
  let h: Harness;
  let kubelet: JobKubelet;
  // The fake clock starts at the real time, so creationTimestamps make sense; tests move it forward.
  const clock = new FakeClock(Date.now());
  const outcomes = new Map<string, Outcome>(); // cronjob name -> what its jobs' pods do

  before(async () => {
    h = await startHarness([makeCronJobDefinition({ clock }), makeJobDefinition()]);
    await h.k(['create', 'namespace', NS]);
    kubelet = jobKubelet(h.client, NS, (p) => outcomes.get(p.metadata!.labels!['batch.kubernetes.io/job-name'].replace(/-\d+$/, '')) ?? 'Running', 50);
  });
  after(async () => {
    await kubelet?.stop();
    await h?.stop();
  });

  const cronJob = (name: string, spec: Partial<NonNullable<CronJob['spec']>>): CronJob => ({
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: NS },
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: {
        metadata: { labels: { app: name } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  });
  const jobsOf = async (name: string) =>
    (await h.client.list<Job>(R.jobs, { namespace: NS, labelSelector: `app=${name}` })).items.filter((j) => !j.metadata?.deletionTimestamp)
      .map((j) => j.metadata!.name!).sort();
  const getCJ = (name: string) => h.client.get<CronJob>(R.cronjobs, name, { namespace: NS });
  const reasons = async (name: string) =>
    (await h.client.list<Event>(R.events, { namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items.map((e) => e.reason);
  /**
   * Back to real time before a test creates its CronJob: otherwise the clock, moved
   * ahead by earlier tests, would be minutes past the new CronJob's creationTimestamp
   * and the controller would rightly run the most recent missed time at once.
   * (The CronJobs of earlier tests are suspended, so time going back is harmless.)
   */
  const resetClock = () => clock.set(Date.now());
  /** Creates a CronJob; returns its creationTimestamp (ms): no run is due before the minute after it. */
  const create = async (cj: CronJob) => Date.parse((await h.client.create(R.cronjobs, cj)).metadata!.creationTimestamp!);
  /** Moves the clock to 1 s past the next minute (after notBefore too) and returns that minute. */
  const nextMinute = (notBefore = 0) => {
    const m = Math.floor(Math.max(clock.now(), notBefore) / MIN) * MIN + MIN;
    clock.set(m + 1000);
    return m;
  };

  it('creates a Job at each scheduled minute and tracks it in status', async () => {
    outcomes.set('tick', 'Succeeded');
    resetClock();
    const created = await h.client.create(R.cronjobs, cronJob('tick', {}));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await jobsOf('tick'), [], 'nothing is due before the next minute');
    // Real time may have crossed a minute since the clock was set: the first run is the minute after creation.
    const m1 = nextMinute(Date.parse(created.metadata!.creationTimestamp!));
    const name1 = jobNameFor('tick', m1);
    await waitFor('the first job', async () => (await jobsOf('tick')).includes(name1));
    const job = await h.client.get<Job>(R.jobs, name1, { namespace: NS });
    assert.equal(job.metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION], new Date(m1).toISOString().replace('.000Z', 'Z'));
    assert.equal(job.metadata?.ownerReferences?.[0].kind, 'CronJob');
    assert.equal(job.metadata?.ownerReferences?.[0].controller, true);
    await h.k(['wait', '--for=condition=complete', `job/${name1}`, '-n', NS, '--timeout=20s']);
    await waitFor('status with lastSuccessfulTime and no active job', async () => {
      const cj = await getCJ('tick');
      return cj.status?.lastScheduleTime === new Date(m1).toISOString().replace('.000Z', 'Z') && !!cj.status.lastSuccessfulTime && !cj.status.active;
    });
    const m2 = nextMinute();
    await waitFor('the second job', async () => (await jobsOf('tick')).includes(jobNameFor('tick', m2)));
    assert.ok((await reasons('tick')).includes('SuccessfulCreate'));
    await h.k(['patch', 'cronjob/tick', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  });

  it('runs only the most recent of several missed times', async () => {
    outcomes.set('catchup', 'Succeeded');
    resetClock();
    const created = await create(cronJob('catchup', {}));
    const latest = Math.floor(Math.max(clock.now(), created) / MIN) * MIN + 5 * MIN;
    clock.set(latest + 1000); // five scheduled minutes passed while nobody looked
    await waitFor('a job', async () => (await jobsOf('catchup')).length > 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await jobsOf('catchup'), [jobNameFor('catchup', latest)]);
    await h.k(['patch', 'cronjob/catchup', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  });

  it('Forbid skips a run while the previous Job is active', async () => {
    outcomes.set('forbid', 'Running');
    resetClock();
    const m1 = nextMinute(await create(cronJob('forbid', { concurrencyPolicy: 'Forbid' })));
    await waitFor('the first job is active', async () => (await getCJ('forbid')).status?.active?.[0]?.name === jobNameFor('forbid', m1));
    nextMinute();
    await waitFor('JobAlreadyActive', async () => (await reasons('forbid')).includes('JobAlreadyActive'));
    assert.deepEqual(await jobsOf('forbid'), [jobNameFor('forbid', m1)]);
    await h.k(['patch', 'cronjob/forbid', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  });

  it('Replace deletes the running Job and starts the new one', async () => {
    outcomes.set('replace', 'Running');
    resetClock();
    const m1 = nextMinute(await create(cronJob('replace', { concurrencyPolicy: 'Replace' })));
    await waitFor('the first job', async () => (await jobsOf('replace')).includes(jobNameFor('replace', m1)));
    const m2 = nextMinute();
    await waitFor('only the second job', async () => {
      const names = await jobsOf('replace');
      return names.length === 1 && names[0] === jobNameFor('replace', m2);
    });
    await waitFor('status.active names the new job', async () => {
      const active = (await getCJ('replace')).status?.active ?? [];
      return active.length === 1 && active[0].name === jobNameFor('replace', m2);
    });
    await h.k(['patch', 'cronjob/replace', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  });

  it('keeps only successfulJobsHistoryLimit finished Jobs', async () => {
    outcomes.set('history', 'Succeeded');
    resetClock();
    const created = await create(cronJob('history', { successfulJobsHistoryLimit: 1 }));
    let last = 0;
    for (let i = 0; i < 3; i++) {
      last = nextMinute(created);
      const name = jobNameFor('history', last);
      await waitFor(`job ${name} completes`, async () => {
        const j = await h.client.get<Job>(R.jobs, name, { namespace: NS }).catch(() => undefined);
        return j?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
      });
    }
    await waitFor('only the newest finished job is kept', async () => {
      const names = await jobsOf('history');
      return names.length === 1 && names[0] === jobNameFor('history', last);
    });
    await h.k(['patch', 'cronjob/history', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  });

  it('does not start a run whose startingDeadlineSeconds has passed, nor while suspended', async () => {
    resetClock();
    const created = await create(cronJob('late', { startingDeadlineSeconds: 10 }));
    await create(cronJob('paused', { suspend: true }));
    const m = Math.floor(Math.max(clock.now(), created) / MIN) * MIN + MIN;
    clock.set(m + 30_000); // the controller first looks 30 s after the scheduled minute: too late for a 10 s deadline
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await jobsOf('late'), []);
    assert.deepEqual(await jobsOf('paused'), []);
    assert.equal((await getCJ('late')).status?.lastScheduleTime, undefined);
  });
});
