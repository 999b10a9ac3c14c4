// pods/eviction against a real server with budgets whose status the test writes itself (no
// disruption controller), so each of kube-apiserver's EvictionREST rules can be seen alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { builtin, R } from '../../src/client/resources.ts';

const PDBS = builtin('poddisruptionbudgets.policy');
const NS = 'evict';

describe('pods/eviction', () => {
  let s: TestServer;
  let c: RestClient;

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] });
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: NS } });
  });
  after(async () => {
    await c?.close();
    await s?.cleanup();
  });

  /** A pod of app=<app>; Running (and Ready unless ready=false) unless phase says otherwise; on a node when nodeName is given. */
  async function makePod(name: string, app: string, o: { ready?: boolean; phase?: string; nodeName?: string } = {}): Promise<Pod> {
    const pod = await c.create<Pod>(R.pods, { metadata: { name, namespace: NS, labels: { app } },
      spec: { nodeName: o.nodeName, containers: [{ name: 'c', image: 'busybox' }] } });
    const phase = o.phase ?? 'Running';
    if (phase === 'Pending') return pod;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return c.updateStatus<Pod>(R.pods, { ...pod, status: { phase,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: now }] } });
  }

  async function makeBudget(name: string, app: string, status: Partial<PodDisruptionBudgetStatus>, spec: PodDisruptionBudget['spec'] = {}): Promise<PodDisruptionBudget> {
    const pdb = await c.create<PodDisruptionBudget>(PDBS, { metadata: { name, namespace: NS },
      spec: { minAvailable: 1, selector: { matchLabels: { app } }, ...spec } });
    return c.updateStatus<PodDisruptionBudget>(PDBS, { ...pdb, status: { observedGeneration: 1, currentHealthy: 0, desiredHealthy: 0,
      expectedPods: 0, disruptionsAllowed: 0, ...status } });
  }

  async function evict(name: string, extra: { apiVersion?: string; bodyName?: string; query?: string; deleteOptions?: object } = {}) {
    const res = await s.fetch(`/api/v1/namespaces/${NS}/pods/${name}/eviction${extra.query ?? ''}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: extra.apiVersion ?? 'policy/v1', kind: 'Eviction', metadata: { name: extra.bodyName ?? name, namespace: NS },
        ...(extra.deleteOptions ? { deleteOptions: extra.deleteOptions } : {}) }),
    });
    return { code: res.status, body: await res.json() as { status?: string; message?: string; reason?: string; code?: number;
      details?: { retryAfterSeconds?: number; causes?: { reason: string; message: string }[] } } };
  }
  const exists = async (name: string) => (await c.list<Pod>(R.pods, { namespace: NS })).items.find((p) => p.metadata!.name === name);
  const getBudget = (name: string) => c.get<PodDisruptionBudget>(PDBS, name, { namespace: NS });

  it('deletes a pod no budget covers, answering a Success Status', async () => {
    await makePod('free', 'free');
    const r = await evict('free');
    assert.equal(r.code, 201);
    assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    assert.equal(await exists('free'), undefined);
  });

  it('takes one disruption: decrements the budget, records the pod, marks it DisruptionTarget, deletes it', async () => {
    await makeBudget('one', 'one', { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    await makePod('one-0', 'one', { nodeName: 'somewhere' }); // on a node: deletion waits for its kubelet
    const r = await evict('one-0');
    assert.equal(r.code, 201, JSON.stringify(r.body));
    const pdb = await getBudget('one');
    assert.equal(pdb.status?.disruptionsAllowed, 0);
    assert.ok(pdb.status?.disruptedPods?.['one-0'], 'the pod is in disruptedPods');
    const cond = pdb.status?.conditions?.find((x) => x.type === 'DisruptionAllowed');
    assert.deepEqual([cond?.status, cond?.reason], ['False', 'InsufficientPods']);
    const pod = (await exists('one-0'))!;
    assert.ok(pod.metadata?.deletionTimestamp, 'being deleted');
    const target = pod.status?.conditions?.find((x) => x.type === 'DisruptionTarget');
    assert.deepEqual([target?.status, target?.reason, target?.message], ['True', 'EvictionByEvictionAPI', 'Eviction API: evicting']);
  });

  it('refuses with 429 and the budget\'s numbers while it allows no disruption', async () => {
    await makeBudget('none', 'none', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });
    await makePod('none-0', 'none');
    const r = await evict('none-0');
    assert.equal(r.code, 429);
    assert.equal(r.body.reason, 'TooManyRequests');
    assert.equal(r.body.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(r.body.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget none needs 2 healthy pods and has 2 currently', field: '' }]);
    assert.ok(await exists('none-0'));
  });

  it('refuses with 429 while the budget\'s status is older than its spec', async () => {
    const pdb = await makeBudget('stale', 'stale', { disruptionsAllowed: 3 });
    await c.update(PDBS, { ...pdb, spec: { ...pdb.spec, minAvailable: 2 } }); // generation 2, observedGeneration 1
    await makePod('stale-0', 'stale');
    const r = await evict('stale-0');
    assert.equal(r.code, 429);
    assert.equal(r.body.details?.retryAfterSeconds, 10);
    assert.equal(r.body.details?.causes?.[0].message, 'The disruption budget stale is still being processed by the server.');
  });

  it('deletes Pending and unready pods without spending the budget when the budget is met', async () => {
    await makeBudget('met', 'met', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 });
    await makePod('met-pending', 'met', { phase: 'Pending' });
    await makePod('met-unready', 'met', { ready: false });
    assert.equal((await evict('met-pending')).code, 201);
    assert.equal((await evict('met-unready')).code, 201);
    assert.equal(await exists('met-pending'), undefined);
    assert.equal(await exists('met-unready'), undefined);
    assert.equal((await getBudget('met')).status?.disruptedPods, undefined, 'nothing recorded');
  });

  it('an unready pod of a budget below its goal needs unhealthyPodEvictionPolicy AlwaysAllow', async () => {
    await makeBudget('short', 'short', { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 2, expectedPods: 3 });
    await makePod('short-unready', 'short', { ready: false });
    assert.equal((await evict('short-unready')).code, 429);
    await makeBudget('always', 'always', { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 2, expectedPods: 3 },
      { unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    await makePod('always-unready', 'always', { ready: false });
    assert.equal((await evict('always-unready')).code, 201);
    assert.equal(await exists('always-unready'), undefined);
  });

  it('answers 500 for a pod more than one budget covers', async () => {
    await makeBudget('twin-a', 'twin', { disruptionsAllowed: 5 });
    await makeBudget('twin-b', 'twin', { disruptionsAllowed: 5 });
    await makePod('twin-0', 'twin');
    const r = await evict('twin-0');
    assert.equal(r.code, 500);
    assert.equal(r.body.status, 'Failure');
    assert.equal(r.body.message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    assert.ok(await exists('twin-0'));
  });

  it('dry run changes nothing; policy/v1beta1 bodies are accepted; bad requests are refused', async () => {
    await makeBudget('dry', 'dry', { disruptionsAllowed: 1, currentHealthy: 1, expectedPods: 1 });
    await makePod('dry-0', 'dry');
    assert.equal((await evict('dry-0', { query: '?dryRun=All' })).code, 201);
    assert.equal((await evict('dry-0', { deleteOptions: { dryRun: ['All'] } })).code, 201);
    assert.ok(await exists('dry-0'));
    assert.equal((await getBudget('dry')).status?.disruptionsAllowed, 1);

    assert.equal((await evict('dry-0', { bodyName: 'other' })).code, 400);
    assert.equal((await evict('missing')).code, 404);
    assert.equal((await evict('dry-0', { apiVersion: 'policy/v1beta1' })).code, 201);
    assert.equal(await exists('dry-0'), undefined);
    assert.equal((await getBudget('dry')).status?.disruptionsAllowed, 0);
  });

  it('honours the eviction\'s deleteOptions preconditions', async () => {
    await makePod('pinned', 'pinned');
    const r = await evict('pinned', { deleteOptions: { preconditions: { uid: 'not-its-uid' } } });
    assert.equal(r.code, 409);
    assert.ok(await exists('pinned'));
  });
});
