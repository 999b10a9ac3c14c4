import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { isNotFound, R } from '../../src/client/index.ts';
import { definition } from '../../src/controllers/garbage-collector.ts';
import { createOpenCrd, type Harness, startHarness, waitFor } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness([definition]);
  await h.k(['create', 'namespace', 'gc']);
});
after(() => h?.stop());

/** A ConfigMap, and one owned by it. */
async function ownerAndDependent(prefix: string, blockOwnerDeletion?: boolean): Promise<{ owner: ConfigMap; dependent: ConfigMap }> {
  const owner = await h.client.create<ConfigMap>(R.configmaps, { metadata: { name: `${prefix}-owner`, namespace: 'gc' } });
  const dependent = await h.client.create<ConfigMap>(R.configmaps, {
    metadata: {
      name: `${prefix}-dependent`, namespace: 'gc',
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid!,
        ...(blockOwnerDeletion !== undefined ? { blockOwnerDeletion } : {}) }],
    },
  });
  return { owner, dependent };
}

const gone = (name: string) => async () => {
  try {
    await h.client.get(R.configmaps, name, { namespace: 'gc' });
    return false;
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
};

test('background: dependents of a deleted owner are deleted', async () => {
  await ownerAndDependent('bg');
  await h.k(['-n', 'gc', 'delete', 'configmap', 'bg-owner']);
  await waitFor('bg-dependent to be collected', gone('bg-dependent'));
});

test('a dependent whose owner never existed is collected; one with a live owner stays', async () => {
  const { dependent } = await ownerAndDependent('live');
  await h.client.create(R.configmaps, { metadata: { name: 'stray', namespace: 'gc',
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nobody', uid: '00000000-0000-0000-0000-000000000000' }] } });
  await waitFor('stray to be collected', gone('stray'));
  const still = await h.client.get<ConfigMap>(R.configmaps, 'live-dependent', { namespace: 'gc' });
  assert.equal(still.metadata?.uid, dependent.metadata?.uid);
});

test('foreground: the owner stays (with foregroundDeletion) until its blocking dependent is gone', async () => {
  await h.client.create(R.configmaps, { metadata: { name: 'fg-owner', namespace: 'gc' } });
  const owner = await h.client.get<ConfigMap>(R.configmaps, 'fg-owner', { namespace: 'gc' });
  // The dependent has a finalizer of its own, so the owner must visibly wait for it.
  await h.client.create(R.configmaps, { metadata: { name: 'fg-dependent', namespace: 'gc', finalizers: ['example.com/slow'],
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'fg-owner', uid: owner.metadata!.uid!, blockOwnerDeletion: true }] } });
  const deleting = h.kubectl(['-n', 'gc', 'delete', 'configmap', 'fg-owner', '--cascade=foreground', '--timeout=20s'], { timeoutMs: 25_000 });
  await waitFor('fg-dependent to be deleting', async () =>
    (await h.client.get<ConfigMap>(R.configmaps, 'fg-dependent', { namespace: 'gc' })).metadata?.deletionTimestamp);
  await new Promise((r) => setTimeout(r, 500));
  const waiting = await h.client.get<ConfigMap>(R.configmaps, 'fg-owner', { namespace: 'gc' });
  assert.ok(waiting.metadata?.deletionTimestamp);
  assert.deepEqual(waiting.metadata?.finalizers, ['foregroundDeletion']);

  await h.client.patch(R.configmaps, 'fg-dependent', { metadata: { finalizers: null } }, { namespace: 'gc' });
  const r = await deleting;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await gone('fg-owner')());
  assert.ok(await gone('fg-dependent')());
});

test('kubectl --cascade=foreground returns after the dependent is deleted', async () => {
  await ownerAndDependent('fg2', true);
  await h.k(['-n', 'gc', 'delete', 'configmap', 'fg2-owner', '--cascade=foreground', '--timeout=20s'], { timeoutMs: 25_000 });
  assert.ok(await gone('fg2-dependent')(), 'the dependent is gone when the owner is');
});

test('orphan: the dependent stays, without the ownerReference', async () => {
  const { dependent } = await ownerAndDependent('or', true);
  await h.k(['-n', 'gc', 'delete', 'configmap', 'or-owner', '--cascade=orphan', '--timeout=20s'], { timeoutMs: 25_000 });
  assert.ok(await gone('or-owner')());
  const left = await h.client.get<ConfigMap>(R.configmaps, 'or-dependent', { namespace: 'gc' });
  assert.equal(left.metadata?.uid, dependent.metadata?.uid);
  assert.equal(left.metadata?.ownerReferences, undefined);
  // And it is not collected later either.
  await new Promise((r) => setTimeout(r, 1000));
  await h.client.get(R.configmaps, 'or-dependent', { namespace: 'gc' });
});

test('custom resources are owners and dependents too', async () => {
  const gadgets = await createOpenCrd(h, 'gadgets', 'Gadget');
  const owner = await waitFor('gadgets to be served', () => h.client.create<KubeObject>(gadgets, { metadata: { name: 'g-owner', namespace: 'gc' } }));
  await h.client.create(gadgets, { metadata: { name: 'g-dependent', namespace: 'gc',
    ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g-owner', uid: owner.metadata!.uid! }] } });
  await h.client.create(R.configmaps, { metadata: { name: 'g-config', namespace: 'gc',
    ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g-owner', uid: owner.metadata!.uid! }] } });
  await h.client.delete(gadgets, 'g-owner', { namespace: 'gc' });
  await waitFor('g-config to be collected', gone('g-config'), 20_000);
  await waitFor('g-dependent to be collected', async () => {
    try {
      await h.client.get(gadgets, 'g-dependent', { namespace: 'gc' });
      return false;
    } catch (e) {
      return isNotFound(e);
    }
  }, 20_000);
});

test('a cluster-scoped object owned by a namespaced kind is left alone, with a Warning event', async () => {
  await h.client.create(R.priorityclasses, { metadata: { name: 'odd-owner',
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nobody', uid: '11111111-1111-1111-1111-111111111111' }] }, value: 1000 });
  const ev = await waitFor('an OwnerRefInvalidNamespace event', async () => {
    const { items } = await h.client.list(R.events, { namespace: 'default' });
    return items.find((e) => e.reason === 'OwnerRefInvalidNamespace' && e.involvedObject?.name === 'odd-owner');
  });
  assert.equal(ev.type, 'Warning');
  await h.client.get(R.priorityclasses, 'odd-owner');
});
