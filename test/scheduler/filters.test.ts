import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeResourcesFitFilter } from '../../src/scheduler/plugins/node-resources-fit.ts';
import { nodeName } from '../../src/scheduler/plugins/node-name.ts';
import { nodeUnschedulable } from '../../src/scheduler/plugins/node-unschedulable.ts';
import { nodeAffinityFilter } from '../../src/scheduler/plugins/node-affinity.ts';
import { taintTolerationFilter } from '../../src/scheduler/plugins/taint-toleration.ts';
import { nodePorts } from '../../src/scheduler/plugins/node-ports.ts';
import { ClusterSnapshot, filterWith, node, pod } from './helpers.ts';
import type { NodeSelectorRequirement } from 'kubernetes-types/core/v1.d.ts';

test('NodeResourcesFit: cpu, memory, ephemeral-storage, extended resources and the pod count', () => {
  const s = new ClusterSnapshot([
    node('small', { cpu: '2', memory: '4Gi', pods: '3', extra: { 'nvidia.com/gpu': '1' } }),
  ]);
  s.addPod(pod('running-1', { cpu: '1500m', memory: '3Gi', nodeName: 'small' }));
  s.addPod(pod('running-2', { nodeName: 'small' }));
  assert.equal(filterWith(nodeResourcesFitFilter, s, pod('fits', { cpu: '500m', memory: '1Gi' }), 'small'), null);
  assert.deepEqual(filterWith(nodeResourcesFitFilter, s, pod('big', { cpu: '501m', memory: '1Gi' }), 'small'),
    { code: 'Unschedulable', reasons: ['Insufficient cpu'], plugin: 'NodeResourcesFit' });
  assert.deepEqual((filterWith(nodeResourcesFitFilter, s, pod('both', { cpu: '1', memory: '2Gi' }), 'small') as { reasons: string[] }).reasons,
    ['Insufficient cpu', 'Insufficient memory']);
  // Bigger than the whole node: evicting pods would not help.
  assert.equal((filterWith(nodeResourcesFitFilter, s, pod('huge', { cpu: '3' }), 'small') as { code: string }).code, 'UnschedulableAndUnresolvable');
  assert.deepEqual((filterWith(nodeResourcesFitFilter, s, pod('gpu', { requests: { 'nvidia.com/gpu': '2' } }), 'small') as { reasons: string[] }).reasons,
    ['Insufficient nvidia.com/gpu']);
  assert.deepEqual((filterWith(nodeResourcesFitFilter, s, pod('disk', { requests: { 'ephemeral-storage': '200Gi' } }), 'small') as { reasons: string[] }).reasons,
    ['Insufficient ephemeral-storage']);
  s.addPod(pod('running-3', { nodeName: 'small' }));
  assert.deepEqual((filterWith(nodeResourcesFitFilter, s, pod('besteffort'), 'small') as { reasons: string[] }).reasons, ['Too many pods']);
});

test('NodeResourcesFit: an init container larger than the app counts; overhead counts', () => {
  const s = new ClusterSnapshot([node('n', { cpu: '2' })]);
  const p = pod('init-heavy', { cpu: '100m' });
  p.spec!.initContainers = [{ name: 'warm', image: 'warm', resources: { requests: { cpu: '2500m' } } }];
  assert.deepEqual((filterWith(nodeResourcesFitFilter, s, p, 'n') as { reasons: string[] }).reasons, ['Insufficient cpu']);
  assert.notEqual(filterWith(nodeResourcesFitFilter, s, pod('kata', { cpu: '1950m', overhead: { cpu: '100m' } }), 'n'), null);
});

test('NodeName: only the named node fits', () => {
  const s = new ClusterSnapshot([node('a'), node('b')]);
  const p = pod('pinned', { nodeName: 'b' });
  assert.equal(filterWith(nodeName, s, p, 'b'), null);
  assert.deepEqual(filterWith(nodeName, s, p, 'a'), { code: 'UnschedulableAndUnresolvable', reasons: ["node(s) didn't match the requested node name"], plugin: 'NodeName' });
  assert.equal(filterWith(nodeName, s, pod('free'), 'a'), 'skip');
});

test('NodeUnschedulable: cordoned nodes refuse pods unless they tolerate the unschedulable taint', () => {
  const s = new ClusterSnapshot([node('cordoned', { unschedulable: true })]);
  assert.deepEqual(filterWith(nodeUnschedulable, s, pod('web'), 'cordoned'),
    { code: 'UnschedulableAndUnresolvable', reasons: ['node(s) were unschedulable'], plugin: 'NodeUnschedulable' });
  const ds = pod('daemon', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
  assert.equal(filterWith(nodeUnschedulable, s, ds, 'cordoned'), null);
});

test('NodeAffinity: nodeSelector and required terms with every operator', () => {
  const s = new ClusterSnapshot([
    node('gpu-big', { labels: { 'node.kubernetes.io/instance-type': 'g5.4xlarge', gpu: 'a10', 'gpu-count': '4', disktype: 'ssd' } }),
    node('cpu-small', { labels: { 'node.kubernetes.io/instance-type': 'm5.large', 'gpu-count': '0' } }),
  ]);
  const withExprs = (exprs: NodeSelectorRequirement[], fields?: NodeSelectorRequirement[]) => pod('p', {
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs, matchFields: fields }] } } },
  });
  const fits = (p: ReturnType<typeof pod>, n: string) => filterWith(nodeAffinityFilter, s, p, n) === null;

  assert.ok(fits(pod('sel', { nodeSelector: { disktype: 'ssd' } }), 'gpu-big'));
  assert.deepEqual(filterWith(nodeAffinityFilter, s, pod('sel', { nodeSelector: { disktype: 'ssd' } }), 'cpu-small'),
    { code: 'UnschedulableAndUnresolvable', reasons: ["node(s) didn't match Pod's node affinity/selector"], plugin: 'NodeAffinity' });
  assert.ok(fits(withExprs([{ key: 'gpu', operator: 'In', values: ['a10', 'a100'] }]), 'gpu-big'));
  assert.ok(!fits(withExprs([{ key: 'gpu', operator: 'In', values: ['a100'] }]), 'gpu-big'));
  assert.ok(fits(withExprs([{ key: 'gpu', operator: 'NotIn', values: ['a100'] }]), 'cpu-small'));
  assert.ok(fits(withExprs([{ key: 'gpu', operator: 'Exists' }]), 'gpu-big'));
  assert.ok(!fits(withExprs([{ key: 'gpu', operator: 'Exists' }]), 'cpu-small'));
  assert.ok(fits(withExprs([{ key: 'gpu', operator: 'DoesNotExist' }]), 'cpu-small'));
  assert.ok(fits(withExprs([{ key: 'gpu-count', operator: 'Gt', values: ['2'] }]), 'gpu-big'));
  assert.ok(!fits(withExprs([{ key: 'gpu-count', operator: 'Gt', values: ['2'] }]), 'cpu-small'));
  assert.ok(fits(withExprs([{ key: 'gpu-count', operator: 'Lt', values: ['1'] }]), 'cpu-small'));
  assert.ok(!fits(withExprs([{ key: 'gpu', operator: 'Lt', values: ['1'] }]), 'gpu-big'), 'a non-integer label never matches Gt/Lt');
  assert.ok(fits(withExprs([], [{ key: 'metadata.name', operator: 'In', values: ['cpu-small'] }]), 'cpu-small'));
  assert.ok(!fits(withExprs([], [{ key: 'metadata.name', operator: 'In', values: ['cpu-small'] }]), 'gpu-big'));
  assert.ok(!fits(withExprs([]), 'gpu-big'), 'an empty term matches nothing');
  // Terms are ORed; nodeSelector and affinity are ANDed.
  const ored = pod('or', {
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
      { matchExpressions: [{ key: 'gpu', operator: 'In', values: ['h100'] }] },
      { matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['m5.large'] }] },
    ] } } },
  });
  assert.ok(fits(ored, 'cpu-small'));
  assert.ok(!fits(ored, 'gpu-big'));
  assert.equal(filterWith(nodeAffinityFilter, s, pod('any'), 'gpu-big'), 'skip');
});

test('TaintToleration: NoSchedule/NoExecute taints must be tolerated; tolerationSeconds does not matter', () => {
  const s = new ClusterSnapshot([
    node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
    node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }, { key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] }),
  ]);
  assert.deepEqual(filterWith(taintTolerationFilter, s, pod('web'), 'cp'), {
    code: 'UnschedulableAndUnresolvable', reasons: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'], plugin: 'TaintToleration',
  });
  assert.deepEqual((filterWith(taintTolerationFilter, s, pod('web'), 'gpu') as { reasons: string[] }).reasons, ['node(s) had untolerated taint {dedicated: gpu}']);
  const tolerant = pod('trainer', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoExecute', tolerationSeconds: 30 }] });
  assert.equal(filterWith(taintTolerationFilter, s, tolerant, 'gpu'), null, 'PreferNoSchedule is only scored');
  assert.notEqual(filterWith(taintTolerationFilter, s, pod('wrong', { tolerations: [{ key: 'dedicated', value: 'cpu', effect: 'NoExecute' }] }), 'gpu'), null);
  assert.notEqual(filterWith(taintTolerationFilter, s, pod('wrong-effect', { tolerations: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), 'gpu'), null);
  assert.equal(filterWith(taintTolerationFilter, s, pod('everything', { tolerations: [{ operator: 'Exists' }] }), 'cp'), null);
  assert.equal(filterWith(taintTolerationFilter, s, pod('cp-any-effect', { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }), 'cp'), null);
});

test('NodePorts: host ports conflict per protocol, and 0.0.0.0 conflicts with any address', () => {
  const s = new ClusterSnapshot([node('n1'), node('n2')]);
  s.addPod(pod('ingress', { hostPorts: [80, 443], nodeName: 'n1' }));
  const dns = pod('dns', { nodeName: 'n2' });
  dns.spec!.containers[0].ports = [{ containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.2' }];
  s.addPod(dns);
  assert.deepEqual(filterWith(nodePorts, s, pod('another-ingress', { hostPorts: [443] }), 'n1'),
    { code: 'Unschedulable', reasons: ["node(s) didn't have free ports for the requested pod ports"], plugin: 'NodePorts' });
  assert.equal(filterWith(nodePorts, s, pod('another-ingress', { hostPorts: [443] }), 'n2'), null);
  const tcp53 = pod('tcp53');
  tcp53.spec!.containers[0].ports = [{ containerPort: 53, hostPort: 53, protocol: 'TCP' }];
  assert.equal(filterWith(nodePorts, s, tcp53, 'n2'), null, 'TCP and UDP do not conflict');
  const udpAny = pod('udp-any');
  udpAny.spec!.containers[0].ports = [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }];
  assert.notEqual(filterWith(nodePorts, s, udpAny, 'n2'), null, '0.0.0.0 conflicts with 10.0.0.2');
  const otherIp = pod('udp-other-ip');
  otherIp.spec!.containers[0].ports = [{ containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.3' }];
  assert.equal(filterWith(nodePorts, s, otherIp, 'n2'), null);
  assert.equal(filterWith(nodePorts, s, pod('no-ports'), 'n1'), 'skip');
});
