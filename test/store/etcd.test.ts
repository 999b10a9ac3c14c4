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

  it('sends its calls to the leader, to another member as soon as it dies, then to the new leader', async () => {
    const store: EtcdStore = openEtcdStore({ endpoints: cluster.endpoints, prefix: '/skiff-pinned' });
    const prefix = uniquePrefix('pinned');
    let killed = -1;
    let dead = -1;
    let written = 0;
    try {
      const metric = async (i: number, re: RegExp) => (i === dead ? 0 : Number(re.exec(await (await fetch(`${cluster.members[i].clientUrl}/metrics`)).text())?.[1] ?? 0));
      const txns = () => Promise.all(cluster.members.map((_, i) =>
        metric(i, /^grpc_server_handled_total\{grpc_code="OK",grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\S+)/m)));
      const leader = async () => (await Promise.all(cluster.members.map((_, i) => metric(i, /^etcd_server_is_leader (\S+)/m)))).indexOf(1);
      /** Members that took the creates of a batch of 10. */
      const batch = async () => {
        const before = await txns();
        for (let i = 0; i < 10; i++, written++) assert.ok((await store.create(`${prefix}${written}`, String(written))).ok);
        return (await txns()).map((n, i) => n - before[i]).flatMap((n, i) => (n > 0 ? [i] : []));
      };
      /** Batches until one lands on the leader alone (the pin follows an election within seconds). */
      const settlesOnLeader = async () => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const members = await batch();
          const l = await leader();
          if (l >= 0 && members.length === 1 && members[0] === l) return l;
          assert.ok(Date.now() < deadline, `writes did not settle on the leader (${l}): last batch on ${members.join(', ')}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      killed = await settlesOnLeader();
      assert.deepEqual(await batch(), [killed], 'the next writes stay on that one member');
      await cluster.kill(killed);
      dead = killed;
      assert.ok(!(await batch()).includes(killed), 'writes go on without the killed member');
      const next = await settlesOnLeader();
      assert.notEqual(next, killed);
      assert.equal((await store.list(prefix)).kvs.length, written);
    } finally {
      await store.close();
      if (dead >= 0) await cluster.restart(dead);
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
