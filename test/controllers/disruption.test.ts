import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.d.ts';
import { R, resourcePath } from '../../src/client/resources.ts';
import { ApiStatusError } from '../../src/client/errors.ts';
import { definition as deploymentController } from '../../src/controllers/deployment.ts';
import { definition as disruptionController, PODDISRUPTIONBUDGETS } from '../../src/controllers/disruption.ts';
import { countHealthyPods, disruptedPodMap, failSafeStatus, nextStatus } from '../../src/controllers/disruption-status.ts';
import { scaledValue } from '../../src/api/int-or-string.ts';
import { definition as replicaSetController } from '../../src/controllers/replicaset.ts';
import { fakeKubelet } from './apps-helpers.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';

const NS = 'pdb-test';
const STUCK_NS = 'pdb-stuck'; // no kubelet: pods never become Ready

type Numbers = Pick<NonNullable<PodDisruptionBudget['status']>, 'expectedPods' | 'currentHealthy' | 'desiredHealthy' | 'disruptionsAllowed'>;

describe('disruption controller', () => {
  let h: Harness;
  let kubelet: ReturnType<typeof fakeKubelet>;
  const getPdb = (name: string, ns = NS) => h.client.get<PodDisruptionBudget>(PODDISRUPTIONBUDGETS, name, { namespace: ns });

  /** Waits until the budget's status shows exactly these numbers for its current generation. */
  async function waitStatus(name: string, want: Numbers, ns = NS): Promise<PodDisruptionBudget> {
    let last: PodDisruptionBudget | undefined;
    try {
      return await waitFor(`pdb ${ns}/${name} status ${JSON.stringify(want)}`, async () => {
        const pdb = last = await getPdb(name, ns);
        const s = pdb.status;
        const ok = s && s.observedGeneration === pdb.metadata!.generation && s.expectedPods === want.expectedPods &&
          s.currentHealthy === want.currentHealthy && s.desiredHealthy === want.desiredHealthy && s.disruptionsAllowed === want.disruptionsAllowed;
        return ok ? pdb : undefined;
      }, 30_000, 100);
    } catch (e) {
      throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last?.status)}`);
    }
  }

  const condition = (pdb: PodDisruptionBudget) => pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');

  before(async () => {
    h = await startHarness([replicaSetController, deploymentController, disruptionController]);
    await h.k(['create', 'namespace', NS]);
    await h.k(['create', 'namespace', STUCK_NS]);
    kubelet = fakeKubelet(h.client, NS, 100);
    await h.k(['-n', NS, 'create', 'deployment', 'web', '--image=busybox', '--replicas=4']);
    await h.k(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
  });
  after(async () => {
    await kubelet?.stop();
    await h?.stop();
  });

  it('minAvailable as an integer counts the selected pods', async () => {
    await h.k(['-n', NS, 'create', 'poddisruptionbudget', 'min-int', '--selector=app=web', '--min-available=2']);
    const pdb = await waitStatus('min-int', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 2, disruptionsAllowed: 2 });
    assert.equal(pdb.status!.observedGeneration, 1);
    assert.equal(condition(pdb)?.status, 'True');
    assert.equal(condition(pdb)?.reason, 'SufficientPods');
  });

  it('a percentage of minAvailable rounds up against the Deployment scale', async () => {
    await h.k(['-n', NS, 'create', 'pdb', 'min-pct', '--selector=app=web', '--min-available=60%']);
    // ceil(60% of 4) = 3 must stay healthy: one disruption allowed.
    await waitStatus('min-pct', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 3, disruptionsAllowed: 1 });
  });

  it('maxUnavailable, as an integer and as a percentage, uses the Deployment scale', async () => {
    await h.k(['-n', NS, 'create', 'pdb', 'max-int', '--selector=app=web', '--max-unavailable=1']);
    await waitStatus('max-int', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 3, disruptionsAllowed: 1 });
    await h.k(['-n', NS, 'create', 'pdb', 'max-pct', '--selector=app=web', '--max-unavailable=30%']);
    // ceil(30% of 4) = 2 may be unavailable.
    await waitStatus('max-pct', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 2, disruptionsAllowed: 2 });
  });

  it('follows a scale change of the Deployment and a spec change of the budget (observedGeneration)', async () => {
    await h.k(['-n', NS, 'scale', 'deployment/web', '--replicas=6']);
    await waitStatus('max-pct', { expectedPods: 6, currentHealthy: 6, desiredHealthy: 4, disruptionsAllowed: 2 });
    await h.k(['-n', NS, 'patch', 'pdb', 'max-pct', '--type=merge', '-p', '{"spec":{"maxUnavailable":"50%"}}']);
    const pdb = await waitStatus('max-pct', { expectedPods: 6, currentHealthy: 6, desiredHealthy: 3, disruptionsAllowed: 3 });
    assert.equal(pdb.metadata!.generation, 2);
    assert.equal(pdb.status!.observedGeneration, 2);
    await h.k(['-n', NS, 'scale', 'deployment/web', '--replicas=4']);
    await waitStatus('min-int', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 2, disruptionsAllowed: 2 });
  });

  it('pods that never become Ready allow no disruption (InsufficientPods)', async () => {
    await h.k(['-n', STUCK_NS, 'create', 'deployment', 'slow', '--image=busybox', '--replicas=3']);
    await h.k(['-n', STUCK_NS, 'create', 'pdb', 'slow', '--selector=app=slow', '--max-unavailable=1']);
    const pdb = await waitStatus('slow', { expectedPods: 3, currentHealthy: 0, desiredHealthy: 2, disruptionsAllowed: 0 }, STUCK_NS);
    assert.equal(condition(pdb)?.status, 'False');
    assert.equal(condition(pdb)?.reason, 'InsufficientPods');
  });

  it('a budget selecting no pods expects none and says so with a NoPods event', async () => {
    await h.k(['-n', NS, 'create', 'pdb', 'nobody', '--selector=app=nobody', '--min-available=1']);
    const pdb = await waitStatus('nobody', { expectedPods: 0, currentHealthy: 0, desiredHealthy: 1, disruptionsAllowed: 0 });
    assert.equal(condition(pdb)?.reason, 'InsufficientPods');
    await waitFor('NoPods event', async () => (await h.k(['-n', NS, 'get', 'events', '--field-selector=involvedObject.name=nobody', '-o', 'name'])).trim() !== '' &&
      (await h.k(['-n', NS, 'get', 'events', '--field-selector=involvedObject.name=nobody', '-o', 'jsonpath={.items[*].reason}'])).includes('NoPods'), 20_000);
  });

  it('a pod whose controller cannot be found fails the sync safe (SyncFailed, no disruptions)', async () => {
    const cm = await h.client.create<ConfigMap>(R.configmaps, { metadata: { name: 'not-a-controller', namespace: NS } });
    await h.client.create<Pod>(R.pods, {
      metadata: { name: 'odd', namespace: NS, labels: { app: 'odd' }, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap',
        name: 'not-a-controller', uid: cm.metadata!.uid!, controller: true }] },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await h.k(['-n', NS, 'create', 'pdb', 'odd', '--selector=app=odd', '--max-unavailable=1']);
    const pdb = await waitFor('odd SyncFailed', async () => {
      const p = await getPdb('odd');
      return condition(p)?.reason === 'SyncFailed' ? p : undefined;
    }, 30_000);
    assert.equal(condition(pdb)?.status, 'False');
    assert.equal(condition(pdb)?.message, 'found no controllers for pod "odd"');
    assert.equal(pdb.status!.disruptionsAllowed, 0);
  });

  it('an eviction takes a disruption and records the pod; the controller then counts it as gone', async () => {
    await h.k(['-n', NS, 'delete', 'pdb', 'min-pct', 'max-int', 'max-pct']); // one budget per pod for the eviction API
    await waitStatus('min-int', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 2, disruptionsAllowed: 2 });
    const pods = (await h.client.list<Pod>(R.pods, { namespace: NS, labelSelector: 'app=web' })).items;
    const victim = pods[0].metadata!.name!;
    await h.client.call('POST', resourcePath(R.pods, NS, victim, 'eviction'), {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim, namespace: NS } },
    });
    // The ReplicaSet replaces the pod, the fake kubelet makes it Ready: back to 4 healthy.
    const pdb = await waitStatus('min-int', { expectedPods: 4, currentHealthy: 4, desiredHealthy: 2, disruptionsAllowed: 2 });
    assert.equal(pdb.status!.disruptedPods?.[victim], undefined, 'the deleted pod leaves disruptedPods');
    await assert.rejects(h.client.get(R.pods, victim, { namespace: NS }), (e: ApiStatusError) => e.code === 404);
  });

  it('refuses a budget with both minAvailable and maxUnavailable, or a bad percentage', async () => {
    const create = (spec: object) => h.client.create(PODDISRUPTIONBUDGETS, { metadata: { name: 'bad', namespace: NS }, spec });
    await assert.rejects(create({ minAvailable: 1, maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } }), (e: ApiStatusError) => {
      assert.equal(e.code, 422);
      assert.match(e.message, /minAvailable and maxUnavailable cannot be both set/);
      return true;
    });
    await assert.rejects(create({ minAvailable: '120%' }), (e: ApiStatusError) => {
      assert.match(e.message, /spec\.minAvailable: Invalid value: 120%: must not be greater than 100%/);
      return true;
    });
    await assert.rejects(create({ maxUnavailable: -1 }), /spec\.maxUnavailable: Invalid value: -1: must be greater than or equal to 0/);
    await assert.rejects(create({ maxUnavailable: '1', unhealthyPodEvictionPolicy: 'Sometimes' }), (e: ApiStatusError) => {
      assert.match(e.message, /spec\.maxUnavailable: Invalid value: 1: a valid percent string/);
      assert.match(e.message, /spec\.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"/);
      return true;
    });
  });

  it('kubectl get pdb prints MIN AVAILABLE, MAX UNAVAILABLE and ALLOWED DISRUPTIONS', async () => {
    const out = await h.k(['-n', STUCK_NS, 'get', 'pdb']);
    const [header, row] = out.trim().split('\n');
    assert.deepEqual(header.split(/\s{2,}/), ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
    assert.deepEqual(row.split(/\s+/).slice(0, 4), ['slow', 'N/A', '1', '0']);
  });
});

describe('disruption status arithmetic', () => {
  const T0 = Date.parse('2025-01-01T00:00:00Z');
  const at = (ms: number) => new Date(T0 + ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const readyPod = (name: string, o: { ready?: boolean; deleting?: boolean } = {}): Pod => ({
    metadata: { name, namespace: 'ns', ...(o.deleting ? { deletionTimestamp: at(0) } : {}) },
    status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  });
  const pdbWith = (disruptedPods: Record<string, string>): PodDisruptionBudget => ({
    metadata: { name: 'b', namespace: 'ns', generation: 1 },
    spec: { minAvailable: 1 }, status: { disruptedPods, currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 },
  });

  it('scales percentages rounding up', () => {
    assert.equal(scaledValue('50%', 3), 2);
    assert.equal(scaledValue('1%', 1), 1);
    assert.equal(scaledValue('0%', 7), 0);
    assert.equal(scaledValue(4, 10), 4);
    assert.throws(() => scaledValue('half', 2), /invalid value for IntOrString/);
  });

  it('keeps disruptedPods entries for 2 minutes, drops those of pods being deleted or gone', () => {
    const pods = [readyPod('fresh'), readyPod('old'), readyPod('going', { deleting: true }), readyPod('plain')];
    const pdb = pdbWith({ fresh: at(0), old: at(-121_000), going: at(0), vanished: at(0) });
    const m = disruptedPodMap(pdb, pods, T0 + 30_000);
    assert.deepEqual(m.current, { fresh: at(0) });
    assert.deepEqual(m.expired.map((p) => p.metadata!.name), ['old']);
    assert.equal(m.recheckAt, T0 + 120_000);
    // fresh is about to go, going is going, plain and old are Ready: 2 healthy.
    assert.equal(countHealthyPods(pods, m.current, T0 + 30_000), 2);
    assert.equal(countHealthyPods([readyPod('x', { ready: false })], {}, T0), 0);
  });

  it('allows no disruption while no pod is expected, and writes nothing when the status is current', () => {
    const pdb = pdbWith({});
    const counts = { currentHealthy: 3, desiredHealthy: 1, expectedPods: 0, disruptedPods: {} };
    assert.equal(nextStatus(pdb, counts, new Date(T0))!.disruptionsAllowed, 0);
    const s = nextStatus(pdb, { ...counts, expectedPods: 3 }, new Date(T0))!;
    assert.equal(s.disruptionsAllowed, 2);
    assert.equal(s.observedGeneration, 1);
    assert.deepEqual(s.conditions, [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: 1, lastTransitionTime: at(0) }]);
    assert.equal(nextStatus({ ...pdb, status: s }, { ...counts, expectedPods: 3 }, new Date(T0 + 5000)), undefined);
    const failed = failSafeStatus({ ...pdb, status: s }, new Error('boom'), new Date(T0 + 9000));
    assert.equal(failed.disruptionsAllowed, 0);
    assert.deepEqual(failed.conditions, [{ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'boom', observedGeneration: 1, lastTransitionTime: at(9000) }]);
  });
});
