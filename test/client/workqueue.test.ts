// Work queue semantics as client-go's workqueue has them, without a server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runWorkers, WorkQueue } from '../../src/client/workqueue.ts';
import { BucketRateLimiter, defaultControllerRateLimiter, ItemExponentialRateLimiter } from '../../src/client/rate-limiter.ts';
import { within } from '../helpers/wait.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));


describe('WorkQueue', () => {
  it('queues a key added several times once, in first-added order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
    q.shutDown();
  });

  it('holds a key added during processing until done, so no two workers get it', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    assert.equal(key, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not queued while a worker has it');
    q.add('b');
    assert.equal(await q.get(), 'b');
    q.done('a');
    assert.equal(q.len(), 1, 'queued once after done');
    assert.equal(await q.get(), 'a');
    q.done('a');
    q.done('b');
    assert.equal(q.len(), 0);
    q.shutDown();
  });

  it('wakes a waiting get when a key arrives', async () => {
    const q = new WorkQueue();
    const got = q.get();
    await tick(10);
    q.add('x');
    assert.equal(await within('get', got), 'x');
    q.shutDown();
  });

  it('never syncs one key in two workers at once', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let syncs = 0;
    const workers = runWorkers(q, 8, async (key) => {
      if (active.has(key)) overlaps++;
      active.add(key);
      syncs++;
      await tick(Math.random() * 3);
      active.delete(key);
    });
    for (let i = 0; i < 300; i++) {
      q.add(`k${i % 5}`);
      if (i % 10 === 0) await tick(1);
    }
    await within('queue empties', (async () => { while (q.len() > 0 || active.size > 0) await tick(5); })());
    q.shutDown();
    await within('workers exit', workers);
    assert.equal(overlaps, 0);
    assert.ok(syncs >= 5 && syncs < 300, `dedup folded adds (${syncs} syncs for 300 adds)`);
  });

  it('addAfter delays a key; the earliest of two delays wins', async () => {
    const q = new WorkQueue();
    const start = Date.now();
    q.addAfter('a', 200);
    q.addAfter('a', 60);
    assert.equal(q.len(), 0);
    assert.equal(await within('delayed key', q.get()), 'a');
    const waited = Date.now() - start;
    assert.ok(waited >= 55 && waited < 190, `waited ${waited} ms`);
    q.done('a');
    await tick(200);
    assert.equal(q.len(), 0, 'the later delayed add was dropped');
    q.shutDown();
  });

  it('backs off a failing key exponentially and forgets on success', async () => {
    const q = new WorkQueue('t', new ItemExponentialRateLimiter(20, 1000));
    const times: number[] = [];
    let failUntil = 4;
    const workers = runWorkers(q, 2, async () => {
      times.push(Date.now());
      if (times.length < failUntil) throw new Error('not yet');
    }, { log: () => {} });
    q.add('k');
    await within('4 attempts', (async () => { while (times.length < 4) await tick(5); })());
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // 20, 40, 80 ms (timers may fire a little late, never early)
    assert.ok(gaps[0] >= 18 && gaps[0] < 60, `first retry after ${gaps[0]} ms`);
    assert.ok(gaps[1] >= 38 && gaps[1] < 100, `second retry after ${gaps[1]} ms`);
    assert.ok(gaps[2] >= 78 && gaps[2] < 160, `third retry after ${gaps[2]} ms`);
    await tick(10);
    assert.equal(q.numRequeues('k'), 0, 'forgotten after the success');
    failUntil = 0;
    q.shutDown();
    await within('workers exit', workers);
  });

  it('default rate limiter: 5 ms doubling per key, capped at 1000 s; bucket allows a burst of 100 at 10 qps', () => {
    const rl = defaultControllerRateLimiter();
    assert.deepEqual([rl.when('a'), rl.when('a'), rl.when('a')], [5, 10, 20]);
    assert.equal(rl.when('b'), 5, 'per key');
    for (let i = 0; i < 40; i++) rl.when('a');
    assert.equal(rl.when('a'), 1000_000);
    rl.forget('a');
    assert.equal(rl.numRequeues('a'), 0);

    let now = 0;
    const bucket = new BucketRateLimiter(10, 100, () => now);
    for (let i = 0; i < 100; i++) assert.equal(bucket.when('x'), 0);
    assert.equal(bucket.when('x'), 100, 'the 101st waits one token (100 ms at 10 qps)');
    assert.equal(bucket.when('x'), 200);
    now += 1000; // 10 tokens back: -2 + 10 = 8 left
    for (let i = 0; i < 8; i++) assert.equal(bucket.when('x'), 0);
    assert.ok(bucket.when('x') > 0, 'empty again');
  });

  it('shutDown releases waiting getters and stops accepting keys', async () => {
    const q = new WorkQueue();
    const waiting = [q.get(), q.get()];
    q.addAfter('late', 20);
    q.shutDown();
    assert.deepEqual(await within('getters', Promise.all(waiting)), [undefined, undefined]);
    q.add('x');
    assert.equal(q.len(), 0);
    await tick(40);
    assert.equal(q.len(), 0, 'delayed adds are cancelled');
    assert.equal(await q.get(), undefined);
  });

  it('shutDownWithDrain waits for keys in progress', async () => {
    const q = new WorkQueue();
    let finished = false;
    const workers = runWorkers(q, 1, async () => {
      await tick(50);
      finished = true;
    });
    q.add('a');
    await tick(5);
    await within('drain', q.shutDownWithDrain());
    assert.equal(finished, true);
    await within('workers exit', workers);
  });
});
