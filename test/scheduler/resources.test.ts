import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podNonZeroRequests, podRequests, milliValue, intValue, nodeAllocatable } from '../../src/scheduler/resources.ts';
import { ClusterSnapshot, node, pod } from './helpers.ts';

test('quantities become integers: milli-CPU and bytes, rounded up', () => {
  assert.equal(milliValue('100m'), 100);
  assert.equal(milliValue('0.1'), 100);
  assert.equal(milliValue('1.5'), 1500);
  assert.equal(milliValue('2'), 2000);
  assert.equal(milliValue('0.0001'), 1); // Quantity.MilliValue rounds up
  assert.equal(intValue('128Mi'), 134217728);
  assert.equal(intValue('1G'), 1e9);
  assert.equal(intValue('1.5Gi'), 1610612736);
});

test('pod requests: containers summed, the largest init container wins, overhead added', () => {
  const p = pod('web', { cpu: '250m', memory: '64Mi', overhead: { cpu: '10m', memory: '1Mi' } });
  p.spec!.containers.push({ name: 'proxy', image: 'envoy', resources: { requests: { cpu: '250m', memory: '64Mi' } } });
  p.spec!.initContainers = [
    { name: 'migrate', image: 'migrate', resources: { requests: { cpu: '2', memory: '32Mi' } } },
  ];
  const r = podRequests(p);
  assert.equal(r.milliCPU, 2000 + 10); // init container's 2 cpu beats 500m, plus overhead
  assert.equal(r.memory, 128 * 1024 * 1024 + 1024 * 1024);
});

test('pod requests: sidecars (restartPolicy Always) run next to later init containers and the app', () => {
  const p = pod('web', { cpu: '500m' });
  p.spec!.initContainers = [
    { name: 'mesh', image: 'mesh', restartPolicy: 'Always', resources: { requests: { cpu: '200m' } } },
    { name: 'setup', image: 'setup', resources: { requests: { cpu: '600m' } } },
  ];
  // app + sidecar = 700m; setup runs next to the sidecar = 800m
  assert.equal(podRequests(p).milliCPU, 800);
});

test('scoring counts a container without requests as 100m / 200Mi', () => {
  const p = pod('besteffort');
  assert.deepEqual(podRequests(p).milliCPU, 0);
  assert.deepEqual(podNonZeroRequests(p), { milliCPU: 100, memory: 200 * 1024 * 1024 });
  assert.deepEqual(podNonZeroRequests(pod('x', { cpu: '1' })), { milliCPU: 1000, memory: 200 * 1024 * 1024 });
});

test('node allocatable includes pods and extended resources', () => {
  const a = nodeAllocatable(node('gpu-1', { cpu: '7910m', memory: '31Gi', pods: '58', extra: { 'nvidia.com/gpu': '4' } }));
  assert.equal(a.milliCPU, 7910);
  assert.equal(a.pods, 58);
  assert.equal(a.scalar.get('nvidia.com/gpu'), 4);
});

test('snapshot accumulates requests per node and forgets removed pods', () => {
  const s = new ClusterSnapshot([node('n1'), node('n2')]);
  s.addPod(pod('a', { cpu: '500m', memory: '1Gi', nodeName: 'n1', hostPorts: [8080] }));
  s.addPod(pod('b', { cpu: '250m', nodeName: 'n1' }));
  const n1 = s.nodesByName.get('n1')!;
  assert.equal(n1.requested.milliCPU, 750);
  assert.equal(n1.requested.memory, 1024 ** 3);
  assert.equal(n1.nonZeroRequested.memory, 1024 ** 3 + 200 * 1024 * 1024);
  assert.equal(n1.pods.size, 2);
  assert.ok(n1.usedPorts.has('TCP/8080'));
  s.removePod(pod('a', { nodeName: 'n1' }));
  assert.equal(n1.requested.milliCPU, 250);
  assert.equal(n1.usedPorts.size, 0);
  // Moving a pod (update with a new node) moves its requests.
  s.updatePod(pod('b', { cpu: '250m', nodeName: 'n2' }));
  assert.equal(n1.requested.milliCPU, 0);
  assert.equal(s.nodesByName.get('n2')!.requested.milliCPU, 250);
  // Finished pods hold nothing.
  s.addPod({ ...pod('job', { cpu: '1', nodeName: 'n2' }), status: { phase: 'Succeeded' } });
  assert.equal(s.nodesByName.get('n2')!.requested.milliCPU, 250);
});

test('pods of a node not in the snapshot yet wait for it; removing a node keeps the order of the rest', () => {
  const s = new ClusterSnapshot([node('n1'), node('n2'), node('n3')]);
  s.addPod(pod('early', { cpu: '1', nodeName: 'n4' }));
  assert.equal(s.pods.size, 0);
  s.addNode(node('n4'));
  assert.equal(s.nodesByName.get('n4')!.requested.milliCPU, 1000);
  s.removeNode('n1');
  assert.deepEqual(s.nodes.map((n) => n.name).sort(), ['n2', 'n3', 'n4']);
  s.nodes.forEach((n, i) => assert.equal(n.index, i));
});

test('the label index finds pods by selector and namespace', () => {
  const s = new ClusterSnapshot([node('n1')]);
  s.addPod(pod('web-1', { labels: { app: 'web', tier: 'fe' }, nodeName: 'n1' }));
  s.addPod(pod('web-2', { labels: { app: 'web' }, nodeName: 'n1', namespace: 'other' }));
  s.addPod(pod('db-1', { labels: { app: 'db' }, nodeName: 'n1' }));
  const names = (sel: Parameters<typeof s.podsMatching>[0], ns: Set<string> | null) => [...s.podsMatching(sel, ns)].map((p) => p.pod.metadata!.name).sort();
  assert.deepEqual(names({ requirements: [{ key: 'app', operator: '=', values: ['web'] }] }, null), ['web-1', 'web-2']);
  assert.deepEqual(names({ requirements: [{ key: 'app', operator: '=', values: ['web'] }] }, new Set(['default'])), ['web-1']);
  assert.deepEqual(names({ requirements: [{ key: 'app', operator: 'in', values: ['web', 'db'] }, { key: 'tier', operator: '!', values: [] }] }, null), ['db-1', 'web-2']);
  assert.deepEqual(names({ requirements: [] }, null), ['db-1', 'web-1', 'web-2']);
  assert.deepEqual(names({ requirements: [], nothing: true }, null), []);
});
