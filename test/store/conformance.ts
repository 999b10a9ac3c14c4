// The behaviour every Store backend must have, written once and run against each
// (sqlite.test.ts now, an etcd backend later). Tests only assume what the Store
// interface promises: each uses its own key prefix and never assumes the store is
// empty or that revisions start at a particular number.
//
// makeStore returns a fresh (or shared) store and a cleanup that must tolerate a
// store the test already closed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CompactedError, FutureRevisionError } from '../../src/store/store.ts';
import type { Store, WatchEvent } from '../../src/store/store.ts';
import { WatchCollector, settle, uniquePrefix } from './helpers.ts';

export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

export function runStoreConformance(name: string, makeStore: MakeStore): void {
  const withStore = async (fn: (store: Store) => Promise<void>): Promise<void> => {
    const { store, cleanup } = await makeStore();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  };

  describe(`Store conformance: ${name}`, () => {
    describe('writes', () => {
      it('create fails when the key exists and returns the current kv', () =>
        withStore(async (store) => {
          const key = `${uniquePrefix('create')}a`;
          const first = await store.create(key, 'one');
          assert.equal(first.ok, true);
          assert.deepEqual(first.kv, { key, value: 'one', createRevision: first.revision, modRevision: first.revision });

          const second = await store.create(key, 'two');
          assert.equal(second.ok, false);
          assert.deepEqual(second.kv, first.kv);
          assert.equal(second.revision, first.revision, 'a failed create does not bump the revision');
          assert.equal((await store.get(key)).kv?.value, 'one');
        }));

      it('update succeeds only with the current modRevision and keeps createRevision', () =>
        withStore(async (store) => {
          const key = `${uniquePrefix('update')}a`;
          const created = await store.create(key, 'v1');
          const updated = await store.update(key, 'v2', created.revision);
          assert.equal(updated.ok, true);
          assert.ok(updated.revision > created.revision);
          assert.deepEqual(updated.kv, { key, value: 'v2', createRevision: created.revision, modRevision: updated.revision });

          const stale = await store.update(key, 'v3', created.revision);
          assert.equal(stale.ok, false);
          assert.deepEqual(stale.kv, updated.kv, 'a failed update returns the current kv');
          assert.equal(stale.revision, updated.revision);
          assert.equal((await store.get(key)).kv?.value, 'v2');

          const missing = await store.update(`${key}-missing`, 'x', updated.revision);
          assert.equal(missing.ok, false);
          assert.equal(missing.kv, undefined);
        }));

      it('delete honours its precondition and returns the deleted value', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('delete');
          const key = `${prefix}a`;
          const created = await store.create(key, 'v1');
          const updated = await store.update(key, 'v2', created.revision);

          const wrong = await store.delete(key, created.revision);
          assert.equal(wrong.ok, false);
          assert.deepEqual(wrong.kv, updated.kv);
          assert.equal((await store.get(key)).kv?.value, 'v2', 'a failed delete keeps the key');

          const deleted = await store.delete(key, updated.revision);
          assert.equal(deleted.ok, true);
          assert.ok(deleted.revision > updated.revision);
          assert.equal(deleted.kv?.value, 'v2');
          assert.equal(deleted.kv?.createRevision, created.revision);
          assert.equal((await store.get(key)).kv, undefined);
          assert.equal((await store.delete(key)).ok, false, 'deleting a missing key fails');

          const other = await store.create(`${prefix}b`, 'x');
          const unconditional = await store.delete(`${prefix}b`);
          assert.equal(unconditional.ok, true);
          assert.equal(unconditional.kv?.modRevision, other.revision);

          const recreated = await store.create(key, 'again');
          assert.equal(recreated.ok, true);
          assert.equal(recreated.kv?.createRevision, recreated.revision, 'a recreated key starts a new life');
        }));

      it('gives every write a strictly higher revision; failed writes do not bump it', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('revisions');
          let last = await store.currentRevision();
          for (let i = 0; i < 20; i++) {
            const key = `${prefix}${i % 4}`;
            const existing = (await store.get(key)).kv;
            const result = existing
              ? i % 3 === 0
                ? await store.delete(key, existing.modRevision)
                : await store.update(key, `v${i}`, existing.modRevision)
              : await store.create(key, `v${i}`);
            assert.equal(result.ok, true);
            assert.ok(result.revision > last, `revision ${result.revision} after ${last}`);
            last = result.revision;
            assert.equal(await store.currentRevision(), last);
          }
          await store.create(`${prefix}0`, 'x');
          await store.create(`${prefix}0`, 'y');
          const now = await store.currentRevision();
          await store.update(`${prefix}0`, 'z', 1);
          assert.equal(await store.currentRevision(), now);
        }));

      it('concurrent compare-and-swap writes: exactly one wins', () =>
        withStore(async (store) => {
          const key = `${uniquePrefix('cas')}a`;
          const creates = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create(key, `c${i}`)));
          assert.equal(creates.filter((r) => r.ok).length, 1);
          const base = (await store.get(key)).kv!;
          const updates = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.update(key, `u${i}`, base.modRevision)),
          );
          const winners = updates.filter((r) => r.ok);
          assert.equal(winners.length, 1);
          assert.equal((await store.get(key)).kv?.value, winners[0].kv?.value);
        }));
    });

    describe('reads', () => {
      it('get reads the latest value, or the value at an older revision', () =>
        withStore(async (store) => {
          const key = `${uniquePrefix('get')}a`;
          const before = await store.currentRevision();
          const v1 = await store.create(key, 'v1');
          const v2 = await store.update(key, 'v2', v1.revision);
          const gone = await store.delete(key);

          assert.equal((await store.get(key)).kv, undefined);
          assert.equal((await store.get(key)).revision, gone.revision);
          assert.equal((await store.get(key, before)).kv, undefined, 'not yet created');
          assert.deepEqual((await store.get(key, v1.revision)).kv, v1.kv);
          assert.deepEqual((await store.get(key, v2.revision)).kv, v2.kv);
          assert.deepEqual((await store.get(key, gone.revision - 1)).kv, v2.kv);
          assert.equal((await store.get(key, v1.revision)).revision, v1.revision);
          await assert.rejects(store.get(key, gone.revision + 1000), FutureRevisionError);
          await assert.rejects(store.list('/', { revision: gone.revision + 1000 }), FutureRevisionError);
        }));

      it('list matches the exact string prefix and sorts by key', () =>
        withStore(async (store) => {
          const root = uniquePrefix('prefix');
          const keys = [`${root}p/b`, `${root}p/a`, `${root}p/a/nested`, `${root}pa/x`, `${root}p`, `${root}q/a`];
          const wild = [`${root}w%/a`, `${root}w_/b`, `${root}wx/c`, `${root}w%x/d`];
          for (const key of [...keys, ...wild]) await store.create(key, key);

          const listed = await store.list(`${root}p/`);
          assert.deepEqual(listed.kvs.map((kv) => kv.key), [`${root}p/a`, `${root}p/a/nested`, `${root}p/b`]);
          assert.equal(listed.remaining, 0);
          assert.equal(listed.revision, await store.currentRevision());
          assert.deepEqual((await store.list(`${root}w%/`)).kvs.map((kv) => kv.key), [`${root}w%/a`]);
          assert.deepEqual((await store.list(`${root}w_/`)).kvs.map((kv) => kv.key), [`${root}w_/b`]);
          assert.equal((await store.list(root)).kvs.length, keys.length + wild.length);
          assert.deepEqual((await store.list(`${root}nothing/`)).kvs, []);
          assert.deepEqual(await store.count(`${root}p/`), { count: 3, revision: listed.revision });
          assert.equal((await store.count(`${root}w%`)).count, 2);
        }));

      it('list pages with limit and startKey over a consistent snapshot', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('paging');
          for (let i = 0; i < 10; i++) await store.create(`${prefix}k${i}`, `v${i}`);
          const full = await store.list(prefix);
          assert.equal(full.kvs.length, 10);

          const first = await store.list(prefix, { limit: 3 });
          assert.deepEqual(first.kvs, full.kvs.slice(0, 3));
          assert.equal(first.remaining, 7);
          assert.equal(first.revision, full.revision);

          // Writes after the first page must not show on later pages read at its revision.
          await store.delete(`${prefix}k5`);
          const k7 = (await store.get(`${prefix}k7`)).kv!;
          await store.update(`${prefix}k7`, 'changed', k7.modRevision);
          await store.create(`${prefix}k45`, 'new');
          await store.create(`${prefix}k99`, 'new');

          const pages = [first];
          let page = first;
          while (page.remaining > 0) {
            const startKey = `${page.kvs[page.kvs.length - 1].key}\u0000`;
            page = await store.list(prefix, { revision: first.revision, limit: 3, startKey });
            assert.equal(page.revision, first.revision);
            pages.push(page);
          }
          assert.deepEqual(pages.map((p) => p.remaining), [7, 4, 1, 0]);
          assert.deepEqual(pages.flatMap((p) => p.kvs), full.kvs);

          // The latest revision sees the writes.
          const latest = await store.list(prefix, { limit: 4, startKey: `${prefix}k4` });
          assert.deepEqual(latest.kvs.map((kv) => kv.key), [`${prefix}k4`, `${prefix}k45`, `${prefix}k6`, `${prefix}k7`]);
          assert.equal(latest.kvs[3].value, 'changed');
          assert.equal(latest.remaining, 3);
        }));
    });

    describe('compaction', () => {
      it('rejects reads and watches below the compacted revision and keeps the latest values', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('compact');
          const stable = await store.create(`${prefix}stable`, 'kept');
          const churn = await store.create(`${prefix}churn`, 'c1');
          const doomed = await store.create(`${prefix}doomed`, 'd');
          await store.delete(`${prefix}doomed`, doomed.revision);
          const c2 = await store.update(`${prefix}churn`, 'c2', churn.revision);
          const marker = await store.create(`${prefix}marker`, 'm');
          const c3 = await store.update(`${prefix}churn`, 'c3', c2.revision);

          const at = marker.revision;
          await store.compact(at);
          assert.ok((await store.compactedRevision()) >= at);

          await assert.rejects(store.get(`${prefix}churn`, churn.revision), CompactedError);
          await assert.rejects(store.list(prefix, { revision: at - 1 }), CompactedError);
          await assert.rejects(store.watch(prefix, at - 2, new WatchCollector()), CompactedError);

          const atCompaction = await store.list(prefix, { revision: at });
          assert.deepEqual(
            atCompaction.kvs.map((kv) => [kv.key, kv.value]),
            [[`${prefix}churn`, 'c2'], [`${prefix}marker`, 'm'], [`${prefix}stable`, 'kept']],
          );
          assert.deepEqual((await store.get(`${prefix}stable`)).kv, stable.kv);
          assert.deepEqual((await store.get(`${prefix}churn`)).kv, c3.kv);
          assert.equal((await store.get(`${prefix}doomed`, at)).kv, undefined);
          assert.equal((await store.list(prefix)).kvs.length, 3);

          // A watch from the compacted revision still replays what came after it.
          const watcher = new WatchCollector();
          const watch = await store.watch(prefix, at, watcher);
          const events = await watcher.waitForEvents(1);
          assert.deepEqual(events[0].kv, c3.kv);
          assert.deepEqual(events[0].prevKv, c2.kv);
          watch.cancel();
        }));
    });

    describe('watch', () => {
      it('replays history from an old revision, then streams live events', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('replay');
          const a = await store.create(`${prefix}a`, 'a1');
          const from = a.revision;
          const a2 = await store.update(`${prefix}a`, 'a2', a.revision);
          const b = await store.create(`${prefix}b`, 'b1');
          const del = await store.delete(`${prefix}a`);

          const watcher = new WatchCollector();
          const watch = await store.watch(prefix, from, watcher);
          await watcher.waitForEvents(3);
          const live = await store.create(`${prefix}c`, 'c1');
          const events = await watcher.waitForEvents(4);
          await settle();
          assert.equal(watcher.events.length, 4, 'no extra events');
          assert.deepEqual(
            events.map((e) => [e.type, e.kv.key, e.kv.modRevision]),
            [
              ['put', `${prefix}a`, a2.revision],
              ['put', `${prefix}b`, b.revision],
              ['delete', `${prefix}a`, del.revision],
              ['put', `${prefix}c`, live.revision],
            ],
          );
          assert.deepEqual(events[0].prevKv, a.kv);
          assert.equal(events[1].prevKv, undefined, 'a create has no prevKv');
          assert.deepEqual(events[2].prevKv, a2.kv, 'a delete carries the last value');
          assert.equal(events[2].kv.value, 'a2');
          assert.equal(events[2].kv.createRevision, a.revision);
          assert.deepEqual(events[3].kv, live.kv);
          watch.cancel();
        }));

      it('sees only keys under its prefix', () =>
        withStore(async (store) => {
          const root = uniquePrefix('scope');
          const watcher = new WatchCollector();
          const watch = await store.watch(`${root}in/`, await store.currentRevision(), watcher);
          await store.create(`${root}in`, 'no');
          await store.create(`${root}inside/x`, 'no');
          await store.create(`${root}in/x`, 'yes');
          await store.create(`${root}out/x`, 'no');
          await store.create(`${root}in/y`, 'yes');
          await watcher.waitForEvents(2);
          await settle();
          assert.deepEqual(watcher.events.map((e) => e.kv.key), [`${root}in/x`, `${root}in/y`]);
          watch.cancel();
        }));

      it('started during a burst of writes, sees every write exactly once and in order', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('burst');
          const total = 1500;
          const base = await store.currentRevision();
          const keyOf = (i: number) => `${prefix}k${String(i).padStart(5, '0')}`;
          const revisions: number[] = [];
          const writer = (async () => {
            for (let i = 0; i < total; i++) {
              revisions.push((await store.create(keyOf(i), `v${i}`)).revision);
              if (i % 25 === 0) await nextTurn();
            }
          })();
          const waitUntil = async (n: number) => {
            while (revisions.length < n) await nextTurn();
          };

          await waitUntil(200);
          const early = new WatchCollector();
          const watches = [await store.watch(prefix, base, early)];
          await waitUntil(700);
          const late = new WatchCollector();
          watches.push(await store.watch(prefix, base, late));
          const liveFrom = await store.currentRevision();
          const live = new WatchCollector();
          watches.push(await store.watch(prefix, liveFrom, live));
          await writer;

          // Each watch must see exactly the burst's writes after its start revision, in order.
          const expectedAfter = (from: number) =>
            revisions.flatMap((revision, i) => (revision > from ? [`${keyOf(i)}@${revision}`] : []));
          const seen = (events: WatchEvent[]) => events.map((e) => `${e.kv.key}@${e.kv.modRevision}`);
          const liveExpected = expectedAfter(liveFrom);
          assert.ok(liveExpected.length > 0 && liveExpected.length < total, 'the live watch started mid-burst');
          await early.waitForEvents(total);
          await late.waitForEvents(total);
          await live.waitForEvents(liveExpected.length);
          await settle();
          assert.deepEqual(seen(early.events), expectedAfter(base));
          assert.deepEqual(seen(late.events), expectedAfter(base));
          assert.deepEqual(seen(live.events), liveExpected);
          for (const watch of watches) watch.cancel();
        }));

      it('started while writes are in flight, replays and streams each of them once', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('inflight');
          const base = await store.currentRevision();
          const earlier = new WatchCollector();
          const earlierWatch = await store.watch(prefix, base, earlier);
          const watcher = new WatchCollector();
          // No await in between: the watch starts while these writes are not yet delivered to anyone.
          const before = [store.create(`${prefix}a`, '1'), store.create(`${prefix}b`, '1')];
          const watchStarted = store.watch(prefix, base, watcher);
          const after = [store.create(`${prefix}c`, '1')];
          const watch = await watchStarted;
          const results = await Promise.all([...before, ...after]);
          results.push(await store.create(`${prefix}d`, '1'));
          await watcher.waitForEvents(4);
          await earlier.waitForEvents(4);
          await settle();
          // Concurrent writes may commit in any order; watchers see them in the order they committed.
          const expected = results.sort((x, y) => x.revision - y.revision).map((r) => r.kv!.key);
          assert.deepEqual([...expected].sort(), ['a', 'b', 'c', 'd'].map((k) => `${prefix}${k}`));
          assert.deepEqual(watcher.events.map((e) => e.kv.key), expected);
          assert.deepEqual(earlier.events.map((e) => e.kv.key), expected);
          watch.cancel();
          earlierWatch.cancel();
        }));

      it('fans out to 500 watchers', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('fanout');
          const from = await store.currentRevision();
          const watchers = Array.from({ length: 500 }, () => new WatchCollector());
          const watches = await Promise.all(watchers.map((w) => store.watch(prefix, from, w)));
          const other = new WatchCollector();
          const otherWatch = await store.watch(`${prefix}elsewhere/`, from, other);
          const created = await store.create(`${prefix}a`, 'hello');
          for (const watcher of watchers) await watcher.waitForEvents(1);
          await settle();
          for (const watcher of watchers) {
            assert.equal(watcher.events.length, 1);
            assert.deepEqual(watcher.events[0].kv, created.kv);
          }
          assert.equal(other.events.length, 0);
          for (const watch of [...watches, otherWatch]) watch.cancel();
        }));

      it('cancel stops delivery', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('cancel');
          const watcher = new WatchCollector();
          const watch = await store.watch(prefix, await store.currentRevision(), watcher);
          await store.create(`${prefix}a`, '1');
          await watcher.waitForEvents(1);
          watch.cancel();
          await store.create(`${prefix}b`, '2');
          await settle();
          assert.equal(watcher.events.length, 1);
          assert.equal(watcher.error, undefined);
        }));

      it('close ends open watches with onError', () =>
        withStore(async (store) => {
          const prefix = uniquePrefix('close');
          const watcher = new WatchCollector();
          await store.watch(prefix, await store.currentRevision(), watcher);
          await store.create(`${prefix}a`, '1');
          await store.close();
          const err = await watcher.waitForError();
          assert.match(err.message, /closed/);
          assert.equal(watcher.eventsAfterError, false);
        }));
    });
  });
}
