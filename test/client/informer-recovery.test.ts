// The informer recovers: from 410 Gone (history compacted while its watch was
// away) by relisting and reporting missed deletes as final-state-unknown, and
// from a server restart by resuming its watch from the last resourceVersion.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { SharedInformer } from '../../src/client/informer.ts';
import { isGone } from '../../src/client/errors.ts';
import { cacheMatchesServer, freePort, until } from './helpers.ts';

describe('SharedInformer recovery', () => {
  let s: TestServer;
  let c: RestClient;
  let dataDir: string;
  let port: number;
  const informers: SharedInformer<ConfigMap>[] = [];
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-client-recovery-'));
    port = await freePort();
    s = await startServer({ dataDir, port, extraArgs: ['--etcd-compaction-interval', '1s', '--disable-controllers'] });
    c = RestClient.fromKubeconfig(s.kubeconfig);
    for (const ns of ['gone', 'filler', 'restart']) await c.create(R.namespaces, { metadata: { name: ns } });
  });
  after(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await c?.close();
    await s?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('relists after 410 Gone and reports deletes it missed as final state unknown', async () => {
    const ns = 'gone';
    for (const name of ['keep', 'change', 'remove']) await c.create(R.configmaps, { metadata: { name, namespace: ns }, data: { v: '0' } });
    const informer = new SharedInformer<ConfigMap>(c, R.configmaps, { namespace: ns, log: () => {} });
    informers.push(informer);
    const deletes: string[] = [];
    const updates: string[] = [];
    const adds: string[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) => initial || adds.push(o.metadata!.name!),
      onUpdate: (_old, o) => updates.push(`${o.metadata!.name}=${o.data?.v}`),
      onDelete: (o, unknown) => deletes.push(`${o.metadata!.name}:${unknown}`),
    });
    informer.start();
    assert.equal(await informer.waitForSync(10000), true);
    const staleRv = informer.lastSyncResourceVersion;

    // While the watch is away: changes the informer must catch up on...
    informer.testHooks.pause();
    await c.delete(R.configmaps, 'remove', { namespace: ns });
    await c.patch(R.configmaps, 'change', { data: { v: '1' } }, { namespace: ns });
    await c.create(R.configmaps, { metadata: { name: 'new', namespace: ns } });
    // ...and enough other writes that compaction (every 1 s, keeping 1,000 revisions) forgets staleRv.
    for (let i = 0; i < 1100; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => c.create(R.configmaps, { metadata: { name: `f-${i + j}`, namespace: 'filler' } })));
    }
    await until('the stale resourceVersion is compacted', async () => {
      try {
        await c.list(R.configmaps, { namespace: ns, resourceVersion: staleRv, resourceVersionMatch: 'Exact' });
        return false;
      } catch (e) {
        if (isGone(e)) return true;
        throw e;
      }
    }, 10000);

    informer.testHooks.resumeFrom(staleRv);
    await until('relisted after 410', () => informer.stats.relistsAfterGone >= 1 && informer.stats.lists >= 2);
    await until('cache equals the server', () => cacheMatchesServer(c, R.configmaps, informer as never, ns));
    assert.deepEqual(deletes, ['remove:true']);
    assert.deepEqual(updates, ['change=1'], 'only the changed object is re-sent as an update');
    assert.deepEqual(adds, ['new']);
    assert.ok(Number(informer.lastSyncResourceVersion) > Number(staleRv) + 1000);

    // And the new watch works.
    await c.delete(R.configmaps, 'keep', { namespace: ns });
    await until('watch delivers the next delete', () => deletes.includes('keep:false'));
  });

  it('resumes its watch from the last resourceVersion across a server restart', async () => {
    const ns = 'restart';
    for (let i = 0; i < 5; i++) await c.create(R.configmaps, { metadata: { name: `r-${i}`, namespace: ns }, data: { v: '0' } });
    const errors: string[] = [];
    const informer = new SharedInformer<ConfigMap>(c, R.configmaps, { namespace: ns, log: (m) => errors.push(m) });
    informers.push(informer);
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) => initial || seen.push(`add ${o.metadata!.name}`),
      onUpdate: (_old, o) => seen.push(`update ${o.metadata!.name}=${o.data?.v}`),
      onDelete: (o, unknown) => seen.push(`delete ${o.metadata!.name}${unknown ? ' (unknown)' : ''}`),
    });
    informer.start();
    assert.equal(await informer.waitForSync(10000), true);

    await s.stop();
    s = await startServer({ dataDir, port, extraArgs: ['--etcd-compaction-interval', '1s', '--disable-controllers'] });
    await c.patch(R.configmaps, 'r-1', { data: { v: '1' } }, { namespace: ns });
    await c.delete(R.configmaps, 'r-2', { namespace: ns });
    await c.create(R.configmaps, { metadata: { name: 'r-new', namespace: ns } });

    await until('cache equals the server after the restart', () => cacheMatchesServer(c, R.configmaps, informer as never, ns), 20000);
    await until('all three events seen', () => seen.length >= 3);
    assert.deepEqual(seen, ['update r-1=1', 'delete r-2', 'add r-new'], 'the watch resumed: exact events, no relist diff');
    assert.equal(informer.stats.lists, 1, 'no relist');
    assert.ok(errors.length >= 1, 'the disconnect was reported');
    assert.ok(informer.stats.watches >= 2);
  });
});
