import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { newCycleState, type ScorePlugin } from '../../src/scheduler/framework.ts';
import { newPodInfo } from '../../src/scheduler/pod-info.ts';
import { nodeResourcesFitScore } from '../../src/scheduler/plugins/node-resources-fit.ts';
import { balancedAllocation } from '../../src/scheduler/plugins/balanced-allocation.ts';
import { imageLocality, normalizedImageName } from '../../src/scheduler/plugins/image-locality.ts';
import { interPodAffinityScore } from '../../src/scheduler/plugins/inter-pod-affinity-score.ts';
import { nodeAffinityScore } from '../../src/scheduler/plugins/node-affinity.ts';
import { podTopologySpreadScore } from '../../src/scheduler/plugins/pod-topology-spread-score.ts';
import { taintTolerationScore } from '../../src/scheduler/plugins/taint-toleration.ts';
import { schedulePod } from '../../src/scheduler/schedule.ts';
import { ClusterSnapshot, node, pod, seeded, zones } from './helpers.ts';

const ZONE = 'topology.kubernetes.io/zone';

/** PreScore + Score + NormalizeScore of one plugin over every node; 'skip' if PreScore skipped. */
function scores(plugin: ScorePlugin, s: ClusterSnapshot, p: Pod): Record<string, number> | 'skip' {
  const cycle = newCycleState(s, newPodInfo(p));
  if (plugin.preScore?.(cycle, s.nodes) === 'skip') return 'skip';
  const list = new Float64Array(s.nodes.map((n) => plugin.score(cycle, n, n.index)));
  plugin.normalizeScore?.(cycle, list, s.nodes);
  return Object.fromEntries(s.nodes.map((n, i) => [n.name, list[i]]));
}

test('LeastAllocated: free share of cpu and memory after placing the pod, averaged', () => {
  const s = new ClusterSnapshot([node('empty', { cpu: '4', memory: '8Gi' }), node('busy', { cpu: '4', memory: '8Gi' })]);
  s.addPod(pod('db', { cpu: '3', memory: '4Gi', nodeName: 'busy' }));
  // empty: cpu (4000-1000)/4000 = 75, mem (8-2)/8 = 75 → 75; busy: cpu 0/4000 → 0, mem (8-6)/8 = 25 → 12
  assert.deepEqual(scores(nodeResourcesFitScore, s, pod('web', { cpu: '1', memory: '2Gi' })), { empty: 75, busy: 12 });
  // A pod without requests counts as 100m / 200Mi: (4000-100)*100/4000 = 97, (8192-200)*100/8192 = 97
  assert.equal((scores(nodeResourcesFitScore, s, pod('be')) as Record<string, number>).empty, 97);
});

test('BalancedAllocation: 100 when cpu and memory are used in equal shares; skipped for best-effort pods', () => {
  const s = new ClusterSnapshot([node('a', { cpu: '4', memory: '8Gi' }), node('b', { cpu: '4', memory: '8Gi' })]);
  s.addPod(pod('mem-hog', { cpu: '0', memory: '6Gi', nodeName: 'b' }));
  // a: cpu 1/4 = .25, mem 2/8 = .25 → 100; b: cpu .25, mem 1 → std .375 → 62
  assert.deepEqual(scores(balancedAllocation, s, pod('web', { cpu: '1', memory: '2Gi' })), { a: 100, b: 62 });
  assert.equal(scores(balancedAllocation, s, pod('be')), 'skip');
});

test('ImageLocality: nodes with large images score higher, scaled by how many nodes have them', () => {
  const big = { names: ['docker.io/library/postgres:16'], sizeBytes: 400 * 1024 * 1024 };
  const s = new ClusterSnapshot([node('warm', { images: [big] }), node('cold', { images: [{ names: ['docker.io/library/busybox:latest'], sizeBytes: 2e6 }] })]);
  const r = scores(imageLocality, s, pod('db', { image: 'postgres:16' })) as Record<string, number>;
  // 400Mi * 1/2 nodes = 200Mi: (200-23)*100/(1000-23) = 18
  assert.deepEqual(r, { warm: 18, cold: 0 });
  assert.equal(normalizedImageName('nginx'), 'docker.io/library/nginx:latest');
  assert.equal(normalizedImageName('ghcr.io/org/app'), 'ghcr.io/org/app:latest');
  assert.equal(normalizedImageName('localhost:5000/app@sha256:abc'), 'localhost:5000/app@sha256:abc');
  assert.equal(scores(imageLocality, new ClusterSnapshot([node('x')]), pod('db')), 'skip', 'no node reports images');
});

test('TaintToleration score: fewer untolerated PreferNoSchedule taints is better (reversed)', () => {
  const s = new ClusterSnapshot([
    node('clean'),
    node('spot', { taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] }),
    node('spot-old', { taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }, { key: 'old-kernel', effect: 'PreferNoSchedule' }] }),
  ]);
  assert.deepEqual(scores(taintTolerationScore, s, pod('web')), { clean: 100, spot: 50, 'spot-old': 0 });
  const tolerant = pod('batch', { tolerations: [{ key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' }] });
  assert.deepEqual(scores(taintTolerationScore, s, tolerant), { clean: 100, spot: 100, 'spot-old': 0 });
});

test('NodeAffinity score: preferred term weights, normalized to the best node', () => {
  const s = new ClusterSnapshot([
    node('ssd-a', { labels: { disktype: 'ssd', [ZONE]: 'a' } }),
    node('ssd-b', { labels: { disktype: 'ssd', [ZONE]: 'b' } }),
    node('hdd-a', { labels: { disktype: 'hdd', [ZONE]: 'a' } }),
  ]);
  const p = pod('db', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    { weight: 80, preference: { matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] } },
    { weight: 20, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: ['a'] }] } },
  ] } } });
  assert.deepEqual(scores(nodeAffinityScore, s, p), { 'ssd-a': 100, 'ssd-b': 80, 'hdd-a': 20 });
  assert.equal(scores(nodeAffinityScore, s, pod('plain')), 'skip');
});

test('InterPodAffinity score: preferred affinity attracts, preferred anti-affinity repels, min..max normalized', () => {
  const s = new ClusterSnapshot(zones(1));
  s.addPod(pod('cache-0', { labels: { app: 'cache' }, nodeName: 'zone-a-node-0' }));
  s.addPod(pod('web-0', { labels: { app: 'web' }, nodeName: 'zone-b-node-0' }));
  const p = pod('web-1', { labels: { app: 'web' }, affinity: {
    podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: ZONE } }] },
    podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: ZONE } }] },
  } });
  // raw: a +50, b -100, c 0 → (s - min) / (max - min)
  assert.deepEqual(scores(interPodAffinityScore, s, p), { 'zone-a-node-0': 100, 'zone-b-node-0': 0, 'zone-c-node-0': 66 });
  // An existing pod's preferred affinity to the incoming pod counts too (symmetry).
  s.addPod(pod('sidecar-lover', { nodeName: 'zone-c-node-0', affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    { weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { app: 'metrics' } }, topologyKey: ZONE } }] } } }));
  assert.deepEqual(scores(interPodAffinityScore, s, pod('m', { labels: { app: 'metrics' } })), { 'zone-a-node-0': 0, 'zone-b-node-0': 0, 'zone-c-node-0': 100 });
  assert.equal(scores(interPodAffinityScore, new ClusterSnapshot(zones(1)), pod('plain')), 'skip');
});

test('PodTopologySpread score (ScheduleAnyway): domains with fewer matching pods score higher', () => {
  const s = new ClusterSnapshot(zones(1));
  s.addPod(pod('api-0', { labels: { app: 'api' }, nodeName: 'zone-a-node-0' }));
  s.addPod(pod('api-1', { labels: { app: 'api' }, nodeName: 'zone-a-node-0' }));
  s.addPod(pod('api-2', { labels: { app: 'api' }, nodeName: 'zone-b-node-0' }));
  const p = pod('api-3', { labels: { app: 'api' }, spread: [
    { maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'api' } } }] });
  // weight ln(3+2) = 1.609: raw a = round(2*1.609) = 3, b = 2, c = 0 → 100*(3+0-s)/3
  assert.deepEqual(scores(podTopologySpreadScore, s, p), { 'zone-a-node-0': 0, 'zone-b-node-0': 33, 'zone-c-node-0': 100 });
});

test('schedulePod combines the weighted scores: the emptier, untainted, preferred node wins', () => {
  const s = new ClusterSnapshot([
    node('busy', { labels: { disktype: 'ssd' } }),
    node('spot', { labels: { disktype: 'ssd' }, taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }),
    node('hdd', { labels: { disktype: 'hdd' } }),
    node('good', { labels: { disktype: 'ssd' } }),
  ]);
  s.addPod(pod('hog', { cpu: '3', memory: '12Gi', nodeName: 'busy' }));
  const p = pod('db', { cpu: '500m', memory: '1Gi', affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    { weight: 100, preference: { matchExpressions: [{ key: 'disktype', operator: 'In', values: ['ssd'] }] } }] } } });
  for (let seed = 1; seed < 20; seed++) {
    const r = schedulePod(s, p, { random: seeded(seed) });
    assert.ok('node' in r && r.node === 'good', JSON.stringify(r));
  }
});

test('ties are broken at random among the best nodes', () => {
  const s = new ClusterSnapshot(Array.from({ length: 4 }, (_, i) => node(`n${i}`)));
  const seen = new Set<string>();
  const random = seeded(11);
  for (let i = 0; i < 200; i++) {
    const r = schedulePod(s, pod('web', { cpu: '100m' }), { random });
    if ('node' in r) seen.add(r.node);
  }
  assert.equal(seen.size, 4);
});
