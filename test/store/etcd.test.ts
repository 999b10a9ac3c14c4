// The Store conformance suite against a real 3-member etcd cluster, plus what only a
// distributed store has: a member dying under load.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd/etcd-store.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';
import { runStoreConformance } from './conformance.ts';
import { WatchCollector, uniquePrefix } from './helpers.ts';

let cluster: EtcdCluster;
before(async () => { cluster = await startEtcdCluster(3); });
after(async () => { await cluster?.stop(); });

let n = 0;
runStoreConformance('etcd', async () => {
  const store = openEtcdStore({ endpoints: cluster.endpoints, prefix: `/skiff-test-${n++}` });
  return { store, cleanup: () => store.close() };
});

/** etcd's own count of watchers, summed over the members (its Prometheus gauge). */
async function etcdWatchers(): Promise<number> {
  let total = 0;
  for (const url of cluster.endpoints) {
    const text = await (await fetch(`${url}/metrics`)).text();
    total += Number(/^etcd_debugging_mvcc_watcher_total (\S+)/m.exec(text)?.[1] ?? NaN);
  }
  return total;
}

describe('etcd store', () => {
  it('shares one etcd watch among the watches of a prefix, each from its own revision', async () => {
    const store: EtcdStore = openEtcdStore({ endpoints: cluster.endpoints, prefix: '/skiff-shared' });
    try {
      const prefix = uniquePrefix('shared');
      const start = await store.currentRevision();
      const first = await store.create(`${prefix}a`, '1');
      const before = await etcdWatchers();
      const collectors = Array.from({ length: 20 }, () => new WatchCollector());
      const watches = [];
      // Half from before the first write (replayed from etcd or the ring), half from after it.
      for (const [i, c] of collectors.entries()) watches.push(await store.watch(prefix, i % 2 ? first.revision : start, c));
      await store.create(`${prefix}b`, '2');
      await store.create(`${prefix}c`, '3');
      for (const [i, c] of collectors.entries()) {
        const evs = await c.waitForEvents(i % 2 ? 2 : 3);
        assert.deepEqual(evs.map((e) => e.kv.value), i % 2 ? ['2', '3'] : ['1', '2', '3'], `watch ${i}`);
      }
      const during = await etcdWatchers();
      assert.ok(during - before <= 2, `20 watches of one prefix opened ${during - before} etcd watches`);
      // A watch that joins after events went by gets them, in order, from the shared watch.
      const late = new WatchCollector();
      watches.push(await store.watch(prefix, start, late));
      assert.deepEqual((await late.waitForEvents(3)).map((e) => e.kv.value), ['1', '2', '3']);
      for (const w of watches) w.cancel();
      const deadline = Date.now() + 10_000;
      while (await etcdWatchers() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await etcdWatchers(), before, 'the etcd watch ends with its last watcher');
    } finally {
      await store.close();
    }
  });

  it('keeps writing and watching while a member is killed and restarted', async () => {
    const store: EtcdStore = openEtcdStore({ endpoints: cluster.endpoints, prefix: '/skiff-failover' });
    try {
      const prefix = uniquePrefix('failover');
      const watcher = new WatchCollector();
      const watch = await store.watch(prefix, await store.currentRevision(), watcher);
      const acked: number[] = [];
      const write = async (i: number) => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          try {
            const r = await store.create(`${prefix}${String(i).padStart(4, '0')}`, String(i));
            if (r.ok || r.kv?.value === String(i)) { acked.push(i); return; }
            throw new Error(`create ${i} failed: exists with ${r.kv?.value}`);
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      for (let i = 0; i < 100; i++) await write(i);
      await cluster.kill(0);
      for (let i = 100; i < 200; i++) await write(i);
      await cluster.restart(0);
      for (let i = 200; i < 300; i++) await write(i);
      const listed = await store.list(prefix);
      assert.equal(listed.kvs.length, 300);
      const events = await watcher.waitForEvents(300, 30_000);
      const revisions = events.map((e) => e.kv.modRevision);
      assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'watch events arrive in revision order');
      assert.equal(new Set(events.map((e) => e.kv.key)).size, 300, 'every write seen exactly once');
      watch.cancel();
    } finally {
      await store.close();
    }
  });

  it('sends its calls to one member, and to the next one as soon as that member dies', async () => {
    const store: EtcdStore = openEtcdStore({ endpoints: cluster.endpoints, prefix: '/skiff-pinned' });
    const prefix = uniquePrefix('pinned');
    let killed = -1;
    try {
      const txnsPerMember = async () => Promise.all(cluster.members.map(async (m, i) => (i === killed ? 0
        : Number(/^grpc_server_handled_total\{grpc_code="OK",grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\S+)/m
          .exec(await (await fetch(`${m.clientUrl}/metrics`)).text())?.[1] ?? 0))));
      const writesLandOn = async (from: number) => {
        const before = await txnsPerMember();
        for (let i = from; i < from + 30; i++) assert.ok((await store.create(`${prefix}${i}`, String(i))).ok);
        const after = await txnsPerMember();
        const got = after.map((n, i) => n - before[i]);
        const member = got.findIndex((n) => n >= 30);
        assert.ok(member >= 0 && got.every((n, i) => i === member || n === 0), `all 30 creates on one member, got ${got.join(' / ')}`);
        return member;
      };
      killed = await writesLandOn(0);
      await cluster.kill(killed);
      const next = await writesLandOn(100);
      assert.notEqual(next, killed);
      assert.equal((await store.list(prefix)).kvs.length, 60);
    } finally {
      await store.close();
      if (killed >= 0) await cluster.restart(killed);
    }
  });

  it('lists more than gRPC\'s default 4 MiB message in one range', async () => {
    const store: EtcdStore = openEtcdStore({ endpoints: cluster.endpoints, prefix: '/skiff-big-list' });
    try {
      const prefix = uniquePrefix('big');
      const value = 'x'.repeat(1024 * 1024); // under etcd's 1.5 MiB request limit
      for (let i = 0; i < 6; i++) assert.ok((await store.create(`${prefix}${i}`, value)).ok);
      const listed = await store.list(prefix);
      assert.equal(listed.kvs.length, 6);
      assert.ok(listed.kvs.every((kv) => kv.value.length === value.length));
    } finally {
      await store.close();
    }
  });
});
