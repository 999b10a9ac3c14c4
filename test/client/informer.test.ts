// The shared informer against the real server: its cache follows the server
// through a burst of writes, handlers see every change, indexes track label
// changes, resync re-delivers, objects are frozen, and the factory shares informers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { SharedInformer } from '../../src/client/informer.ts';
import { SharedInformerFactory } from '../../src/client/informer-factory.ts';
import { cacheMatchesServer, until } from './helpers.ts';

describe('SharedInformer', () => {
  let s: TestServer;
  let c: RestClient;
  const informers: { stop(): Promise<void> }[] = [];
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    for (const ns of ['burst', 'idx', 'resync', 'shared']) await c.create(R.namespaces, { metadata: { name: ns } });
  });
  after(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await c?.close();
    await s?.cleanup();
  });
  const track = <T extends { stop(): Promise<void> }>(i: T) => (informers.push(i), i);

  it('equals the server after a burst of creates, updates and deletes, telling handlers each change', async () => {
    const ns = 'burst';
    // Objects that exist before the informer starts come as initial adds.
    for (let i = 0; i < 30; i++) await c.create(R.configmaps, { metadata: { name: `pre-${i}`, namespace: ns }, data: { v: '0' } });
    // Handler assertion failures and watch errors end up here (the informer reports, never rethrows, them).
    const problems: string[] = [];
    const informer = track(new SharedInformer<ConfigMap>(c, R.configmaps, { namespace: ns, pageSize: 7, log: (m) => problems.push(m) }));
    const live = new Map<string, ConfigMap>();
    let initialAdds = 0;
    let deletes = 0;
    informer.addEventHandler({
      onAdd: (o, initial) => {
        assert.ok(!live.has(o.metadata!.name!), `double add of ${o.metadata!.name}`);
        live.set(o.metadata!.name!, o);
        if (initial) initialAdds++;
      },
      onUpdate: (old, o) => {
        assert.equal(live.get(o.metadata!.name!), old, 'old is what the handler last saw');
        live.set(o.metadata!.name!, o);
      },
      onDelete: (o, unknown) => {
        assert.equal(unknown, false);
        assert.ok(live.delete(o.metadata!.name!));
        deletes++;
      },
    });
    informer.start();
    assert.equal(await informer.waitForSync(10000), true);
    assert.equal(initialAdds, 30);
    assert.equal(informer.stats.lists, 1);

    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) ops.push(c.create(R.configmaps, { metadata: { name: `cm-${i}`, namespace: ns }, data: { v: '0' } }));
    await Promise.all(ops.splice(0));
    for (let i = 0; i < 60; i += 2) ops.push(c.patch(R.configmaps, `cm-${i}`, { data: { v: String(i) } }, { namespace: ns }));
    for (let i = 0; i < 30; i += 3) ops.push(c.delete(R.configmaps, `pre-${i}`, { namespace: ns }));
    for (let i = 1; i < 60; i += 4) ops.push(c.delete(R.configmaps, `cm-${i}`, { namespace: ns }));
    await Promise.all(ops);

    await until('cache equals the server', () => cacheMatchesServer(c, R.configmaps, informer as SharedInformer, ns));
    assert.equal(informer.list(ns).length, 30 + 60 - 10 - 15);
    assert.equal(deletes, 25);
    assert.equal(live.size, informer.list().length, 'handlers saw the same set');
    assert.equal(informer.getByName('cm-2', ns)?.data?.v, '2');
    assert.equal(informer.get(`${ns}/cm-1`), undefined);
    assert.equal(informer.stats.lists, 1, 'no relist was needed');
    assert.deepEqual(problems, []);

    // Cached objects are shared: frozen, so a careless controller fails loudly.
    const cached = informer.getByName('cm-0', ns)!;
    assert.throws(() => {
      (cached.data as Record<string, string>).v = 'mutated';
    }, TypeError);
  });

  it('keeps indexes current as labels change', async () => {
    const ns = 'idx';
    const informer = track(new SharedInformer<ConfigMap>(c, R.configmaps, { namespace: ns }));
    informer.addIndexer('by-app', (o) => (o.metadata?.labels?.app ? [o.metadata.labels.app] : []));
    informer.start();
    await informer.waitForSync(10000);
    await c.create(R.configmaps, { metadata: { name: 'a', namespace: ns, labels: { app: 'web' } } });
    await c.create(R.configmaps, { metadata: { name: 'b', namespace: ns, labels: { app: 'web' } } });
    await c.create(R.configmaps, { metadata: { name: 'c', namespace: ns, labels: { app: 'db' } } });
    const names = (app: string) => informer.byIndex('by-app', app).map((o) => o.metadata!.name).sort();
    await until('three indexed', () => informer.list().length === 3);
    assert.deepEqual(names('web'), ['a', 'b']);
    assert.deepEqual(names('db'), ['c']);

    await c.patch(R.configmaps, 'b', { metadata: { labels: { app: 'db' } } }, { namespace: ns });
    await c.delete(R.configmaps, 'c', { namespace: ns });
    await until('b moved, c gone', () => names('web').length === 1 && names('db').join() === 'b');
    assert.deepEqual(informer.indexKeys('by-app', 'web'), [`${ns}/a`]);
    assert.deepEqual(informer.byIndex('by-app', 'nothing'), []);
    assert.throws(() => informer.byIndex('missing', 'x'), /no indexer named "missing"/);
  });

  it('re-delivers every cached object as an update on resync', async () => {
    const ns = 'resync';
    await c.create(R.configmaps, { metadata: { name: 'r1', namespace: ns } });
    await c.create(R.configmaps, { metadata: { name: 'r2', namespace: ns } });
    const informer = track(new SharedInformer<ConfigMap>(c, R.configmaps, { namespace: ns, resyncPeriodMs: 150 }));
    const resynced = new Map<string, number>();
    informer.addEventHandler({
      onUpdate: (old, o) => {
        if (old === o) resynced.set(o.metadata!.name!, (resynced.get(o.metadata!.name!) ?? 0) + 1);
      },
    });
    informer.start();
    await until('two resyncs of each', () => (resynced.get('r1') ?? 0) >= 2 && (resynced.get('r2') ?? 0) >= 2, 5000);
  });

  it('factory shares one informer per resource and selection; late handlers get the cache as adds', async () => {
    const ns = 'shared';
    await c.create(R.configmaps, { metadata: { name: 's1', namespace: ns, labels: { x: '1' } } });
    const factory = track(new SharedInformerFactory(c));
    const a = factory.informerFor<ConfigMap>(R.configmaps, { namespace: ns });
    const b = factory.informerFor<ConfigMap>(R.configmaps, { namespace: ns });
    const selected = factory.informerFor<ConfigMap>(R.configmaps, { namespace: ns, labelSelector: 'x=2' });
    assert.equal(a, b);
    assert.notEqual(a, selected);
    factory.start();
    assert.equal(await factory.waitForSync(10000), true);
    assert.equal(selected.list().length, 0);
    const late: string[] = [];
    a.addEventHandler({ onAdd: (o, initial) => late.push(`${o.metadata!.name}:${initial}`) });
    assert.deepEqual(late, ['s1:true']);
    // Created after start: started at once.
    const pods = factory.informerFor(R.pods, { namespace: ns });
    assert.equal(await pods.waitForSync(10000), true);
    await c.create(R.configmaps, { metadata: { name: 's2', namespace: ns, labels: { x: '2' } } });
    await until('selected informer sees s2', () => selected.list().length === 1);
    await until('the unselected one sees both', () => a.list().length === 2);
    assert.equal(selected.list()[0].metadata?.name, 's2');
  });
});
