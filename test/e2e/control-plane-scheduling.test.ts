// Acceptance (issue 3, section 5), placement end to end with hollow nodes and the real kubectl:
// taints and tolerations, node affinity, pod affinity and anti-affinity put pods where
// Kubernetes would; a pod too big for any node stays Pending with kube-scheduler's reason; a
// high-priority pod preempts a lower-priority one.
//
// Four 2-CPU nodes in two zones: cps-a-0, cps-a-1 (zone a, disk=ssd), cps-b-0, cps-b-1 (zone b).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event, Pod } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { getJson, type HollowProcess, isPodReady, listPods, startHollowNodes, waitNodesReady } from './control-plane-helpers.ts';

const ZONE_A = ['cps-a-0', 'cps-a-1'];
const ZONE_B = ['cps-b-0', 'cps-b-1'];

function podYaml(name: string, spec: string, labels = `app: ${name}`): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { ${labels} } }
spec:
  containers: [{ name: c, image: nginx:1.27 }]
${spec}`;
}

describe('control plane: placement with hollow nodes and kubectl', { timeout: 240_000 }, () => {
  let s: TestServer;
  const hollows: HollowProcess[] = [];
  let ns = '';
  let n = 0;
  const k = (args: string[], input?: string) => s.k(['-n', ns, ...args], input === undefined ? undefined : { input });
  const apply = (yaml: string) => k(['apply', '-f', '-'], yaml);
  const nodeOf = async (pod: string) => waitFor(`${pod} is bound and Running`, async () => {
    const p = await getJson<Pod>(s, ['pod', pod, '-n', ns]);
    return p.status?.phase === 'Running' && p.spec?.nodeName;
  }, 30_000, 100);
  const pendingReason = async (pod: string) => waitFor(`${pod} is Pending with PodScheduled=False`, async () => {
    const p = await getJson<Pod>(s, ['pod', pod, '-n', ns]);
    const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
    return p.status?.phase === 'Pending' && !p.spec?.nodeName && c?.status === 'False' && c;
  }, 30_000, 100);

  before(async () => {
    s = await startServer({ timeoutMs: 60_000 });
    const shape = ['--cpu', '2', '--memory', '4Gi'];
    hollows.push(await startHollowNodes(s, 2, 'cps-a', [...shape, '--labels', 'topology.kubernetes.io/zone=a,disk=ssd']));
    hollows.push(await startHollowNodes(s, 2, 'cps-b', [...shape, '--labels', 'topology.kubernetes.io/zone=b']));
    await waitNodesReady(s, [...ZONE_A, ...ZONE_B]);
  });
  // A namespace per test: what one test leaves behind does not take another's room.
  const freshNamespace = async () => {
    if (ns) await s.k(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
    ns = `cps-${n++}`;
    await s.k(['create', 'namespace', ns]);
  };
  after(async () => {
    for (const h of hollows) await h.stop();
    await s?.cleanup();
  });

  it('keeps pods off a tainted node unless they tolerate it, and says so for the ones that cannot go anywhere else', async () => {
    await freshNamespace();
    await s.k(['taint', 'nodes', 'cps-b-0', 'dedicated=gpu:NoSchedule']);
    try {
      await k(['create', 'deployment', 'spread', '--image=nginx:1.27', '--replicas=9']);
      await k(['rollout', 'status', 'deployment/spread', '--timeout=60s']);
      const nodes = new Set((await listPods(s, ns, 'app=spread')).map((p) => p.spec?.nodeName));
      assert.ok(!nodes.has('cps-b-0'), `no untolerating pod on the tainted node (${[...nodes].join(', ')})`);

      await apply(podYaml('gpu-job', `  nodeSelector: { kubernetes.io/hostname: cps-b-0 }
  tolerations: [{ key: dedicated, operator: Equal, value: gpu, effect: NoSchedule }]`));
      assert.equal(await nodeOf('gpu-job'), 'cps-b-0');

      await apply(podYaml('no-toleration', '  nodeSelector: { kubernetes.io/hostname: cps-b-0 }'));
      const c = await pendingReason('no-toleration');
      assert.equal(c.reason, 'Unschedulable');
      assert.equal(c.message, "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 3 node(s) didn't match Pod's node affinity/selector. " +
        'preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.');
    } finally {
      await s.k(['taint', 'nodes', 'cps-b-0', 'dedicated:NoSchedule-']);
    }
    // The taint is gone: the pod that waited for it is scheduled (requeued on the node update).
    assert.equal(await nodeOf('no-toleration'), 'cps-b-0');
  });

  it('follows required and preferred node affinity', async () => {
    await freshNamespace();
    await apply(podYaml('needs-ssd', `  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{ matchExpressions: [{ key: disk, operator: In, values: [ssd] }] }]`));
    await apply(podYaml('likes-b', `  affinity:
    nodeAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        preference: { matchExpressions: [{ key: topology.kubernetes.io/zone, operator: In, values: [b] }] }`));
    assert.ok(ZONE_A.includes(await nodeOf('needs-ssd')));
    assert.ok(ZONE_B.includes(await nodeOf('likes-b')));
    await apply(podYaml('needs-nvme', `  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{ matchExpressions: [{ key: disk, operator: In, values: [nvme] }] }]`));
    const c = await pendingReason('needs-nvme');
    assert.match(c.message ?? '', /^0\/4 nodes are available: 4 node\(s\) didn't match Pod's node affinity\/selector\./);
  });

  it('spreads with pod anti-affinity and co-locates with pod affinity', async () => {
    await freshNamespace();
    const antiAffinity = `apiVersion: apps/v1
kind: Deployment
metadata: { name: spread }
spec:
  replicas: 4
  selector: { matchLabels: { app: spread } }
  template:
    metadata: { labels: { app: spread } }
    spec:
      containers: [{ name: c, image: nginx:1.27 }]
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: { matchLabels: { app: spread } }
            topologyKey: kubernetes.io/hostname
`;
    await apply(antiAffinity);
    await k(['rollout', 'status', 'deployment/spread', '--timeout=60s']);
    const hosts = (await listPods(s, ns, 'app=spread')).map((p) => p.spec?.nodeName).sort();
    assert.deepEqual(hosts, [...ZONE_A, ...ZONE_B].sort(), 'one replica per node');
    // A fifth has nowhere to go.
    await k(['scale', 'deployment/spread', '--replicas=5']);
    const pending = await waitFor('the fifth replica is Pending', async () =>
      (await listPods(s, ns, 'app=spread')).find((p) => !p.spec?.nodeName && p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False')), 30_000, 200);
    const c = pending.status!.conditions!.find((x) => x.type === 'PodScheduled')!;
    assert.match(c.message ?? '', /^0\/4 nodes are available: 4 node\(s\) didn't match pod anti-affinity rules\./);

    await apply(podYaml('cache', '  nodeSelector: { kubernetes.io/hostname: cps-b-1 }'));
    await apply(podYaml('web', `  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: { matchLabels: { app: cache } }
        topologyKey: topology.kubernetes.io/zone`));
    assert.equal(await nodeOf('cache'), 'cps-b-1');
    assert.ok(ZONE_B.includes(await nodeOf('web')), 'web runs in the zone of cache');
  });

  it('leaves a pod too big for any node Pending with the reason, as a condition and an Event', async () => {
    await freshNamespace();
    await apply(podYaml('huge', '  containers: [{ name: c, image: nginx:1.27, resources: { requests: { cpu: "64", memory: 1Gi } } }]'));
    const c = await pendingReason('huge');
    assert.equal(c.reason, 'Unschedulable');
    // More than a node's allocatable: preemption cannot help (kube-scheduler's Unresolvable insufficient resource).
    assert.equal(c.message, '0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.');
    const events = await waitFor('a FailedScheduling event', async () => {
      const { items } = await getJson<{ items: Event[] }>(s, ['events', '-n', ns, '--field-selector', 'involvedObject.name=huge,reason=FailedScheduling']);
      return items.length > 0 && items;
    }, 15_000, 200);
    assert.equal(events[0].type, 'Warning');
    assert.match(events[0].message ?? '', /^0\/4 nodes are available: 4 Insufficient cpu\./);
    // What a user reads: kubectl describe shows it, the pod stays Pending.
    assert.match(await k(['describe', 'pod', 'huge']), /FailedScheduling.*0\/4 nodes are available: 4 Insufficient cpu/s);
    assert.equal((await getJson<Pod>(s, ['pod', 'huge', '-n', ns])).status?.phase, 'Pending');
  });

  it('preempts a lower-priority pod for a high-priority one when nothing fits', async () => {
    await freshNamespace();
    await s.k(['create', 'priorityclass', 'cp-high', '--value=1000', '--description=acceptance test']);
    // One 1500m pod fills each 2-CPU node.
    await k(['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: { name: filler }
spec:
  replicas: 4
  selector: { matchLabels: { app: filler } }
  template:
    metadata: { labels: { app: filler } }
    spec: { containers: [{ name: c, image: nginx:1.27, resources: { requests: { cpu: 1500m } } }] }
`);
    await k(['rollout', 'status', 'deployment/filler', '--timeout=60s']);
    const before = new Map((await listPods(s, ns, 'app=filler')).map((p) => [p.metadata!.name!, p.spec!.nodeName!]));
    assert.equal(new Set(before.values()).size, 4);

    await apply(podYaml('vip', `  priorityClassName: cp-high
  containers: [{ name: c, image: nginx:1.27, resources: { requests: { cpu: 1500m } } }]`));
    const node = await nodeOf('vip');
    const vip = await getJson<Pod>(s, ['pod', 'vip', '-n', ns]);
    assert.ok(isPodReady(vip));
    // The victim was the filler on that node; its replacement has nowhere to go.
    const victim = [...before].find(([, n2]) => n2 === node)![0];
    const after = await waitFor('the victim is gone and its replacement is Pending', async () => {
      const pods = await listPods(s, ns, 'app=filler');
      return !pods.some((p) => p.metadata?.name === victim) && pods.length === 4 && pods.filter((p) => !p.spec?.nodeName).length === 1 && pods;
    }, 30_000, 200);
    for (const p of after.filter((x) => x.spec?.nodeName)) assert.equal(p.spec?.nodeName, before.get(p.metadata!.name!), 'other fillers stay');
    const events = await getJson<{ items: Event[] }>(s, ['events', '-n', ns, '--field-selector', `involvedObject.name=${victim},reason=Preempted`]);
    assert.equal(events.items.length, 1);
    assert.equal(events.items[0].message, `Preempted by pod ${vip.metadata!.uid} on node ${node}`);
  });
});
