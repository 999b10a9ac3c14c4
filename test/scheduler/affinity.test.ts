import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodAffinityTerm } from 'kubernetes-types/core/v1.d.ts';
import { schedulePod } from '../../src/scheduler/schedule.ts';
import { interPodAffinityFilter } from '../../src/scheduler/plugins/inter-pod-affinity.ts';
import { podTopologySpreadFilter } from '../../src/scheduler/plugins/pod-topology-spread.ts';
import { ClusterSnapshot, filterWith, node, pod, seeded, zones } from './helpers.ts';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';
const term = (labels: Record<string, string>, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm =>
  ({ labelSelector: { matchLabels: labels }, topologyKey, ...extra });

function scheduleAll(s: ClusterSnapshot, pods: ReturnType<typeof pod>[], seed = 3): string[] {
  const random = seeded(seed);
  return pods.map((p) => {
    const r = schedulePod(s, p, { random });
    if (!('node' in r)) throw new Error(`${p.metadata!.name}: ${r.unschedulable.message}`);
    s.assumePod(p, r.node);
    return r.node;
  });
}

test('required pod anti-affinity spreads replicas across zones, and the 4th replica has nowhere to go', () => {
  const s = new ClusterSnapshot(zones(2));
  const replica = (i: number) => pod(`cache-${i}`, {
    labels: { app: 'cache' }, cpu: '100m',
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'cache' }, ZONE)] } },
  });
  const placed = scheduleAll(s, [0, 1, 2].map(replica));
  const zonesUsed = placed.map((n) => s.nodesByName.get(n)!.labels[ZONE]).sort();
  assert.deepEqual(zonesUsed, ['zone-a', 'zone-b', 'zone-c']);
  const r = schedulePod(s, replica(3));
  assert.ok('unschedulable' in r);
  assert.equal(r.unschedulable.message,
    "0/6 nodes are available: 6 node(s) didn't match pod anti-affinity rules. preemption: 0/6 nodes are available: 6 No preemption victims found for incoming pod.");
});

test("existing pods' anti-affinity keeps matching pods out of their domain", () => {
  const s = new ClusterSnapshot(zones(1));
  s.addPod(pod('loner', {
    nodeName: 'zone-a-node-0', labels: { app: 'loner' },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ team: 'noisy' }, ZONE)] } },
  }));
  assert.deepEqual(filterWith(interPodAffinityFilter, s, pod('noisy', { labels: { team: 'noisy' } }), 'zone-a-node-0'),
    { code: 'Unschedulable', reasons: ["node(s) didn't satisfy existing pods anti-affinity rules"], plugin: 'InterPodAffinity' });
  assert.equal(filterWith(interPodAffinityFilter, s, pod('noisy', { labels: { team: 'noisy' } }), 'zone-b-node-0'), null);
  // Other namespaces are not affected: the term applies to the loner's namespace only.
  assert.equal(filterWith(interPodAffinityFilter, s, pod('noisy', { labels: { team: 'noisy' }, namespace: 'batch' }), 'zone-a-node-0'), 'skip');
});

test('required pod affinity: co-locate with the matching pods, or let the first of a group land anywhere', () => {
  const s = new ClusterSnapshot(zones(2));
  const web = (i: number, ns?: string) => pod(`web-${i}`, {
    labels: { app: 'web' }, namespace: ns,
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'cache' }, ZONE)] } },
  });
  assert.deepEqual(filterWith(interPodAffinityFilter, s, web(0), 'zone-a-node-0'),
    { code: 'UnschedulableAndUnresolvable', reasons: ["node(s) didn't match pod affinity rules"], plugin: 'InterPodAffinity' });
  s.addPod(pod('cache-0', { labels: { app: 'cache' }, nodeName: 'zone-b-node-1' }));
  const placed = scheduleAll(s, [1, 2, 3].map((i) => web(i)));
  for (const n of placed) assert.equal(s.nodesByName.get(n)!.labels[ZONE], 'zone-b');
  // The cache pod is in "default"; a web pod in "shop" does not see it unless the term lists the namespace.
  assert.notEqual(filterWith(interPodAffinityFilter, s, web(4, 'shop'), 'zone-b-node-0'), null);
  const crossNs = pod('web-x', { namespace: 'shop', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
    term({ app: 'cache' }, ZONE, { namespaces: ['default'] })] } } });
  assert.equal(filterWith(interPodAffinityFilter, s, crossNs, 'zone-b-node-0'), null);
  const allNs = pod('web-y', { namespace: 'shop', affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
    term({ app: 'cache' }, ZONE, { namespaceSelector: {} })] } } });
  assert.equal(filterWith(interPodAffinityFilter, s, allNs, 'zone-b-node-0'), null);
  assert.notEqual(filterWith(interPodAffinityFilter, s, allNs, 'zone-a-node-0'), null);
  // A group with affinity to itself: the first pod may go anywhere.
  const selfAffine = pod('etl-0', { labels: { app: 'etl' }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'etl' }, HOST)] } } });
  assert.equal(filterWith(interPodAffinityFilter, s, selfAffine, 'zone-a-node-0'), null);
});

test('topology spread maxSkew=1 over 3 zones: 9 replicas land 3/3/3, and a full zone blocks the skew', () => {
  const s = new ClusterSnapshot(zones(3));
  const replica = (i: number) => pod(`api-${i}`, {
    labels: { app: 'api' }, cpu: '100m',
    spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'api' } } }],
  });
  const placed = scheduleAll(s, Array.from({ length: 9 }, (_, i) => replica(i)));
  const perZone = new Map<string, number>();
  for (const n of placed) {
    const z = s.nodesByName.get(n)!.labels[ZONE];
    perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  assert.deepEqual([...perZone.values()], [3, 3, 3]);

  // zone-a: 2, zone-b: 1, zone-c: 1 → only b or c keep the skew <= 1.
  const t = new ClusterSnapshot(zones(1));
  t.addPod(pod('api-0', { labels: { app: 'api' }, nodeName: 'zone-a-node-0' }));
  t.addPod(pod('api-1', { labels: { app: 'api' }, nodeName: 'zone-a-node-0' }));
  t.addPod(pod('api-2', { labels: { app: 'api' }, nodeName: 'zone-b-node-0' }));
  t.addPod(pod('api-3', { labels: { app: 'api' }, nodeName: 'zone-c-node-0' }));
  assert.deepEqual(filterWith(podTopologySpreadFilter, t, replica(4), 'zone-a-node-0'),
    { code: 'Unschedulable', reasons: ["node(s) didn't match pod topology spread constraints"], plugin: 'PodTopologySpread' });
  assert.equal(filterWith(podTopologySpreadFilter, t, replica(4), 'zone-b-node-0'), null);
  // A node without the zone label cannot be placed in any domain.
  t.addNode(node('unlabelled'));
  assert.deepEqual((filterWith(podTopologySpreadFilter, t, replica(4), 'unlabelled') as { reasons: string[] }).reasons,
    ["node(s) didn't match pod topology spread constraints (missing required label)"]);
});

test('topology spread: minDomains treats the global minimum as 0 until enough domains exist', () => {
  const s = new ClusterSnapshot(zones(1, ['zone-a', 'zone-b']));
  s.addPod(pod('api-0', { labels: { app: 'api' }, nodeName: 'zone-a-node-0' }));
  s.addPod(pod('api-1', { labels: { app: 'api' }, nodeName: 'zone-b-node-0' }));
  const p = (minDomains?: number) => pod('api-2', { labels: { app: 'api' }, spread: [{
    maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', minDomains, labelSelector: { matchLabels: { app: 'api' } },
  }] });
  assert.equal(filterWith(podTopologySpreadFilter, s, p(), 'zone-a-node-0'), null);
  assert.notEqual(filterWith(podTopologySpreadFilter, s, p(3), 'zone-a-node-0'), null, '2 domains < minDomains 3: skew = 1 + 1 - 0');
});

test('topology spread: nodeAffinityPolicy Honor ignores domains the pod cannot use; nodeTaintsPolicy Honor ignores tainted ones', () => {
  const nodes = [
    ...zones(1),
    node('zone-d-node-0', { labels: { [ZONE]: 'zone-d', pool: 'batch' } }),
    node('zone-e-node-0', { labels: { [ZONE]: 'zone-e' }, taints: [{ key: 'maintenance', effect: 'NoSchedule' }] }),
  ];
  const s = new ClusterSnapshot(nodes);
  for (const z of ['a', 'b', 'c']) s.addPod(pod(`api-${z}`, { labels: { app: 'api' }, nodeName: `zone-${z}-node-0` }));
  const spread = (policy?: { nodeAffinityPolicy?: string; nodeTaintsPolicy?: string }) => pod('api-new', {
    labels: { app: 'api' },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'DoesNotExist' }] }] } } },
    spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'api' } }, ...policy }],
  });
  // Default: zone-d is excluded (affinity Honor), tainted zone-e counts (taints Ignore) with 0 pods: zone-a would be skew 2.
  assert.notEqual(filterWith(podTopologySpreadFilter, s, spread(), 'zone-a-node-0'), null);
  assert.equal(filterWith(podTopologySpreadFilter, s, spread(), 'zone-e-node-0'), null);
  // Taints Honor: zone-e no longer counts, min is 1, zone-a is fine.
  assert.equal(filterWith(podTopologySpreadFilter, s, spread({ nodeTaintsPolicy: 'Honor' }), 'zone-a-node-0'), null);
  // Affinity Ignore: zone-d counts with 0 pods.
  assert.notEqual(filterWith(podTopologySpreadFilter, s, spread({ nodeAffinityPolicy: 'Ignore', nodeTaintsPolicy: 'Honor' }), 'zone-a-node-0'), null);
});
