// Acceptance (issue 3, section 5), Deployments end to end: the real `skiff server` with its
// in-process controllers and scheduler, `skiff hollow-nodes` playing the pods, and the real
// kubectl: create + rollout status, an image change within maxSurge/maxUnavailable checked on
// every event of a watch stream, rollout undo, scale to 0 and back, foreground deletion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { SharedInformer } from '../../src/client/informer.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { until, waitFor } from '../helpers/wait.ts';
import { getJson, type HollowProcess, isPodReady, listPods, startHollowNodes, waitNodesReady } from './control-plane-helpers.ts';

const NS = 'cp-deploy';
const REPLICAS = 4;
const SURGE = 1;
const UNAVAILABLE = 1;

describe('control plane: Deployments with hollow nodes and kubectl', { timeout: 240_000 }, () => {
  let s: TestServer;
  let hollow: HollowProcess;
  let client: RestClient;
  const k = (args: string[]) => s.k(['-n', NS, ...args]);
  const rolloutStatus = () => k(['rollout', 'status', 'deployment/web', '--timeout=60s']);
  const replicaSets = async () => (await getJson<{ items: ReplicaSet[] }>(s, ['replicasets', '-n', NS, '-l', 'app=web'])).items
    .sort((a, b) => Number(revisionOf(a)) - Number(revisionOf(b)));

  before(async () => {
    s = await startServer({ timeoutMs: 60_000 });
    client = RestClient.fromKubeconfig(s.kubeconfig, { userAgent: 'control-plane-test' });
    hollow = await startHollowNodes(s, 3, 'cpd');
    await waitNodesReady(s, hollow.names);
    await s.k(['create', 'namespace', NS]);
  });
  after(async () => {
    await hollow?.stop();
    await client?.close();
    await s?.cleanup();
  });

  it('`kubectl create deployment` then `kubectl rollout status` returns, every pod Running on a hollow node', async () => {
    await k(['create', 'deployment', 'web', '--image=nginx:1.26', `--replicas=${REPLICAS}`]);
    assert.match(await rolloutStatus(), /deployment "web" successfully rolled out/);
    const pods = await listPods(s, NS, 'app=web');
    assert.equal(pods.length, REPLICAS);
    for (const p of pods) {
      assert.equal(p.status?.phase, 'Running');
      assert.ok(hollow.names.includes(p.spec?.nodeName ?? ''), `${p.metadata?.name} runs on a hollow node (${p.spec?.nodeName})`);
      assert.ok(p.status?.podIP, `${p.metadata?.name} has an IP`);
    }
    const d = await getJson<Deployment>(s, ['deployment', 'web', '-n', NS]);
    assert.deepEqual([d.status?.replicas, d.status?.updatedReplicas, d.status?.readyReplicas, d.status?.availableReplicas],
      [REPLICAS, REPLICAS, REPLICAS, REPLICAS]);
  });

  it('rolls out `kubectl set image` within maxSurge and maxUnavailable at every step of the watch stream', async () => {
    await k(['patch', 'deployment/web', '--type=merge', '-p',
      JSON.stringify({ spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: SURGE, maxUnavailable: UNAVAILABLE } } } })]);
    await rolloutStatus();
    const bounds = watchBounds(client, REPLICAS, SURGE, UNAVAILABLE);
    try {
      await bounds.synced();
      await k(['set', 'image', 'deployment/web', 'nginx=nginx:1.27']);
      assert.match(await rolloutStatus(), /successfully rolled out/);
      await until('only new pods are left', () => bounds.pods().length === REPLICAS && bounds.pods().every((p) => p.spec?.containers[0].image === 'nginx:1.27'), 30_000);
    } finally {
      await bounds.stop();
    }
    assert.deepEqual(bounds.violations, []);
    // The stream saw the rollout happen step by step: new pods appearing and old ones going.
    assert.ok(bounds.events() >= 2 * REPLICAS * 2, `the watch saw the rollout (${bounds.events()} events)`);
    assert.ok(bounds.maxActive() > REPLICAS || bounds.minReady() < REPLICAS, 'the rollout used its surge or unavailability budget');
    const rss = await replicaSets();
    assert.deepEqual(rss.map((rs) => [revisionOf(rs), rs.spec?.replicas, rs.spec?.template?.spec?.containers[0].image]),
      [['1', 0, 'nginx:1.26'], ['2', REPLICAS, 'nginx:1.27']]);
  });

  it('`kubectl rollout undo` returns to the previous template', async () => {
    await k(['rollout', 'undo', 'deployment/web']);
    assert.match(await rolloutStatus(), /successfully rolled out/);
    const d = await getJson<Deployment>(s, ['deployment', 'web', '-n', NS]);
    assert.equal(d.spec?.template?.spec?.containers[0].image, 'nginx:1.26');
    assert.equal(revisionOf(d), '3');
    const rss = await replicaSets();
    // The first ReplicaSet is reused under the new revision; no third one is made.
    assert.deepEqual(rss.map((rs) => [revisionOf(rs), rs.spec?.replicas, rs.spec?.template?.spec?.containers[0].image]),
      [['2', 0, 'nginx:1.27'], ['3', REPLICAS, 'nginx:1.26']]);
    await waitFor('the pods run nginx:1.26 again', async () => {
      const pods = (await listPods(s, NS, 'app=web')).filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === REPLICAS && pods.every((p) => p.spec?.containers[0].image === 'nginx:1.26' && isPodReady(p));
    }, 30_000, 200);
  });

  it('`kubectl scale --replicas=0` removes every pod and scaling back brings them up again', async () => {
    await k(['scale', 'deployment/web', '--replicas=0']);
    await rolloutStatus();
    await waitFor('no pods left', async () => (await listPods(s, NS, 'app=web')).length === 0, 30_000, 200);
    const zero = await getJson<Deployment>(s, ['deployment', 'web', '-n', NS]);
    assert.equal(zero.status?.replicas ?? 0, 0);
    await k(['scale', 'deployment/web', `--replicas=${REPLICAS}`]);
    assert.match(await rolloutStatus(), /successfully rolled out/);
    const pods = await listPods(s, NS, 'app=web');
    assert.equal(pods.filter((p) => p.status?.phase === 'Running' && isPodReady(p)).length, REPLICAS);
    // Scaling is not a new revision.
    assert.equal(revisionOf(await getJson<Deployment>(s, ['deployment', 'web', '-n', NS])), '3');
  });

  it('deleting with --cascade=foreground removes the ReplicaSets and pods before the Deployment', async () => {
    const deletions: { kind: string; rv: number }[] = [];
    const record = (kind: string) => ({ onDelete: (o: { metadata?: { resourceVersion?: string } }) => deletions.push({ kind, rv: Number(o.metadata?.resourceVersion) }) });
    const pods = new SharedInformer<Pod>(client, R.pods, { namespace: NS });
    const rss = new SharedInformer<ReplicaSet>(client, R.replicasets, { namespace: NS });
    const deployments = new SharedInformer<Deployment>(client, R.deployments, { namespace: NS });
    let sawFinalizer = false;
    deployments.addEventHandler({ onUpdate: (_o, d) => { if (d.metadata?.finalizers?.includes('foregroundDeletion')) sawFinalizer = true; } });
    pods.addEventHandler(record('Pod'));
    rss.addEventHandler(record('ReplicaSet'));
    deployments.addEventHandler(record('Deployment'));
    for (const i of [pods, rss, deployments] as SharedInformer[]) i.start();
    try {
      for (const i of [pods, rss, deployments] as SharedInformer[]) await i.waitForSync(10_000);
      const podCount = pods.list().length;
      const rsCount = rss.list().length;
      assert.equal(podCount, REPLICAS);
      await k(['delete', 'deployment', 'web', '--cascade=foreground', '--timeout=60s']);
      await until('the watches saw everything deleted', () => deletions.some((d) => d.kind === 'Deployment') &&
        deletions.filter((d) => d.kind === 'Pod').length >= podCount && deletions.filter((d) => d.kind === 'ReplicaSet').length === rsCount, 30_000);
      assert.ok(sawFinalizer, 'the Deployment waited with the foregroundDeletion finalizer');
      // One global revision orders the three streams: every dependent went before its owner.
      const deploymentRv = deletions.find((d) => d.kind === 'Deployment')!.rv;
      const late = deletions.filter((d) => d.kind !== 'Deployment' && d.rv > deploymentRv);
      assert.deepEqual(late, [], `dependents deleted after the Deployment (revision ${deploymentRv})`);
    } finally {
      for (const i of [pods, rss, deployments] as SharedInformer[]) await i.stop();
    }
    assert.equal((await listPods(s, NS)).length, 0);
    assert.equal((await replicaSets()).length, 0);
  });
});

function revisionOf(o: { metadata?: { annotations?: Record<string, string> } }): string | undefined {
  return o.metadata?.annotations?.['deployment.kubernetes.io/revision'];
}

/** Watches app=web's pods and records every moment a strategy bound is broken, as the events arrive. */
function watchBounds(client: RestClient, replicas: number, surge: number, unavailable: number) {
  const pods = new SharedInformer<Pod>(client, R.pods, { namespace: NS, labelSelector: 'app=web' });
  const violations: string[] = [];
  let events = 0;
  let maxActive = 0;
  let minReady = Infinity;
  const active = () => pods.list().filter((p) => !p.metadata?.deletionTimestamp);
  const check = () => {
    if (!pods.hasSynced()) return;
    events++;
    const now = active();
    const ready = now.filter(isPodReady).length;
    maxActive = Math.max(maxActive, now.length);
    minReady = Math.min(minReady, ready);
    if (now.length > replicas + surge) violations.push(`${now.length} pods > ${replicas} + maxSurge ${surge}`);
    if (ready < replicas - unavailable) violations.push(`${ready} ready pods < ${replicas} - maxUnavailable ${unavailable}`);
  };
  pods.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
  pods.start();
  return {
    violations, events: () => events, maxActive: () => maxActive, minReady: () => minReady, pods: active,
    synced: () => pods.waitForSync(10_000),
    stop: () => pods.stop(),
  };
}
