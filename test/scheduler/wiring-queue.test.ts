// The scheduling queue on a fake clock: activeQ order, per-pod backoff, parking of unschedulable
// pods and what brings them back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { type QueuedPod, SchedulingQueue } from '../../src/scheduler/queue-runtime.ts';
import { pod } from './helpers.ts';

function setup() {
  let now = 1_000_000;
  const q = new SchedulingQueue({ now: () => now });
  const pop = () => {
    const next = q.pop();
    assert.ok(!(next instanceof Promise), 'activeQ is empty');
    return next!;
  };
  return { q, pop, advance: (ms: number) => (now += ms), name: (x: QueuedPod) => x.pod.metadata!.name };
}

describe('SchedulingQueue', () => {
  it('pops higher priority first, then the pod queued earliest', () => {
    const { q, pop, advance, name } = setup();
    q.add(pod('low-early', { priority: 1 }));
    advance(1);
    q.add(pod('high', { priority: 100 }));
    advance(1);
    q.add(pod('low-late', { priority: 1 }));
    assert.deepEqual([pop(), pop(), pop()].map(name), ['high', 'low-early', 'low-late']);
  });

  it('pop waits for a pod, and close() wakes it with undefined', async () => {
    const { q } = setup();
    const waiting = q.pop();
    assert.ok(waiting instanceof Promise);
    q.add(pod('late'));
    assert.equal((await waiting)?.pod.metadata?.name, 'late');
    const again = q.pop();
    q.close();
    assert.equal(await again, undefined);
  });

  it('backs off 1 s, 2 s, 4 s, 8 s, then 10 s per attempt', () => {
    const { q } = setup();
    assert.deepEqual([1, 2, 3, 4, 5, 9].map((n) => q.backoffDuration(n)), [1000, 2000, 4000, 8000, 10000, 10000]);
  });

  it('parks an unschedulable pod until a cluster event, then respects its backoff', () => {
    const { q, pop, advance } = setup();
    q.add(pod('big'));
    const first = pop();
    q.requeueUnschedulable(first);
    assert.equal(q.get('default/big')?.where, 'unschedulable');
    advance(20_000);
    q.flush();
    assert.equal(q.get('default/big')?.where, 'unschedulable', 'the flush waits 30 s');
    q.moveAllToActiveOrBackoff();
    assert.equal(q.get('default/big')?.where, 'active');

    const second = pop(); // attempt 2: 2 s backoff
    q.requeueUnschedulable(second);
    q.moveAllToActiveOrBackoff();
    assert.equal(q.get('default/big')?.where, 'backoff');
    advance(1999);
    q.flush();
    assert.equal(q.get('default/big')?.where, 'backoff');
    advance(1);
    q.flush();
    assert.equal(q.get('default/big')?.where, 'active');
  });

  it('backs off instead of parking when a cluster event happened during the attempt', () => {
    const { q, pop } = setup();
    q.add(pod('a'));
    const a = pop();
    q.moveAllToActiveOrBackoff(); // e.g. a node was added while "a" was being scheduled
    q.requeueUnschedulable(a);
    assert.equal(q.get('default/a')?.where, 'backoff');
  });

  it('retries parked pods after 30 s without any event', () => {
    const { q, pop, advance } = setup();
    q.add(pod('a'));
    q.requeueUnschedulable(pop());
    advance(30_000);
    q.flush();
    assert.equal(q.get('default/a')?.where, 'active');
  });

  it('a relevant update un-parks a pod; a status-only one does not', () => {
    const { q, pop, advance } = setup();
    const p = pod('a');
    q.add(p);
    q.requeueUnschedulable(pop());
    const withStatus: Pod = { ...p, status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } };
    q.update(withStatus, false);
    assert.equal(q.get('default/a')?.where, 'unschedulable');
    assert.equal(q.get('default/a')?.pod, withStatus, 'keeps the latest object');
    advance(5000);
    q.update({ ...p, spec: { ...p.spec!, nodeSelector: {} } }, true);
    assert.equal(q.get('default/a')?.where, 'active');
  });

  it('moveAll with a filter moves only the pods it selects; delete forgets a pod', () => {
    const { q, pop, advance } = setup();
    q.add(pod('a'));
    q.add(pod('b'));
    const a = pop();
    const b = pop();
    q.requeueUnschedulable(a);
    q.requeueUnschedulable(b);
    advance(1000); // past the first backoff
    q.moveAllToActiveOrBackoff((x) => x.key === 'default/b');
    assert.equal(q.get('default/a')?.where, 'unschedulable');
    assert.equal(q.get('default/b')?.where, 'active');
    q.delete('default/b');
    assert.equal(q.get('default/b'), undefined);
    assert.ok(q.pop() instanceof Promise, 'the deleted pod is not popped');
    q.close();
  });
});
