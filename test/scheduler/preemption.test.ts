import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedulePod } from '../../src/scheduler/schedule.ts';
import { ClusterSnapshot, node, pod, seeded } from './helpers.ts';

function preemptFor(s: ClusterSnapshot, p: ReturnType<typeof pod>) {
  const r = schedulePod(s, p, { random: seeded(5) });
  assert.ok('unschedulable' in r, 'the pod should not fit without preemption');
  return r.unschedulable;
}
const names = (pods: { metadata?: { name?: string } }[] | undefined) => (pods ?? []).map((p) => p.metadata!.name).sort();

test('evicts only as many lower-priority pods as needed, reprieving the most important first', () => {
  const s = new ClusterSnapshot([node('n1', { cpu: '4' })]);
  s.addPod(pod('batch-low', { cpu: '1', priority: 10, nodeName: 'n1' }));
  s.addPod(pod('batch-mid', { cpu: '1', priority: 20, nodeName: 'n1' }));
  s.addPod(pod('svc-high', { cpu: '1', priority: 30, nodeName: 'n1' }));
  s.addPod(pod('system', { cpu: '1', priority: 2000, nodeName: 'n1' }));
  const u = preemptFor(s, pod('critical', { cpu: '2', priority: 1000 }));
  assert.equal(u.nominatedNode, 'n1');
  assert.deepEqual(names(u.victims), ['batch-low', 'batch-mid']);
  assert.equal(u.message, '0/1 nodes are available: 1 Insufficient cpu.');
  // The dry run left the snapshot as it was.
  assert.equal(s.nodesByName.get('n1')!.requested.milliCPU, 4000);
  assert.equal(s.pods.size, 4);
});

test('picks the node whose most important victim has the lowest priority', () => {
  const s = new ClusterSnapshot([node('a', { cpu: '2' }), node('b', { cpu: '2' })]);
  s.addPod(pod('a-1', { cpu: '2', priority: 100, nodeName: 'a' }));
  s.addPod(pod('b-1', { cpu: '1', priority: 50, nodeName: 'b' }));
  s.addPod(pod('b-2', { cpu: '1', priority: 50, nodeName: 'b' }));
  const u = preemptFor(s, pod('p', { cpu: '2', priority: 1000 }));
  assert.equal(u.nominatedNode, 'b');
  assert.deepEqual(names(u.victims), ['b-1', 'b-2']);
});

test('with equal highest priority, picks the smaller sum of priorities, then fewer victims', () => {
  const s = new ClusterSnapshot([node('a', { cpu: '2' }), node('b', { cpu: '2' }), node('c', { cpu: '2' })]);
  s.addPod(pod('a-1', { cpu: '1', priority: 100, nodeName: 'a' }));
  s.addPod(pod('a-2', { cpu: '1', priority: 100, nodeName: 'a' }));
  s.addPod(pod('b-1', { cpu: '1', priority: 100, nodeName: 'b' }));
  s.addPod(pod('b-2', { cpu: '1', priority: 5, nodeName: 'b' }));
  s.addPod(pod('c-1', { cpu: '2', priority: 100, nodeName: 'c' }));
  const u = preemptFor(s, pod('p', { cpu: '2', priority: 1000 }));
  // a: 2 victims sum 200(+2·2^31); b: 2 victims sum 105; c: 1 victim sum 100 → c (the shifted sum favours fewer victims)
  assert.equal(u.nominatedNode, 'c');
  assert.deepEqual(names(u.victims), ['c-1']);
  // Without c: a and b both lose two pods of highest priority 100; b's sum is smaller.
  s.removeNode('c');
  assert.equal(preemptFor(s, pod('p', { cpu: '2', priority: 1000 })).nominatedNode, 'b');
});

test('among otherwise equal nodes, evicts the pods that started most recently', () => {
  const s = new ClusterSnapshot([node('old', { cpu: '1' }), node('new', { cpu: '1' })]);
  s.addPod(pod('veteran', { cpu: '1', priority: 1, nodeName: 'old', startTime: '2024-01-01T00:00:00Z' }));
  s.addPod(pod('rookie', { cpu: '1', priority: 1, nodeName: 'new', startTime: '2025-06-01T00:00:00Z' }));
  const u = preemptFor(s, pod('p', { cpu: '1', priority: 10 }));
  assert.equal(u.nominatedNode, 'new');
  assert.deepEqual(names(u.victims), ['rookie']);
});

test('does not preempt equal or higher priority pods, nor nodes where eviction cannot help', () => {
  const s = new ClusterSnapshot([
    node('peer', { cpu: '1' }),
    node('tainted', { cpu: '1', taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
  ]);
  s.addPod(pod('same-prio', { cpu: '1', priority: 10, nodeName: 'peer' }));
  s.addPod(pod('low-on-tainted', { cpu: '1', priority: 0, nodeName: 'tainted' }));
  const u = preemptFor(s, pod('p', { cpu: '1', priority: 10 }));
  assert.equal(u.nominatedNode, undefined);
  assert.equal(u.message,
    '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: db}. ' +
    'preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.');
});

test('a node that still does not fit after evicting every lower-priority pod is not a candidate', () => {
  const s = new ClusterSnapshot([node('n1', { cpu: '2' })]);
  s.addPod(pod('low', { cpu: '500m', priority: 1, nodeName: 'n1' }));
  s.addPod(pod('high', { cpu: '1500m', priority: 5000, nodeName: 'n1' }));
  const u = preemptFor(s, pod('p', { cpu: '1', priority: 100 }));
  assert.equal(u.nominatedNode, undefined);
  assert.equal(u.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.');
});

test('evicting an anti-affine pod of lower priority makes room', () => {
  const ZONE = 'topology.kubernetes.io/zone';
  const s = new ClusterSnapshot([node('z1', { labels: { [ZONE]: 'z1' } })]);
  s.addPod(pod('old-leader', { labels: { role: 'leader' }, priority: 1, nodeName: 'z1' }));
  s.addPod(pod('bystander', { priority: 1, nodeName: 'z1' }));
  const u = preemptFor(s, pod('new-leader', { labels: { role: 'leader' }, priority: 100, affinity: { podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { role: 'leader' } }, topologyKey: ZONE }] } } }));
  assert.equal(u.nominatedNode, 'z1');
  assert.deepEqual(names(u.victims), ['old-leader']);
  assert.equal(s.pods.size, 2);
});

test('topology spread counts follow the dry run: evicting one replica is not enough when the skew needs both gone', () => {
  const ZONE = 'topology.kubernetes.io/zone';
  const s = new ClusterSnapshot([node('a', { cpu: '2', labels: { [ZONE]: 'a' } }), node('b', { cpu: '2', labels: { [ZONE]: 'b' } })]);
  s.addPod(pod('api-0', { cpu: '1', labels: { app: 'api' }, priority: 1, nodeName: 'a' }));
  s.addPod(pod('api-1', { cpu: '1', labels: { app: 'api' }, priority: 1, nodeName: 'a' }));
  s.addPod(pod('db-0', { cpu: '2', priority: 5000, nodeName: 'b' }));
  const u = preemptFor(s, pod('api-2', { cpu: '1', labels: { app: 'api' }, priority: 100, spread: [
    { maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'api' } } }] }));
  assert.equal(u.nominatedNode, 'a');
  assert.deepEqual(names(u.victims), ['api-0', 'api-1']);
  // Afterwards the snapshot still holds both replicas on a.
  assert.equal(s.nodesByName.get('a')!.pods.size, 2);
});
