import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound, R } from '../../src/client/index.ts';
import { definition } from '../../src/controllers/namespace.ts';
import { createOpenCrd, type Harness, startHarness, waitFor } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness([definition]);
});
after(() => h?.stop());

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: nginx }] }
`;

test('kubectl delete namespace empties it and returns once it is gone', async () => {
  await h.k(['create', 'namespace', 'shop']);
  await h.k(['-n', 'shop', 'create', 'configmap', 'settings', '--from-literal=a=b']);
  await h.k(['-n', 'shop', 'create', 'secret', 'generic', 'token', '--from-literal=t=s']);
  await h.k(['apply', '-f', '-'], { input: DEPLOYMENT });
  const started = Date.now();
  await h.k(['delete', 'namespace', 'shop', '--timeout=20s'], { timeoutMs: 25_000 });
  assert.ok(Date.now() - started < 20_000);
  await assert.rejects(h.client.get(R.namespaces, 'shop'), isNotFound);
  for (const r of [R.configmaps, R.secrets, R.deployments]) {
    const { items } = await h.client.list(r, { namespace: 'shop' });
    assert.deepEqual(items.map((i) => i.metadata?.name), [], `${r.plural} left in shop`);
  }
});

test('content with a finalizer keeps the namespace Terminating with conditions saying why', async () => {
  await h.k(['create', 'namespace', 'held']);
  await h.client.create(R.configmaps, { metadata: { name: 'pinned', namespace: 'held', finalizers: ['example.com/hold'] } });
  await h.k(['delete', 'namespace', 'held', '--wait=false']);
  const ns = await waitFor('NamespaceFinalizersRemaining on held', async () => {
    const n = await h.client.get<Namespace>(R.namespaces, 'held');
    return n.status?.conditions?.some((c) => c.type === 'NamespaceFinalizersRemaining' && c.status === 'True') ? n : undefined;
  });
  assert.equal(ns.status?.phase, 'Terminating');
  const byType = new Map(ns.status!.conditions!.map((c) => [c.type, c]));
  assert.equal(byType.get('NamespaceContentRemaining')?.status, 'True');
  assert.match(byType.get('NamespaceContentRemaining')!.message!, /configmaps\. has 1 resource instances/);
  assert.match(byType.get('NamespaceFinalizersRemaining')!.message!, /example\.com\/hold in 1 resource instances/);
  assert.equal(byType.get('NamespaceDeletionDiscoveryFailure')?.status, 'False');
  assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);

  // Once the finalizer goes, so do the configmap and then the namespace.
  await h.client.patch(R.configmaps, 'pinned', { metadata: { finalizers: null } }, { namespace: 'held' });
  await waitFor('namespace held to be deleted', async () => {
    try {
      await h.client.get(R.namespaces, 'held');
      return false;
    } catch (e) {
      return isNotFound(e);
    }
  }, 20_000);
});

test('custom resources in the namespace are deleted too', async () => {
  const widgets = await createOpenCrd(h, 'widgets', 'Widget');
  await h.k(['create', 'namespace', 'factory']);
  await waitFor('widgets to be served', () => h.client.create(widgets, { metadata: { name: 'w1', namespace: 'factory' } }));
  await h.k(['delete', 'namespace', 'factory', '--timeout=20s'], { timeoutMs: 25_000 });
  await assert.rejects(h.client.get(widgets, 'w1', { namespace: 'factory' }), isNotFound);
});
