import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, comparePods, type QueuedPodInfo } from '../../src/scheduler/queue.ts';
import { pod } from './helpers.ts';

test('activeQ order: higher priority first, then the pod queued earliest', () => {
  const q: QueuedPodInfo[] = [
    { pod: pod('batch', { priority: 0 }), timestamp: 1000 },
    { pod: pod('critical', { priority: 2_000_000_000 }), timestamp: 5000 },
    { pod: pod('web-late', { priority: 100 }), timestamp: 3000 },
    { pod: pod('web-early', { priority: 100 }), timestamp: 2000 },
    { pod: pod('no-priority'), timestamp: 500 },
  ];
  assert.deepEqual(q.sort(compare).map((x) => x.pod.metadata!.name), ['critical', 'web-early', 'web-late', 'no-priority', 'batch']);
});

test('comparePods uses creationTimestamp', () => {
  const created = (name: string, at: string) => {
    const p = pod(name, { priority: 5 });
    return { ...p, metadata: { ...p.metadata, creationTimestamp: at } };
  };
  const a = created('a', '2025-01-01T00:00:02Z');
  const b = created('b', '2025-01-01T00:00:01Z');
  assert.ok(comparePods(b, a) < 0);
  assert.ok(comparePods(pod('hi', { priority: 6 }), a) < 0);
});
