import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitErrorMessage, schedulePod } from '../../src/scheduler/index.ts';
import { ClusterSnapshot, node, pod } from './helpers.ts';

const controlPlane = (name: string) => node(name, { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });

test("FitError: counts per reason, sorted, then preemption's own verdict", () => {
  const s = new ClusterSnapshot([
    controlPlane('cp-1'), controlPlane('cp-2'), controlPlane('cp-3'), node('worker-1', { cpu: '1' }), node('worker-2', { cpu: '1' }),
  ]);
  const r = schedulePod(s, pod('big', { cpu: '2' }));
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message,
    '0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. ' +
    'preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.');
  assert.deepEqual(r.unschedulable.reasons, new Map([
    ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }', 3], ['Insufficient cpu', 2],
  ]));
});

test('FitError: nodes that preemption could help but that hold no lower-priority pods', () => {
  const s = new ClusterSnapshot([controlPlane('cp-1'), node('worker-1', { cpu: '2' })]);
  s.addPod(pod('running', { cpu: '1500m', nodeName: 'worker-1' }));
  const r = schedulePod(s, pod('web', { cpu: '1' }));
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message,
    '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. ' +
    'preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.');
});

test('FitError: a node short of cpu and memory counts under both; reasons sort as strings', () => {
  const s = new ClusterSnapshot([node('tiny', { cpu: '1', memory: '1Gi' })]);
  const r = schedulePod(s, pod('big', { cpu: '2', memory: '2Gi' }), { preemption: false });
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message, '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.');
  assert.equal(fitErrorMessage(13, new Map([['Insufficient cpu', 3], ['node(s) were unschedulable', 10]])),
    '0/13 nodes are available: 10 node(s) were unschedulable, 3 Insufficient cpu.');
});

test('FitError: a pod with preemptionPolicy Never says so', () => {
  const s = new ClusterSnapshot([node('worker-1', { cpu: '1' })]);
  s.addPod(pod('low', { cpu: '1', priority: -10, nodeName: 'worker-1' }));
  const r = schedulePod(s, pod('polite', { cpu: '500m', priority: 1000, preemptionPolicy: 'Never' }));
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
  assert.equal(r.unschedulable.victims, undefined);
});

test('no nodes at all', () => {
  const r = schedulePod(new ClusterSnapshot(), pod('web'));
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message, 'no nodes available to schedule pods');
});
