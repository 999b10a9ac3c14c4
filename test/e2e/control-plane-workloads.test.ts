// Acceptance (issue 3, section 5), the other workload controllers end to end with hollow
// nodes and the real kubectl: a StatefulSet comes up in order, a DaemonSet covers every node
// and follows a new one, a Job with completions=5 parallelism=2 completes, a CronJob every
// minute creates Jobs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaemonSet, StatefulSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { SharedInformer } from '../../src/client/informer.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { getJson, type HollowProcess, isPodReady, listPods, startHollowNodes, waitNodesReady } from './control-plane-helpers.ts';

const NS = 'cp-work';

describe('control plane: StatefulSet, DaemonSet, Job and CronJob with hollow nodes and kubectl', { timeout: 300_000 }, () => {
  let s: TestServer;
  let client: RestClient;
  const hollows: HollowProcess[] = [];
  const k = (args: string[], input?: string) => s.k(['-n', NS, ...args], input === undefined ? undefined : { input });
  let cronCreatedAt = 0;

  before(async () => {
    s = await startServer({ timeoutMs: 60_000 });
    client = RestClient.fromKubeconfig(s.kubeconfig, { userAgent: 'control-plane-test' });
    hollows.push(await startHollowNodes(s, 3, 'cpw'));
    await waitNodesReady(s, hollows[0].names);
    await s.k(['create', 'namespace', NS]);
    // Made first so that its first minute boundary passes while the other tests run.
    await k(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=* * * * *', '--', 'true']);
    cronCreatedAt = Date.now();
  });
  after(async () => {
    for (const h of hollows) await h.stop();
    await client?.close();
    await s?.cleanup();
  });

  it('brings a StatefulSet up in order: each pod only once the one before it is Running and Ready', async () => {
    const pods = new SharedInformer<Pod>(client, R.pods, { namespace: NS, labelSelector: 'app=db' });
    const order: string[] = [];
    const violations: string[] = [];
    pods.addEventHandler({
      onAdd: (p) => {
        const name = p.metadata!.name!;
        order.push(name);
        const ordinal = Number(name.slice('db-'.length));
        const previous = ordinal > 0 ? pods.get(`${NS}/db-${ordinal - 1}`) : undefined;
        if (ordinal > 0 && !(previous && previous.status?.phase === 'Running' && isPodReady(previous))) {
          violations.push(`${name} created while db-${ordinal - 1} was ${previous ? `${previous.status?.phase}, not ready` : 'missing'}`);
        }
      },
    });
    pods.start();
    try {
      await pods.waitForSync(10_000);
      await k(['apply', '-f', '-'], `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  serviceName: db
  replicas: 3
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec: { containers: [{ name: db, image: postgres:16 }] }
`);
      assert.match(await k(['rollout', 'status', 'statefulset/db', '--timeout=60s']), /roll out complete|partitioned roll out complete/);
    } finally {
      await pods.stop();
    }
    assert.deepEqual(order, ['db-0', 'db-1', 'db-2']);
    assert.deepEqual(violations, []);
    const sts = await getJson<StatefulSet>(s, ['statefulset', 'db', '-n', NS]);
    assert.deepEqual([sts.status?.replicas, sts.status?.readyReplicas, sts.status?.currentReplicas], [3, 3, 3]);
    for (const p of await listPods(s, NS, 'app=db')) {
      assert.equal(p.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], p.metadata?.name);
      assert.equal(p.spec?.hostname, p.metadata?.name);
    }
  });

  it('runs a DaemonSet pod on every node and follows a node that joins', async () => {
    await k(['apply', '-f', '-'], `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec: { containers: [{ name: agent, image: fluent-bit:3 }] }
`);
    assert.match(await k(['rollout', 'status', 'daemonset/agent', '--timeout=60s']), /successfully rolled out/);
    const placement = async () => (await listPods(s, NS, 'app=agent')).filter((p) => p.status?.phase === 'Running').map((p) => p.spec?.nodeName).sort();
    assert.deepEqual(await placement(), [...hollows[0].names].sort());

    const extra = await startHollowNodes(s, 1, 'cpw-late');
    hollows.push(extra);
    await waitFor('the new node runs the DaemonSet pod too', async () => {
      const ds = await getJson<DaemonSet>(s, ['daemonset', 'agent', '-n', NS]);
      return ds.status?.desiredNumberScheduled === 4 && ds.status?.numberReady === 4;
    }, 60_000, 250);
    assert.deepEqual(await placement(), [...hollows[0].names, ...extra.names].sort());
    assert.match(await k(['rollout', 'status', 'daemonset/agent', '--timeout=30s']), /successfully rolled out/);
  });

  it('completes a Job with completions=5 and parallelism=2, never running more than 2 pods at once', async () => {
    const pods = new SharedInformer<Pod>(client, R.pods, { namespace: NS, labelSelector: 'batch.kubernetes.io/job-name=count' });
    let maxRunning = 0;
    const seen = () => {
      const active = pods.list().filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      maxRunning = Math.max(maxRunning, active.length);
    };
    pods.addEventHandler({ onAdd: seen, onUpdate: seen, onDelete: seen });
    pods.start();
    try {
      await pods.waitForSync(10_000);
      await k(['apply', '-f', '-'], `apiVersion: batch/v1
kind: Job
metadata: { name: count }
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: count, image: busybox, command: [sh, -c, 'sleep 1'] }]
`);
      await k(['wait', '--for=condition=Complete', 'job/count', '--timeout=90s'], undefined);
    } finally {
      await pods.stop();
    }
    const job = await getJson<Job>(s, ['job', 'count', '-n', NS]);
    assert.equal(job.status?.succeeded, 5);
    assert.ok(!job.status?.failed, `no pod failed (${job.status?.failed})`);
    assert.ok(job.status?.completionTime, 'completionTime is set');
    assert.ok(maxRunning > 0 && maxRunning <= 2, `at most 2 pods ran at once (saw ${maxRunning})`);
    const done = (await listPods(s, NS, 'batch.kubernetes.io/job-name=count')).filter((p) => p.status?.phase === 'Succeeded');
    assert.equal(done.length, 5);
  });

  it('runs a CronJob scheduled every minute: its Jobs appear and complete', async () => {
    // The first run is at the next minute boundary after creation: at most 60 s, plus slack.
    const deadline = cronCreatedAt + 75_000 - Date.now();
    const job = await waitFor('the CronJob made a Job', async () => {
      const { items } = await getJson<{ items: Job[] }>(s, ['jobs', '-n', NS]);
      return items.find((j) => j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === 'tick' && o.controller));
    }, Math.max(deadline, 5000), 500);
    assert.match(job.metadata!.name!, /^tick-\d+$/);
    await k(['wait', '--for=condition=Complete', `job/${job.metadata!.name}`, '--timeout=60s']);
    const cj = await waitFor('the CronJob records its run', async () => {
      const c = await getJson<{ status?: { lastScheduleTime?: string; lastSuccessfulTime?: string } }>(s, ['cronjob', 'tick', '-n', NS]);
      return c.status?.lastSuccessfulTime ? c : undefined;
    }, 30_000, 250);
    assert.equal(Date.parse(cj.status!.lastScheduleTime!) % 60_000, 0, 'scheduled on a minute boundary');
    // A Job's name is its scheduled time in minutes since the epoch, as the CronJob controller names them.
    const scheduledAt = Number(job.metadata!.name!.slice('tick-'.length)) * 60_000;
    assert.equal(scheduledAt % 60_000, 0);
    assert.ok(scheduledAt <= Date.parse(cj.status!.lastScheduleTime!) && scheduledAt > cronCreatedAt - 60_000,
      `job ${job.metadata!.name} is the first run after creation (lastScheduleTime ${cj.status!.lastScheduleTime})`);
  });
});
