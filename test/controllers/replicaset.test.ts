import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import { R } from '../../src/client/index.ts';
import { podsToDelete, slowStartBatch } from '../../src/controllers/pod-control.ts';
import { calculateStatus, definition } from '../../src/controllers/replicaset.ts';
import { fakeKubelet, until } from './apps-helpers.ts';
import { type Harness, startHarness } from './harness.ts';

const NS = 'rs-test';

function replicaSet(name: string, replicas: number, app: string): ReplicaSet {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: NS },
    spec: {
      replicas, selector: { matchLabels: { app } },
      template: { metadata: { labels: { app, tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
}

function pod(name: string, labels: Record<string, string>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

describe('replicaset controller', () => {
  let c: Harness;
  let kubelet: ReturnType<typeof fakeKubelet>;

  before(async () => {
    c = await startHarness([definition]);
    await c.k(['create', 'namespace', NS]);
    kubelet = fakeKubelet(c.client, NS);
  });
  after(async () => {
    await kubelet?.stop();
    await c?.stop();
  });

  const podsOf = async (app: string) => (await c.client.list<Pod>(R.pods, { namespace: NS, labelSelector: `app=${app}` })).items
    .filter((p) => !p.metadata?.deletionTimestamp);
  const getRS = (name: string) => c.client.get<ReplicaSet>(R.replicasets, name, { namespace: NS });

  it('adopts a matching orphan, creates the rest from the template and reports status', async () => {
    await c.client.create(R.pods, pod('orphan', { app: 'a' }));
    // Ready (and so older and healthier than any new pod): even if a sync runs before the pod cache
    // shows the orphan and overshoots, the ranking deletes a new pod, not the orphan.
    await until('the orphan is ready', async () => (await c.client.get<Pod>(R.pods, 'orphan', { namespace: NS })).status?.phase === 'Running');
    const created = await c.client.create(R.replicasets, replicaSet('a', 3, 'a'));
    await until('3 ready pods and matching status', async () => {
      const rs = await getRS('a');
      return rs.status?.readyReplicas === 3 && rs.status.availableReplicas === 3 && rs.status.replicas === 3;
    });
    const pods = await podsOf('a');
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.deepEqual(p.metadata?.ownerReferences, [{
        apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: created.metadata!.uid, controller: true, blockOwnerDeletion: true,
      }]);
    }
    const names = pods.map((p) => p.metadata!.name!).sort();
    assert.ok(names.includes('orphan'), 'the orphan was adopted, not replaced');
    for (const n of names.filter((n) => n !== 'orphan')) assert.match(n, /^a-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    // Adopted pods lack the template's tier label: not fully labeled.
    const rs = await getRS('a');
    assert.equal(rs.status?.fullyLabeledReplicas, 2);
    assert.equal(rs.status?.observedGeneration, rs.metadata?.generation);
    const events = await c.k(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=a', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events, /SuccessfulCreate/);
  });

  it('deletes extras, not-ready pods first, and scales with kubectl scale', async () => {
    kubelet.paused = true;
    await c.client.create(R.pods, pod('extra', { app: 'a', tier: 'web' }));
    await until('the extra pod is deleted', async () => !(await podsOf('a')).some((p) => p.metadata?.name === 'extra'));
    kubelet.paused = false;
    assert.equal((await podsOf('a')).length, 3, 'the ready pods stay');

    await c.k(['scale', '-n', NS, 'replicaset/a', '--replicas=1']);
    await until('1 pod left', async () => (await podsOf('a')).length === 1 && (await getRS('a')).status?.replicas === 1);
    await c.k(['scale', '-n', NS, 'replicaset/a', '--replicas=0']);
    await until('no pods left', async () => (await podsOf('a')).length === 0 && (await getRS('a')).status?.replicas === 0);
    await c.k(['scale', '-n', NS, 'replicaset/a', '--replicas=2']);
    await until('2 ready pods', async () => (await getRS('a')).status?.readyReplicas === 2);
  });

  it('releases a pod whose labels stop matching and replaces it', async () => {
    await c.client.create(R.replicasets, replicaSet('b', 2, 'b'));
    await until('2 pods', async () => (await getRS('b')).status?.readyReplicas === 2);
    const [victim] = await podsOf('b');
    await c.k(['label', '-n', NS, `pod/${victim.metadata!.name}`, 'app=other', '--overwrite']);
    await until('the relabeled pod is released', async () => {
      const p = await c.client.get<Pod>(R.pods, victim.metadata!.name!, { namespace: NS });
      return !p.metadata?.ownerReferences?.length;
    });
    await until('a replacement exists', async () => (await podsOf('b')).length === 2 && (await getRS('b')).status?.readyReplicas === 2);
  });

  it('leaves pods controlled by another owner alone', async () => {
    await c.client.create(R.replicasets, replicaSet('c1', 1, 'c'));
    await until('c1 has its pod', async () => (await getRS('c1')).status?.replicas === 1);
    await c.client.create(R.replicasets, replicaSet('c2', 1, 'c'));
    await until('c2 makes its own pod', async () => (await getRS('c2')).status?.replicas === 1);
    const owners = (await podsOf('c')).map((p) => p.metadata!.ownerReferences![0].name).sort();
    assert.deepEqual(owners, ['c1', 'c2']);
  });
});

describe('replicaset pure parts', () => {
  const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();
  const mk = (name: string, o: { node?: string; ready?: boolean; phase?: string; created?: number } = {}): Pod => ({
    metadata: { name, creationTimestamp: at(o.created ?? 0), uid: name },
    spec: { containers: [], nodeName: o.node },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: at(o.created ?? 0) }] },
  });

  it('ranks unscheduled, pending and not-ready pods first for deletion', () => {
    const pods = [mk('ready', { node: 'n1' }), mk('unscheduled', { ready: false }), mk('pending', { node: 'n1', phase: 'Pending', ready: false }), mk('notready', { node: 'n1', ready: false })];
    assert.deepEqual(podsToDelete(pods, pods, 3).map((p) => p.metadata!.name), ['unscheduled', 'pending', 'notready']);
  });

  it('prefers pods on crowded nodes, then newer pods', () => {
    const now = Date.parse(at(0)) + 3600_000;
    const pods = [mk('alone', { node: 'n2' }), mk('crowd1', { node: 'n1' }), mk('crowd2', { node: 'n1' })];
    assert.equal(podsToDelete(pods, pods, 1, now)[0].metadata!.name !== 'alone', true);
    const byAge = [mk('old', { node: 'n1', created: 0 }), mk('new', { node: 'n2', created: 3599 })];
    assert.equal(podsToDelete(byAge, byAge, 1, now)[0].metadata!.name, 'new');
  });

  it('creates in slow-start batches of 1, 2, 4 and stops at the first failing batch', async () => {
    let calls = 0;
    const ok = await slowStartBatch(10, 1, async () => void calls++);
    assert.deepEqual([ok.successes, calls], [10, 10]);
    calls = 0;
    const failing = await slowStartBatch(10, 1, async () => {
      if (++calls > 2) throw new Error('quota exceeded');
    });
    // batch of 1 succeeds; in the batch of 2 the second call fails: no batch of 4 follows
    assert.equal(calls, 3);
    assert.equal(failing.successes, 2);
    assert.equal(failing.error?.message, 'quota exceeded');
  });

  it('sets ReplicaFailure on a create error and clears it after', () => {
    const rs = replicaSet('x', 2, 'x');
    const failed = calculateStatus(rs, [], new Error('pods "x-" is forbidden: exceeded quota'), -2);
    assert.equal(failed.conditions?.[0].type, 'ReplicaFailure');
    assert.equal(failed.conditions?.[0].reason, 'FailedCreate');
    assert.match(failed.conditions![0].message!, /exceeded quota/);
    const cleared = calculateStatus({ ...rs, status: failed }, [], undefined, 0);
    assert.equal(cleared.conditions, undefined);
  });
});
