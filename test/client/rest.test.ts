// The REST client against the real server: CRUD, the four patch types, status
// subresource, paging, watch, and errors as ApiStatusError.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Deployment } from 'kubernetes-types/apps/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { within } from './helpers.ts';
import { RestClient, type WatchEvent } from '../../src/client/rest.ts';
import { R, builtin } from '../../src/client/resources.ts';
import { ApiStatusError, isAlreadyExists, isConflict, isInvalid, isNotFound } from '../../src/client/errors.ts';
import type { KubeObject } from '../../src/api/types.ts';

describe('RestClient', () => {
  let s: TestServer;
  let c: RestClient;
  const ns = 'rest';
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: ns } });
  });
  after(async () => {
    await c?.close();
    await s?.cleanup();
  });

  it('creates, gets, updates and deletes, with conflicts and not-found as typed errors', async () => {
    const cm = await c.create<ConfigMap>(R.configmaps, { metadata: { name: 'a', namespace: ns }, data: { k: 'v' } });
    assert.equal(cm.kind, 'ConfigMap');
    assert.ok(cm.metadata?.uid);
    await assert.rejects(c.create(R.configmaps, { metadata: { name: 'a', namespace: ns } }), (e) => isAlreadyExists(e) && !isConflict(e));

    const got = await c.get<ConfigMap>(R.configmaps, 'a', { namespace: ns });
    assert.deepEqual(got.data, { k: 'v' });
    const updated = await c.update<ConfigMap>(R.configmaps, { ...got, data: { k: 'w' } });
    assert.notEqual(updated.metadata?.resourceVersion, got.metadata?.resourceVersion);
    // The old resourceVersion lost the race.
    await assert.rejects(c.update(R.configmaps, { ...got, data: { k: 'x' } }), (e) => {
      assert.ok(e instanceof ApiStatusError);
      assert.equal(e.code, 409);
      assert.equal(e.status.reason, 'Conflict');
      return isConflict(e);
    });

    await c.delete(R.configmaps, 'a', { namespace: ns, preconditions: { uid: cm.metadata!.uid! } });
    await assert.rejects(c.get(R.configmaps, 'a', { namespace: ns }), (e) => isNotFound(e) && (e as ApiStatusError).status.message!.includes('"a"'));
  });

  it('reports validation failures as Invalid with causes', async () => {
    await assert.rejects(c.create(R.configmaps, { metadata: { name: 'Bad_Name', namespace: ns } }), (e) => {
      assert.ok(isInvalid(e));
      assert.ok(((e as ApiStatusError).status.details?.causes ?? []).length > 0);
      return true;
    });
  });

  it('patches with merge, strategic, json and apply', async () => {
    await c.create<Deployment>(R.deployments, {
      metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'nginx' }] } } },
    });
    let d = await c.patch<Deployment>(R.deployments, 'web', { metadata: { labels: { tier: 'front' } } }, { namespace: ns });
    assert.deepEqual(d.metadata?.labels, { app: 'web', tier: 'front' });
    // Strategic merge keys containers by name: adds b, keeps a.
    d = await c.patch<Deployment>(R.deployments, 'web', { spec: { template: { spec: { containers: [{ name: 'b', image: 'redis' }] } } } },
      { namespace: ns, type: 'strategic' });
    assert.deepEqual(d.spec?.template.spec?.containers.map((x) => x.name).sort(), ['a', 'b']);
    d = await c.patch<Deployment>(R.deployments, 'web', [{ op: 'replace', path: '/spec/replicas', value: 3 }], { namespace: ns, type: 'json' });
    assert.equal(d.spec?.replicas, 3);
    d = await c.apply<Deployment>(R.deployments, { metadata: { name: 'web', namespace: ns }, spec: { replicas: 5 } } as Deployment,
      { fieldManager: 'tester', force: true });
    assert.equal(d.spec?.replicas, 5);
    assert.ok(d.metadata?.managedFields?.some((f) => f.manager === 'tester' && f.operation === 'Apply'));

    const scale = await c.get(R.deployments, 'web', { namespace: ns, subresource: 'scale' });
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 5);
  });

  it('updates only status through updateStatus', async () => {
    const pod = await c.create<Pod>(R.pods, { metadata: { name: 'p', namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const withStatus = await c.updateStatus<Pod>(R.pods, { ...pod, spec: { ...pod.spec!, activeDeadlineSeconds: 5 }, status: { phase: 'Running' } });
    assert.equal(withStatus.status?.phase, 'Running');
    assert.equal(withStatus.spec?.activeDeadlineSeconds, undefined, 'spec changes are ignored on status');
  });

  it('lists in pages and by label', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, i) =>
      c.create(R.configmaps, { metadata: { name: `page-${i}`, namespace: ns, labels: { set: i % 2 ? 'odd' : 'even' } } })));
    const first = await c.list(R.configmaps, { namespace: ns, labelSelector: 'set', limit: 5 });
    assert.equal(first.items.length, 5);
    assert.ok(first.metadata.continue);
    const all = await c.listAll(R.configmaps, { namespace: ns, labelSelector: 'set', pageSize: 5 });
    assert.equal(all.items.length, 12);
    assert.ok(Number(all.resourceVersion) > 0);
    const odd = await c.list(R.configmaps, { namespace: ns, labelSelector: 'set=odd' });
    assert.equal(odd.items.length, 6);
  });

  it('watches from a resourceVersion and stops on abort', async () => {
    const start = await c.list(R.configmaps, { namespace: ns });
    const ac = new AbortController();
    const events: WatchEvent[] = [];
    const done = (async () => {
      try {
        for await (const ev of c.watch(R.configmaps, { namespace: ns, resourceVersion: start.metadata.resourceVersion, signal: ac.signal })) {
          events.push(ev);
          if (events.length === 3) ac.abort();
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();
    await c.create(R.configmaps, { metadata: { name: 'w', namespace: ns } });
    await c.patch(R.configmaps, 'w', { data: { a: '1' } }, { namespace: ns });
    await c.delete(R.configmaps, 'w', { namespace: ns });
    await within('the watch sees 3 events', done, 10000);
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    assert.equal((events[1].object as KubeObject).data.a, '1');
  });

  it('knows the built-in catalog by plural, plural.group and kind', () => {
    assert.equal(builtin('deployments.apps').kind, 'Deployment');
    assert.equal(builtin('Lease').group, 'coordination.k8s.io');
    assert.equal(builtin('events').group, '', 'core events win the bare plural');
    assert.throws(() => builtin('nope'), /unknown built-in resource/);
  });
});
