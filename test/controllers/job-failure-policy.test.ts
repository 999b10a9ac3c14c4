// Job failure handling of Kubernetes 1.32: podFailurePolicy (FailJob, Ignore,
// Count, FailIndex), backoffLimitPerIndex / maxFailedIndexes, successPolicy and
// podReplacementPolicy, checked as `kubectl get job -o yaml` shows the Job.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Event, Pod } from 'kubernetes-types/core/v1.d.ts';
import YAML from 'yaml';
import { R } from '../../src/client/index.ts';
import { makeJobDefinition } from '../../src/controllers/job.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';
import { jobKubelet, type JobKubelet, jobManifest, type Outcome } from './job-helpers.ts';

const NS = 'failure-policy';
const INDEX = 'batch.kubernetes.io/job-completion-index';
const FAILURE_COUNT = 'batch.kubernetes.io/job-index-failure-count';

describe('job failure policies', () => {
  let h: Harness;
  let kubelet: JobKubelet;
  // job name -> what each of its pods does (the pod's index and the job's attempt number, from 0)
  const outcomes = new Map<string, (pod: Pod, attempt: number) => Outcome>();
  const attempts = new Map<string, number>();

  before(async () => {
    h = await startHarness([makeJobDefinition({ podBackoff: { baseMs: 200, maxMs: 1000 } })]);
    await h.k(['create', 'namespace', NS]);
    kubelet = jobKubelet(h.client, NS, (p) => {
      const job = p.metadata!.labels!['batch.kubernetes.io/job-name'];
      const n = attempts.get(job) ?? 0;
      attempts.set(job, n + 1);
      return outcomes.get(job)?.(p, n) ?? 'Running';
    });
  });
  after(async () => {
    await kubelet?.stop();
    await h?.stop();
    assert.deepEqual(kubelet?.errors ?? [], []);
  });

  /** The Job as `kubectl get job -o yaml` prints it. */
  const kubectlJob = async (name: string): Promise<Job> => YAML.parse(await h.k(['get', 'job', name, '-n', NS, '-o', 'yaml'])) as Job;
  const cond = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type);
  const podsOf = async (name: string) =>
    (await h.client.list<Pod>(R.pods, { namespace: NS, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
  const indexOf = (p: Pod) => Number(p.metadata!.annotations![INDEX]);
  const waitFailed = (name: string) => h.k(['wait', '--for=condition=failed', `job/${name}`, '-n', NS, '--timeout=40s'], { timeoutMs: 45_000 });
  const waitComplete = (name: string) => h.k(['wait', '--for=condition=complete', `job/${name}`, '-n', NS, '--timeout=40s'], { timeoutMs: 45_000 });

  it('FailJob: an exit code a rule names fails the Job at once with reason PodFailurePolicy', async () => {
    outcomes.set('exit42', () => ({ exitCode: 42 }));
    await h.client.create(R.jobs, jobManifest('exit42', NS, {
      backoffLimit: 6,
      podFailurePolicy: { rules: [
        { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
        { action: 'FailJob', onExitCodes: { containerName: 'work', operator: 'In', values: [42, 43] } },
      ] },
    }));
    await waitFailed('exit42');
    const j = await kubectlJob('exit42');
    const pods = await podsOf('exit42');
    assert.equal(pods.length, 1, 'no replacement pod for a FailJob failure');
    const message = `Container work for pod ${NS}/${pods[0].metadata!.name} failed with exit code 42 matching FailJob rule at index 1`;
    assert.deepEqual([cond(j, 'FailureTarget')?.status, cond(j, 'FailureTarget')?.reason, cond(j, 'FailureTarget')?.message], ['True', 'PodFailurePolicy', message]);
    assert.deepEqual([cond(j, 'Failed')?.status, cond(j, 'Failed')?.reason, cond(j, 'Failed')?.message], ['True', 'PodFailurePolicy', message]);
    assert.equal(j.status?.failed, 1);
    assert.equal(j.status?.active ?? 0, 0);
    assert.equal(j.spec?.podReplacementPolicy, 'Failed', 'a podFailurePolicy defaults podReplacementPolicy to Failed');
    await waitFor('the PodFailurePolicy Warning event', async () => {
      const events = (await h.client.list<Event>(R.events, { namespace: NS, fieldSelector: 'involvedObject.name=exit42' })).items;
      return events.some((e) => e.reason === 'PodFailurePolicy' && e.type === 'Warning' && e.message === message);
    });
  });

  it('Ignore: failures a rule ignores do not count toward backoffLimit and the pod is replaced', async () => {
    // Two ignored failures (an exit code, then a DisruptionTarget condition), then success, with backoffLimit 0.
    outcomes.set('ignored', (_p, n) => n === 0 ? { exitCode: 3 }
      : n === 1 ? { exitCode: 137, conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI' }] }
      : 'Succeeded');
    await h.client.create(R.jobs, jobManifest('ignored', NS, {
      backoffLimit: 0,
      podFailurePolicy: { rules: [
        { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' } as { type: string; status: string }] },
      ] },
    }));
    await waitComplete('ignored');
    const j = await kubectlJob('ignored');
    assert.equal(j.status?.failed ?? 0, 0, 'ignored failures are not counted');
    assert.equal(j.status?.succeeded, 1);
    assert.equal(cond(j, 'Complete')?.status, 'True');
    assert.equal(j.spec?.podFailurePolicy?.rules[1].onPodConditions?.[0].status, 'True', 'a pattern status defaults to True');
    assert.equal(attempts.get('ignored'), 3, 'each ignored failure was replaced');
  });

  it('Count: a matching Count rule (or no match) counts toward backoffLimit as without a policy', async () => {
    outcomes.set('counted', () => ({ exitCode: 1 }));
    await h.client.create(R.jobs, jobManifest('counted', NS, {
      backoffLimit: 1,
      podFailurePolicy: { rules: [
        { action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } },
        { action: 'Count', onExitCodes: { operator: 'NotIn', values: [42] } },
      ] },
    }));
    await waitFailed('counted');
    const j = await kubectlJob('counted');
    assert.equal(cond(j, 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(cond(j, 'Failed')?.message, 'Job has reached the specified backoff limit');
    assert.equal(j.status?.failed, 2);
    assert.equal((await podsOf('counted')).length, 2);
  });

  it('backoffLimitPerIndex: an index that fails more often than allowed fails alone; the Job fails with FailedIndexes', async () => {
    outcomes.set('perindex', (p) => indexOf(p) === 1 ? 'Failed' : 'Succeeded');
    await h.client.create(R.jobs, jobManifest('perindex', NS, {
      completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimitPerIndex: 1,
    }));
    await waitFailed('perindex');
    const j = await kubectlJob('perindex');
    assert.equal(j.spec?.backoffLimit, 2147483647, 'backoffLimit defaults to MaxInt32 with backoffLimitPerIndex');
    assert.equal(cond(j, 'FailureTarget')?.reason, 'FailedIndexes');
    assert.deepEqual([cond(j, 'Failed')?.reason, cond(j, 'Failed')?.message], ['FailedIndexes', 'Job has failed indexes']);
    assert.equal(j.status?.failedIndexes, '1');
    assert.equal(j.status?.completedIndexes, '0,2');
    assert.equal(j.status?.succeeded, 2);
    assert.equal(j.status?.failed, 2, 'index 1 ran twice (backoffLimitPerIndex 1)');
    const index1 = (await podsOf('perindex')).filter((p) => indexOf(p) === 1);
    assert.deepEqual(index1.map((p) => p.metadata!.annotations![FAILURE_COUNT]).sort(), ['0', '1']);
  });

  it('maxFailedIndexes: more failed indexes than allowed fail the Job and stop the other pods', async () => {
    outcomes.set('maxfailed', (p) => indexOf(p) < 2 ? { exitCode: 2 } : 'Running');
    await h.client.create(R.jobs, jobManifest('maxfailed', NS, {
      completionMode: 'Indexed', completions: 4, parallelism: 4, backoffLimitPerIndex: 0, maxFailedIndexes: 1,
    }));
    await waitFailed('maxfailed');
    const j = await kubectlJob('maxfailed');
    assert.deepEqual([cond(j, 'Failed')?.reason, cond(j, 'Failed')?.message],
      ['MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes']);
    assert.equal(j.status?.failedIndexes, '0,1');
    assert.equal(j.status?.active ?? 0, 0);
    assert.equal(j.status?.terminating ?? 0, 0);
    assert.equal(j.status?.failed, 4, 'the two failed pods and the two stopped ones');
  });

  it('FailIndex: a FailIndex rule fails the index without retrying it', async () => {
    outcomes.set('failindex', (p) => indexOf(p) === 0 ? { exitCode: 42 } : 'Succeeded');
    await h.client.create(R.jobs, jobManifest('failindex', NS, {
      completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimitPerIndex: 5,
      podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }] },
    }));
    await waitFailed('failindex');
    const j = await kubectlJob('failindex');
    assert.equal(cond(j, 'Failed')?.reason, 'FailedIndexes');
    assert.equal(j.status?.failedIndexes, '0');
    assert.equal(j.status?.completedIndexes, '1');
    assert.equal((await podsOf('failindex')).filter((p) => indexOf(p) === 0).length, 1, 'index 0 was not retried');
  });

  it('a running Job with backoffLimitPerIndex settles: status.failedIndexes is "" and the status is not rewritten', async () => {
    outcomes.set('steady', () => 'Running');
    await h.client.create(R.jobs, jobManifest('steady', NS, { completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimitPerIndex: 1 }));
    const j = await waitFor('2 ready pods', async () => {
      const job = await kubectlJob('steady');
      return job.status?.ready === 2 ? job : undefined;
    });
    assert.equal(j.status?.failedIndexes, '');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await kubectlJob('steady')).metadata?.resourceVersion, j.metadata?.resourceVersion);
    for (const p of await podsOf('steady')) assert.equal(p.metadata!.annotations![FAILURE_COUNT], '0');
    await h.k(['delete', 'job', 'steady', '-n', NS, '--wait=false']);
  });

  it('successPolicy: the Job completes once the named indexes succeeded, and its other pods stop', async () => {
    outcomes.set('leader', (p) => indexOf(p) === 0 ? 'Succeeded' : 'Running');
    await h.client.create(R.jobs, jobManifest('leader', NS, {
      completionMode: 'Indexed', completions: 4, parallelism: 4,
      successPolicy: { rules: [{ succeededIndexes: '0' }] },
    }));
    await waitFor('4 pods', async () => (await podsOf('leader')).length === 4 || undefined);
    await waitComplete('leader');
    const j = await kubectlJob('leader');
    const scm = cond(j, 'SuccessCriteriaMet');
    assert.deepEqual([scm?.status, scm?.reason, scm?.message], ['True', 'SuccessPolicy', 'Matched rules at index 0']);
    assert.deepEqual([cond(j, 'Complete')?.reason, cond(j, 'Complete')?.message], ['SuccessPolicy', 'Matched rules at index 0']);
    assert.equal(j.status?.completedIndexes, '0');
    assert.equal(j.status?.succeeded, 1);
    assert.equal(j.status?.failed ?? 0, 0, 'pods stopped after success are not failures');
    assert.equal(j.status?.active ?? 0, 0);
    assert.ok(j.status?.completionTime);
    await waitFor('the lingering pods to be gone', async () => (await podsOf('leader')).every((p) => p.status?.phase === 'Succeeded') || undefined);
  });

  it('successPolicy: succeededCount counts succeeded indexes', async () => {
    outcomes.set('quorum', (p) => indexOf(p) % 2 === 1 ? 'Succeeded' : 'Running');
    await h.client.create(R.jobs, jobManifest('quorum', NS, {
      completionMode: 'Indexed', completions: 5, parallelism: 5,
      successPolicy: { rules: [{ succeededIndexes: '0-2', succeededCount: 2 }, { succeededCount: 2 }] },
    }));
    await waitComplete('quorum');
    const j = await kubectlJob('quorum');
    assert.equal(cond(j, 'SuccessCriteriaMet')?.message, 'Matched rules at index 1', 'rule 0 sees only index 1 of 0-2');
    assert.equal(j.status?.completedIndexes, '1,3');
  });

  it('podReplacementPolicy Failed: a deleted pod is replaced only once it has failed, and counts in status.terminating', async () => {
    outcomes.set('patient', () => 'Running');
    await h.client.create(R.jobs, jobManifest('patient', NS, { podReplacementPolicy: 'Failed', backoffLimit: 3 }));
    const first = await waitFor('a running pod', async () => (await podsOf('patient')).find((p) => p.status?.phase === 'Running'));
    await h.k(['delete', 'pod', first.metadata!.name!, '-n', NS, '--wait=false']);
    await waitFor('status.terminating 1', async () => (await kubectlJob('patient')).status?.terminating === 1 || undefined);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await podsOf('patient')).length, 1, 'no replacement while the pod terminates');
    assert.equal((await kubectlJob('patient')).status?.active ?? 0, 0);
    await h.client.patch(R.pods, first.metadata!.name!, { status: { phase: 'Failed' } }, { namespace: NS, subresource: 'status', type: 'merge' });
    await waitFor('a replacement pod', async () => (await podsOf('patient')).some((p) => p.metadata!.uid !== first.metadata!.uid) || undefined);
    await waitFor('failed 1, terminating 0, active 1', async () => {
      const j = await kubectlJob('patient');
      return (j.status?.failed === 1 && (j.status.terminating ?? 0) === 0 && j.status.active === 1) || undefined;
    });
  });

  it('podReplacementPolicy TerminatingOrFailed (default): a deleted pod is replaced at once', async () => {
    outcomes.set('eager', () => 'Running');
    await h.client.create(R.jobs, jobManifest('eager', NS, { backoffLimit: 3 }));
    const first = await waitFor('a running pod', async () => (await podsOf('eager')).find((p) => p.status?.phase === 'Running'));
    assert.equal((await kubectlJob('eager')).spec?.podReplacementPolicy, 'TerminatingOrFailed');
    await h.k(['delete', 'pod', first.metadata!.name!, '-n', NS, '--wait=false']);
    await waitFor('a replacement pod', async () => (await podsOf('eager')).some((p) => p.metadata!.uid !== first.metadata!.uid) || undefined);
    await waitFor('the deleted pod counted as failed', async () => (await kubectlJob('eager')).status?.failed === 1 || undefined);
  });

  describe('validation, as kubectl create reports it', () => {
    const base = (name: string, spec: Record<string, unknown>, podSpec: Record<string, unknown> = {}) => JSON.stringify({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: NS },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }], ...podSpec } }, ...spec },
    });
    const rejected = async (manifest: string): Promise<string> => {
      const r = await h.kubectl(['create', '-f', '-'], { input: manifest });
      assert.notEqual(r.code, 0, `expected kubectl create to fail, got: ${r.stdout}`);
      return r.stderr;
    };

    it('refuses a podFailurePolicy without restartPolicy Never, and bad rules', async () => {
      const err = await rejected(base('v1', {
        podFailurePolicy: { rules: [
          { action: 'FailJob', onExitCodes: { operator: 'In', values: [5, 0, 5, 1] } },
          { action: 'FailIndex', onExitCodes: { containerName: 'other', operator: 'NotIn', values: [1] } },
          { action: 'Ignore' },
          { action: 'Restart', onPodConditions: [{ type: 'DisruptionTarget', status: 'Maybe' }] },
        ] },
      }, { restartPolicy: 'OnFailure' }));
      assert.match(err, /The Job "v1" is invalid:/);
      for (const line of [
        'spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator',
        'spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 5',
        'spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{5, 0, 5, 1}: must be ordered',
        'spec.podFailurePolicy.rules[1].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        'spec.podFailurePolicy.rules[1].onExitCodes.containerName: Invalid value: "other": must be one of the container or initContainer names in the pod template',
        'spec.podFailurePolicy.rules[2]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required',
        'spec.podFailurePolicy.rules[3].action: Unsupported value: "Restart": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
        'spec.podFailurePolicy.rules[3].onPodConditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"',
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
      ]) assert.ok(err.includes(line), `missing: ${line}\nin: ${err}`);
    });

    it('refuses per-index limits and a successPolicy on a NonIndexed Job, and bad combinations', async () => {
      const err = await rejected(base('v2', { backoffLimitPerIndex: 1, maxFailedIndexes: 1, successPolicy: { rules: [{ succeededCount: 1 }] } }));
      for (const line of [
        'spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode',
        'spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode',
        'spec.successPolicy: Invalid value:',
      ]) assert.ok(err.includes(line), `missing: ${line}\nin: ${err}`);
      const err2 = await rejected(base('v3', {
        completionMode: 'Indexed', completions: 3, maxFailedIndexes: 4, podReplacementPolicy: 'TerminatingOrFailed',
        podFailurePolicy: { rules: [{ action: 'Count', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
        successPolicy: { rules: [{}, { succeededIndexes: '2-1' }, { succeededIndexes: '0,1', succeededCount: 3 }] },
      }));
      for (const line of [
        'spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified',
        'spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions',
        'spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"',
        'spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified',
        'spec.successPolicy.rules[1].succeededIndexes: Invalid value: "2-1": error parsing succeededIndexes: non-increasing order, previous: 2, current: 1',
        'spec.successPolicy.rules[2].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)',
      ]) assert.ok(err2.includes(line), `missing: ${line}\nin: ${err2}`);
    });

    it('keeps successPolicy immutable', async () => {
      await h.k(['create', '-f', '-'], { input: base('v4', {
        suspend: true, completionMode: 'Indexed', completions: 2, successPolicy: { rules: [{ succeededCount: 1 }] },
      }) });
      const r = await h.kubectl(['patch', 'job', 'v4', '-n', NS, '--type=merge', '-p', '{"spec":{"successPolicy":{"rules":[{"succeededCount":2}]}}}']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /spec\.successPolicy: Invalid value: .*field is immutable/);
    });
  });
});
