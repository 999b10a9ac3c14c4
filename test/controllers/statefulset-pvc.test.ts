// persistentVolumeClaimRetentionPolicy: the ownerReferences the StatefulSet
// controller keeps on the claims, and what the garbage collector then deletes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatefulSet } from 'kubernetes-types/apps/v1.d.ts';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { R, SharedInformer } from '../../src/client/index.ts';
import { definition as gc } from '../../src/controllers/garbage-collector.ts';
import { definition } from '../../src/controllers/statefulset.ts';
import { claimIsStale, claimOwnersFor, claimOwnersUpToDate } from '../../src/controllers/statefulset-pvc.ts';
import { fakeKubelet, until } from './apps-helpers.ts';
import { type Harness, startHarness } from './harness.ts';

const NS = 'sts-pvc';
type Policy = { whenDeleted?: string; whenScaled?: string };

function statefulSet(name: string, replicas: number, policy?: Policy): StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: {
      replicas, serviceName: name, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...(policy ? { persistentVolumeClaimRetentionPolicy: policy } : {}),
    } as StatefulSet['spec'],
  };
}

describe('claim owners per retention policy (pure)', () => {
  const pod = (ordinal: number): Pod => ({ metadata: { name: `db-${ordinal}`, namespace: NS, uid: `pod-uid-${ordinal}` } });
  const claim = (refs: OwnerReference[] = []): PersistentVolumeClaim => ({ metadata: { name: 'data-db-0', namespace: NS, ownerReferences: refs } });
  const owners = (policy: Policy, ordinal: number) => {
    const set = statefulSet('db', 2, policy);
    const refs = claimOwnersFor(claim(), set, pod(ordinal), ordinal);
    assert.ok(claimOwnersUpToDate({ metadata: { ownerReferences: refs } }, set, pod(ordinal), ordinal));
    return refs.map((r) => `${r.kind}/${r.name}`);
  };

  it('follows the policy table for pods in range and condemned pods', () => {
    assert.deepEqual(owners({ whenDeleted: 'Retain', whenScaled: 'Retain' }, 0), []);
    assert.deepEqual(owners({ whenDeleted: 'Retain', whenScaled: 'Retain' }, 5), []);
    assert.deepEqual(owners({ whenDeleted: 'Delete', whenScaled: 'Retain' }, 0), ['StatefulSet/db']);
    assert.deepEqual(owners({ whenDeleted: 'Delete', whenScaled: 'Retain' }, 5), ['StatefulSet/db']);
    assert.deepEqual(owners({ whenDeleted: 'Retain', whenScaled: 'Delete' }, 0), []);
    assert.deepEqual(owners({ whenDeleted: 'Retain', whenScaled: 'Delete' }, 5), ['Pod/db-5']);
    assert.deepEqual(owners({ whenDeleted: 'Delete', whenScaled: 'Delete' }, 1), ['StatefulSet/db']);
    assert.deepEqual(owners({ whenDeleted: 'Delete', whenScaled: 'Delete' }, 2), ['Pod/db-2']);
    assert.deepEqual(owners({}, 0), [], 'unset is Retain');
  });

  it('adds controller refs that block owner deletion, and keeps refs of other owners', () => {
    const set = statefulSet('db', 1, { whenDeleted: 'Delete', whenScaled: 'Retain' });
    const other: OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'keep', uid: 'cm' };
    const refs = claimOwnersFor(claim([other]), set, pod(0), 0);
    assert.deepEqual(refs, [other, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'uid-db', controller: true, blockOwnerDeletion: true }]);
    // A non-controller ref of ours is not good enough.
    assert.equal(claimOwnersUpToDate(claim([{ ...refs[1], controller: false }]), set, pod(0), 0), false);
  });

  it('leaves claims of another controller and claims with stale refs alone', () => {
    const set = statefulSet('db', 1, { whenDeleted: 'Delete', whenScaled: 'Delete' });
    const foreign: OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'boss', uid: 'cm', controller: true };
    assert.ok(claimOwnersUpToDate(claim([foreign]), set, pod(0), 0));
    const staleSet: OwnerReference = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'an-older-db', controller: true };
    assert.ok(claimOwnersUpToDate(claim([staleSet]), set, pod(0), 0));
    // A claim owned by an earlier db-0 is stale for a new db-0 only when scale-down deletes claims.
    const oldPod: OwnerReference = { apiVersion: 'v1', kind: 'Pod', name: 'db-0', uid: 'gone', controller: true };
    assert.equal(claimIsStale(claim([oldPod]), set, 'db-0'), true);
    assert.equal(claimIsStale(claim([oldPod]), statefulSet('db', 1, { whenScaled: 'Retain' }), 'db-0'), false);
    assert.equal(claimIsStale(claim([]), set, 'db-0'), false);
  });
});

describe('statefulset claim retention', () => {
  let c: Harness;
  let kubelet: ReturnType<typeof fakeKubelet>;

  before(async () => {
    c = await startHarness([definition, gc]);
    await c.k(['create', 'namespace', NS]);
    kubelet = fakeKubelet(c.client, NS, 100);
  });
  after(async () => {
    await kubelet?.stop();
    await c?.stop();
  });

  const create = async (set: StatefulSet) => {
    const { uid: _uid, ...metadata } = set.metadata!;
    await c.client.create(R.statefulsets, { ...set, metadata });
  };
  const getSet = (name: string) => c.client.get<StatefulSet>(R.statefulsets, name, { namespace: NS });
  const claims = async (set: string) => (await c.client.list<PersistentVolumeClaim>(R.persistentvolumeclaims, { namespace: NS })).items
    .filter((p) => p.metadata!.name!.startsWith(`data-${set}-`) && !p.metadata?.deletionTimestamp);
  const claimNames = async (set: string) => (await claims(set)).map((p) => p.metadata!.name!).sort();
  const ownersOf = async (name: string) => {
    const pvc = await c.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, name, { namespace: NS });
    return (pvc.metadata?.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`).join(',');
  };
  const ready = (name: string, n: number) => until(`${name}: ${n} ready replicas`, async () => {
    const s = await getSet(name);
    return s.status?.readyReplicas === n && s.status.replicas === n && s.status.observedGeneration === s.metadata?.generation;
  }, 30_000);

  it('defaults the policy to Retain/Retain and leaves claims unowned', async () => {
    await create(statefulSet('plain', 1));
    const set = await getSet('plain');
    assert.deepEqual((set.spec as { persistentVolumeClaimRetentionPolicy?: Policy }).persistentVolumeClaimRetentionPolicy,
      { whenDeleted: 'Retain', whenScaled: 'Retain' });
    await ready('plain', 1);
    assert.equal(await ownersOf('data-plain-0'), '');
  });

  it('refuses an unknown policy', async () => {
    const out = await c.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(statefulSet('bad', 1, { whenDeleted: 'Sometimes', whenScaled: 'Retain' })).replace('"uid":"uid-bad",', ''),
    });
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /spec\.persistentVolumeClaimRetentionPolicy\.whenDeleted: Unsupported value: "Sometimes"/);
  });

  it('whenDeleted=Delete: claims are owned by the set, follow policy changes, and go with the set', async () => {
    await create(statefulSet('del', 2, { whenDeleted: 'Delete', whenScaled: 'Retain' }));
    await ready('del', 2);
    const set = await getSet('del');
    for (const name of ['data-del-0', 'data-del-1']) {
      const pvc = await c.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, name, { namespace: NS });
      assert.deepEqual(pvc.metadata?.ownerReferences, [{
        apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'del', uid: set.metadata!.uid, controller: true, blockOwnerDeletion: true,
      }]);
    }
    // Back to Retain: the refs go; Delete again: they come back.
    await c.client.patch(R.statefulsets, 'del', { spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain' } } }, { namespace: NS, type: 'merge' });
    await until('claims lose the set ref', async () => (await ownersOf('data-del-0')) === '' && (await ownersOf('data-del-1')) === '', 15_000);
    await c.client.patch(R.statefulsets, 'del', { spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' } } }, { namespace: NS, type: 'merge' });
    await until('claims owned by the set again', async () =>
      (await ownersOf('data-del-0')) === 'StatefulSet/del' && (await ownersOf('data-del-1')) === 'StatefulSet/del', 15_000);

    await c.k(['delete', '-n', NS, 'statefulset/del', '--wait=false']);
    await until('the garbage collector deletes the claims', async () => (await claimNames('del')).length === 0, 30_000);
    // Other sets' claims stay.
    assert.deepEqual(await claimNames('plain'), ['data-plain-0']);
  });

  it('whenScaled=Delete: a scale-down deletes the condemned claims only; the set deletion keeps the rest', async () => {
    await create(statefulSet('sc', 3, { whenDeleted: 'Retain', whenScaled: 'Delete' }));
    await ready('sc', 3);
    assert.deepEqual(await claimNames('sc'), ['data-sc-0', 'data-sc-1', 'data-sc-2']);
    for (const i of [0, 1, 2]) assert.equal(await ownersOf(`data-sc-${i}`), '', 'claims in range are unowned');

    await c.k(['scale', '-n', NS, 'statefulset/sc', '--replicas=1']);
    await until('claims of sc-1 and sc-2 are deleted', async () => (await claimNames('sc')).join() === 'data-sc-0', 30_000);
    assert.equal(await ownersOf('data-sc-0'), '');
    await ready('sc', 1);

    // Scaling up again makes fresh claims (not the ones the garbage collector took).
    await c.k(['scale', '-n', NS, 'statefulset/sc', '--replicas=2']);
    await ready('sc', 2);
    assert.deepEqual(await claimNames('sc'), ['data-sc-0', 'data-sc-1']);
    assert.equal(await ownersOf('data-sc-1'), '');

    // A condemned claim held by a finalizer (as kubernetes.io/pvc-protection would): a new sc-1 is not created
    // on it while it is being deleted, only on a fresh claim once it is gone.
    const HOLD = 'example.com/hold';
    await c.client.patch(R.persistentvolumeclaims, 'data-sc-1', { metadata: { finalizers: [HOLD] } }, { namespace: NS, type: 'merge' });
    const podSc1 = async () => (await c.client.list<Pod>(R.pods, { namespace: NS, labelSelector: 'app=sc' })).items
      .find((p) => p.metadata?.name === 'sc-1');
    await c.k(['scale', '-n', NS, 'statefulset/sc', '--replicas=1']);
    await until('sc-1 deleted', async () => !(await podSc1()), 30_000);
    await until('data-sc-1 is being deleted', async () => !!(await c.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, 'data-sc-1', { namespace: NS })).metadata?.deletionTimestamp, 30_000);
    await c.k(['scale', '-n', NS, 'statefulset/sc', '--replicas=2']);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await podSc1(), undefined, 'no pod on a claim that is being deleted');
    await c.client.patch(R.persistentvolumeclaims, 'data-sc-1', { metadata: { finalizers: null } }, { namespace: NS, type: 'merge' });
    await ready('sc', 2);
    const fresh = await c.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, 'data-sc-1', { namespace: NS });
    assert.equal(fresh.metadata?.deletionTimestamp, undefined);
    assert.deepEqual(fresh.metadata?.finalizers ?? [], []);
    assert.equal(await ownersOf('data-sc-1'), '');

    await c.k(['delete', '-n', NS, 'statefulset/sc', '--wait=false']);
    await until('the pods are gone', async () => (await c.client.list<Pod>(R.pods, { namespace: NS, labelSelector: 'app=sc' })).items.length === 0, 30_000);
    assert.deepEqual(await claimNames('sc'), ['data-sc-0', 'data-sc-1'], 'whenDeleted Retain keeps them');
  });

  it('whenScaled=Delete and whenDeleted=Delete: the condemned claim moves from the set to its pod', async () => {
    await create(statefulSet('both', 2, { whenDeleted: 'Delete', whenScaled: 'Delete' }));
    await ready('both', 2);
    assert.equal(await ownersOf('data-both-1'), 'StatefulSet/both');
    // Every version of the condemned claim, from a watch.
    const versions: string[] = [];
    const watch = new SharedInformer<PersistentVolumeClaim>(c.client, R.persistentvolumeclaims, { namespace: NS });
    const record = (p: PersistentVolumeClaim) => {
      if (p.metadata?.name === 'data-both-1') versions.push((p.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`).join(','));
    };
    watch.addEventHandler({ onAdd: record, onUpdate: (_o, p) => record(p) });
    watch.start();
    try {
      await until('watch has the claim', () => versions.length > 0, 10_000);
      await c.k(['scale', '-n', NS, 'statefulset/both', '--replicas=1']);
      await until('data-both-1 deleted', async () => (await claimNames('both')).join() === 'data-both-0', 30_000);
    } finally {
      await watch.stop();
    }
    assert.ok(versions.includes('Pod/both-1'), `owned by its pod before it went: ${versions.join(' | ')}`);
    assert.ok(versions.every((v) => v === 'StatefulSet/both' || v === 'Pod/both-1'), `one owner at a time: ${versions.join(' | ')}`);
    assert.equal(await ownersOf('data-both-0'), 'StatefulSet/both');
    await c.k(['delete', '-n', NS, 'statefulset/both', '--wait=false']);
    await until('data-both-0 goes with the set', async () => (await claimNames('both')).length === 0, 30_000);
  });
});
