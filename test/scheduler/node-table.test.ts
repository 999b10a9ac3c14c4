import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HARD_TAINTS, SOFT_TAINTS, UNSCHEDULABLE } from '../../src/scheduler/node-table.ts';
import { schedulePod } from '../../src/scheduler/schedule.ts';
import { ClusterSnapshot, node, pod, seeded } from './helpers.ts';

/** Every node's row of snapshot.table, read back as the NodeInfo numbers it mirrors. */
function assertTableMatches(s: ClusterSnapshot): void {
  const t = s.table;
  for (const [i, n] of s.nodes.entries()) {
    assert.equal(n.index, i);
    const row = {
      alloc: [t.allocCpu[i], t.allocMemory[i], t.allocStorage[i], t.allocPods[i]],
      req: [t.reqCpu[i], t.reqMemory[i], t.reqStorage[i], t.podCount[i]],
      nonZero: [t.nonZeroCpu[i], t.nonZeroMemory[i]],
      flags: t.flags[i],
    };
    assert.deepEqual(row, {
      alloc: [n.allocatable.milliCPU, n.allocatable.memory, n.allocatable.ephemeralStorage, n.allocatable.pods],
      req: [n.requested.milliCPU, n.requested.memory, n.requested.ephemeralStorage, n.pods.size],
      nonZero: [n.nonZeroRequested.milliCPU, n.nonZeroRequested.memory],
      flags: (n.node.spec?.unschedulable ? UNSCHEDULABLE : 0) | (n.hardTaints.length ? HARD_TAINTS : 0) | (n.softTaints.length ? SOFT_TAINTS : 0),
    }, `row ${i} (${n.name})`);
  }
}

test('the node table follows nodes and pods as they come, change and go (rows move when a node is removed)', () => {
  const random = seeded(7);
  const s = new ClusterSnapshot();
  for (let i = 0; i < 100; i++) s.addNode(node(`n${i}`, { cpu: String(2 + (i % 5)), memory: `${4 + (i % 3)}Gi` }));
  assertTableMatches(s);
  const bound: string[] = [];
  for (let i = 0; i < 400; i++) {
    const p = pod(`p${i}`, { cpu: `${100 + (i % 7) * 50}m`, memory: i % 4 === 0 ? undefined : '256Mi' });
    const r = schedulePod(s, p, { random });
    assert.ok('node' in r, `p${i} should fit`);
    s.assumePod(p, r.node);
    bound.push(`default/p${i}`);
    if (i % 10 === 9) s.removePod(bound.splice(Math.floor(random() * bound.length), 1)[0]);
    if (i % 50 === 49) s.removeNode(`n${i % 100}`); // its pods wait as orphans; the last node takes its row
    if (i % 50 === 25) s.addNode(node(`n${(i + 24) % 100}`, { cpu: '3' }));
  }
  assertTableMatches(s);
  s.updateNode(node('n1', { cpu: '8', unschedulable: true, taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] }));
  assertTableMatches(s);
  assert.equal(s.table.flags[s.nodesByName.get('n1')!.index], UNSCHEDULABLE | HARD_TAINTS | SOFT_TAINTS);
});

test('a full node fails NodeResourcesFit through its table row: too many pods, not enough cpu', () => {
  const s = new ClusterSnapshot([node('small', { cpu: '1', pods: '2' })]);
  s.addPod(pod('a', { cpu: '300m', nodeName: 'small' }));
  assert.ok('node' in schedulePod(s, pod('b', { cpu: '700m' })));
  s.addPod(pod('b', { cpu: '700m', nodeName: 'small' }));
  const r = schedulePod(s, pod('c', { cpu: '100m' }), { preemption: false });
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message, '0/1 nodes are available: 1 Insufficient cpu, 1 Too many pods.');
});
