import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Event, Pod } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound, R } from '../../src/client/index.ts';
import { definition as gc } from '../../src/controllers/garbage-collector.ts';
import { makeJobDefinition } from '../../src/controllers/job.ts';
import { formatIndexes, JOB_TRACKING_FINALIZER, parseIndexes } from '../../src/controllers/job-pods.ts';
import { definition as ttl } from '../../src/controllers/ttl-after-finished.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';
import { jobKubelet, type JobKubelet, jobManifest, type Outcome } from './job-helpers.ts';

const NS = 'jobs';

describe('completion index sets', () => {
  it('formats and parses intervals as status.completedIndexes does', () => {
    assert.equal(formatIndexes([4, 0, 1, 2, 7, 8]), '0-2,4,7,8');
    assert.equal(formatIndexes([]), '');
    assert.deepEqual(parseIndexes('0-2,4,7-8', 8), [0, 1, 2, 4, 7]);
  });
});

describe('job controller', () => {
  let h: Harness;
  let kubelet: JobKubelet;
  const outcomes = new Map<string, Outcome>(); // job name -> what its pods do

  before(async () => {
    // A short pod backoff keeps the failure test fast; the default is kube's 10 s.
    h = await startHarness([makeJobDefinition({ podBackoff: { baseMs: 200, maxMs: 1000 } }), ttl, gc]);
    await h.k(['create', 'namespace', NS]);
    kubelet = jobKubelet(h.client, NS, (p) => outcomes.get(p.metadata!.labels!['batch.kubernetes.io/job-name']) ?? 'Running');
  });
  after(async () => {
    await kubelet?.stop();
    await h?.stop();
    assert.deepEqual(kubelet?.errors ?? [], []);
  });

  const getJob = (name: string) => h.client.get<Job>(R.jobs, name, { namespace: NS });
  const podsOf = async (name: string) =>
    (await h.client.list<Pod>(R.pods, { namespace: NS, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
  const eventsOf = async (name: string) =>
    (await h.client.list<Event>(R.events, { namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items.map((e) => e.reason);
  const conditions = (j: Job) => Object.fromEntries((j.status?.conditions ?? []).map((c) => [c.type, c]));

  it('runs completions=5 with at most parallelism=2 pods at once, and kubectl wait sees it complete', async () => {
    outcomes.set('five', 'Succeeded');
    await h.client.create(R.jobs, jobManifest('five', NS, { completions: 5, parallelism: 2 }));
    const out = await h.k(['wait', '--for=condition=complete', 'job/five', '-n', NS, '--timeout=30s']);
    assert.match(out, /job.batch\/five condition met/);
    const j = await getJob('five');
    assert.equal(j.status?.succeeded, 5);
    assert.equal(j.status?.failed ?? 0, 0);
    assert.equal(j.status?.active ?? 0, 0);
    assert.ok(j.status?.startTime && j.status.completionTime);
    const c = conditions(j);
    assert.equal(c.SuccessCriteriaMet?.status, 'True');
    assert.equal(c.Complete?.status, 'True');
    assert.equal(c.Complete?.reason, 'CompletionsReached');
    assert.deepEqual(j.status?.uncountedTerminatedPods, {});
    assert.equal(kubelet.maxActive.get('five'), 2);
    const pods = await podsOf('five');
    assert.equal(pods.length, 5);
    for (const p of pods) {
      assert.equal(p.status?.phase, 'Succeeded');
      assert.ok(p.metadata?.name?.startsWith('five-'));
      assert.ok(!p.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER), 'counted pods lose the tracking finalizer');
      assert.deepEqual(p.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['Job', 'five', j.metadata!.uid, true]]);
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/controller-uid'], j.metadata!.uid);
    }
    await waitFor('Completed and SuccessfulCreate events', async () => {
      const reasons = await eventsOf('five');
      return reasons.includes('Completed') && reasons.includes('SuccessfulCreate');
    });
  });

  it('fails with BackoffLimitExceeded when more pods fail than backoffLimit allows', async () => {
    outcomes.set('flaky', 'Failed');
    await h.client.create(R.jobs, jobManifest('flaky', NS, { backoffLimit: 1 }));
    const out = await h.k(['wait', '--for=condition=failed', 'job/flaky', '-n', NS, '--timeout=30s']);
    assert.match(out, /condition met/);
    const j = await getJob('flaky');
    const c = conditions(j);
    assert.equal(c.Failed?.reason, 'BackoffLimitExceeded');
    assert.equal(c.FailureTarget?.reason, 'BackoffLimitExceeded');
    assert.equal(j.status?.failed, 2);
    assert.equal(j.status?.active ?? 0, 0);
    assert.equal(j.status?.completionTime, undefined);
    assert.equal((await podsOf('flaky')).length, 2, 'one pod, then one replacement');
    await waitFor('BackoffLimitExceeded event', async () => (await eventsOf('flaky')).includes('BackoffLimitExceeded'));
  });

  it('completes an Indexed job with one pod per index', async () => {
    outcomes.set('indexed', 'Succeeded');
    await h.client.create(R.jobs, jobManifest('indexed', NS, { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    await h.k(['wait', '--for=condition=complete', 'job/indexed', '-n', NS, '--timeout=30s']);
    const j = await getJob('indexed');
    assert.equal(j.status?.completedIndexes, '0-2');
    assert.equal(j.status?.succeeded, 3);
    const pods = await podsOf('indexed');
    const byIndex = pods.map((p) => [p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'], p.spec?.hostname]).sort();
    assert.deepEqual(byIndex, [['0', 'indexed-0'], ['1', 'indexed-1'], ['2', 'indexed-2']]);
    for (const p of pods) {
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']);
      assert.ok(p.spec?.containers[0].env?.some((e) => e.name === 'JOB_COMPLETION_INDEX'));
    }
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds and stops its pods', async () => {
    outcomes.set('slow', 'Running');
    await h.client.create(R.jobs, jobManifest('slow', NS, { parallelism: 2, completions: 4, activeDeadlineSeconds: 2 }));
    await waitFor('2 running pods', async () => (await podsOf('slow')).filter((p) => p.status?.phase === 'Running').length === 2);
    await h.k(['wait', '--for=condition=failed', 'job/slow', '-n', NS, '--timeout=20s']);
    const j = await getJob('slow');
    assert.equal(conditions(j).Failed?.reason, 'DeadlineExceeded');
    assert.equal(j.status?.active ?? 0, 0);
    assert.equal(j.status?.failed, 2, 'the stopped pods count as failed');
    await waitFor('the running pods are gone', async () => (await podsOf('slow')).length === 0);
  });

  it('suspends: deletes active pods, and resumes', async () => {
    outcomes.set('pausable', 'Running');
    await h.client.create(R.jobs, jobManifest('pausable', NS, { parallelism: 1, completions: 1 }));
    await waitFor('a running pod', async () => (await podsOf('pausable')).some((p) => p.status?.phase === 'Running'));
    await h.k(['patch', 'job/pausable', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await waitFor('Suspended=True and no pods', async () => {
      const j = await getJob('pausable');
      return conditions(j).Suspended?.status === 'True' && (j.status?.active ?? 0) === 0 && (await podsOf('pausable')).length === 0;
    });
    assert.equal((await getJob('pausable')).status?.failed ?? 0, 0, 'suspending does not count failures');
    outcomes.set('pausable', 'Succeeded');
    await h.k(['patch', 'job/pausable', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await h.k(['wait', '--for=condition=complete', 'job/pausable', '-n', NS, '--timeout=20s']);
    assert.equal(conditions(await getJob('pausable')).Suspended?.status, 'False');
  });

  it('deletes a finished job ttlSecondsAfterFinished after it finished', async () => {
    outcomes.set('shortlived', 'Succeeded');
    await h.client.create(R.jobs, jobManifest('shortlived', NS, { ttlSecondsAfterFinished: 1 }));
    await h.k(['wait', '--for=condition=complete', 'job/shortlived', '-n', NS, '--timeout=20s']);
    await waitFor('the job and its pod to be deleted', async () => {
      const gone = await getJob('shortlived').then(() => false, (e) => isNotFound(e));
      return gone && (await podsOf('shortlived')).length === 0;
    }, 15_000);
  });
});
