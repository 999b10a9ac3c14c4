import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StartSlots } from '../../src/agent/start-slots.ts';

test('start slots: at most N holders at once, waiters served first come first served, double release is harmless', async () => {
  const slots = new StartSlots(2);
  const order: number[] = [];
  let holding = 0;
  let most = 0;
  const work = async (i: number) => {
    const release = await slots.acquire();
    holding++;
    most = Math.max(most, holding);
    order.push(i);
    await new Promise((r) => setTimeout(r, 5));
    holding--;
    release();
    release(); // must not free a second slot
  };
  await Promise.all([0, 1, 2, 3, 4, 5].map(work));
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.equal(slots.queued, 0);
  // All slots are free again: two more acquire at once without waiting.
  const a = await slots.acquire();
  const b = await slots.acquire();
  let third = false;
  const c = slots.acquire().then((r) => { third = true; return r; });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(third, false);
  a();
  (await c)();
  b();
});

test('start slots: a non-positive count is refused', () => {
  assert.throws(() => new StartSlots(0), /positive integer/);
});
