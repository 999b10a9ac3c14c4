// DefaultPreemption with PodDisruptionBudgets: the node whose victims violate fewest budgets wins,
// and on a node the budget-protected pods are reprieved before the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.d.ts';
import { schedulePod } from '../../src/scheduler/schedule.ts';
import { ClusterSnapshot, node, pod, seeded } from './helpers.ts';

function budget(name: string, app: string, disruptionsAllowed: number, disruptedPods?: Record<string, string>): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: 'default', generation: 1 },
    spec: { minAvailable: 1, selector: { matchLabels: { app } } },
    status: { observedGeneration: 1, disruptionsAllowed, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1, disruptedPods },
  };
}

function preemptFor(s: ClusterSnapshot, pdbs: PodDisruptionBudget[], seed = 5) {
  const r = schedulePod(s, pod('critical', { cpu: '2', priority: 1000 }), { random: seeded(seed), pdbs: () => pdbs });
  assert.ok('unschedulable' in r, 'the pod should not fit without preemption');
  return r.unschedulable;
}
const names = (pods: { metadata?: { name?: string } }[] | undefined) => (pods ?? []).map((p) => p.metadata!.name).sort();

/** Two full nodes; without budgets the pod on "a" (started later) is the victim of choice. */
function twoNodes(): ClusterSnapshot {
  const s = new ClusterSnapshot([node('a', { cpu: '2' }), node('b', { cpu: '2' })]);
  s.addPod(pod('db-0', { cpu: '2', priority: 10, nodeName: 'a', labels: { app: 'db' }, startTime: '2025-06-01T00:00:00Z' }));
  s.addPod(pod('batch-0', { cpu: '2', priority: 10, nodeName: 'b', labels: { app: 'batch' }, startTime: '2024-01-01T00:00:00Z' }));
  return s;
}

test('without budgets, the tie breaks on start time', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const u = preemptFor(twoNodes(), [], seed);
    assert.equal(u.nominatedNode, 'a');
    assert.deepEqual(names(u.victims), ['db-0']);
  }
});

test('prefers the node whose victims do not violate a PodDisruptionBudget', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const u = preemptFor(twoNodes(), [budget('db', 'db', 0)], seed);
    assert.equal(u.nominatedNode, 'b', `seed ${seed}`);
    assert.deepEqual(names(u.victims), ['batch-0']);
  }
});

test('a budget that still allows a disruption is no violation', () => {
  const u = preemptFor(twoNodes(), [budget('db', 'db', 1)]);
  assert.equal(u.nominatedNode, 'a');
});

test('a pod the eviction API already counted (status.disruptedPods) does not spend the budget again', () => {
  const u = preemptFor(twoNodes(), [budget('db', 'db', 0, { 'db-0': '2025-06-01T00:00:00Z' })]);
  assert.equal(u.nominatedNode, 'a');
});

test('a budget in another namespace, or with an empty selector, protects nothing here', () => {
  const other = { ...budget('db', 'db', 0), metadata: { name: 'db', namespace: 'elsewhere' } };
  assert.equal(preemptFor(twoNodes(), [other]).nominatedNode, 'a');
  const empty = { ...budget('all', 'db', 0), spec: { selector: {} } };
  assert.equal(preemptFor(twoNodes(), [empty]).nominatedNode, 'a');
});

test('on one node, budget-protected pods are reprieved first', () => {
  const s = new ClusterSnapshot([node('n1', { cpu: '3' })]);
  // Equal priorities: without budgets the most recently started pod would be the victim.
  s.addPod(pod('web', { cpu: '1', priority: 10, nodeName: 'n1', labels: { app: 'web' }, startTime: '2024-01-01T00:00:00Z' }));
  s.addPod(pod('db-0', { cpu: '1', priority: 10, nodeName: 'n1', labels: { app: 'db' }, startTime: '2025-01-01T00:00:00Z' }));
  s.addPod(pod('db-1', { cpu: '1', priority: 10, nodeName: 'n1', labels: { app: 'db' }, startTime: '2025-06-01T00:00:00Z' }));
  const single = (pdbs: PodDisruptionBudget[]) => {
    const r = schedulePod(s, pod('p', { cpu: '1', priority: 1000 }), { random: seeded(1), pdbs: () => pdbs });
    assert.ok('unschedulable' in r);
    return r.unschedulable;
  };
  assert.deepEqual(names(single([]).victims), ['db-1']);
  assert.deepEqual(names(single([budget('db', 'db', 0)]).victims), ['web'], 'both db pods would violate: web goes');
  // One disruption allowed: db-0 may spend it, db-1 would violate and is reprieved first.
  assert.deepEqual(names(single([budget('db', 'db', 1)]).victims), ['db-0']);
  // When nothing but protected pods can go, preemption still happens (budgets are best effort).
  const s2 = new ClusterSnapshot([node('n1', { cpu: '2' })]);
  s2.addPod(pod('db-0', { cpu: '2', priority: 10, nodeName: 'n1', labels: { app: 'db' } }));
  const r = schedulePod(s2, pod('critical', { cpu: '2', priority: 1000 }), { random: seeded(1), pdbs: () => [budget('db', 'db', 0)] });
  assert.ok('unschedulable' in r);
  assert.deepEqual(names(r.unschedulable.victims), ['db-0']);
});
