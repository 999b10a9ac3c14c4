import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.d.ts';
import { R, type RestClient, SharedInformer } from '../../src/client/index.ts';
import { definition } from '../../src/controllers/daemonset.ts';
import { nodeShouldRunDaemonPod, targetNodeOf } from '../../src/controllers/daemonset-nodes.ts';
import { planDaemonPods } from '../../src/controllers/daemonset-plan.ts';
import { REVISION_HASH_LABEL } from '../../src/controllers/daemonset-revisions.ts';
import { rollingUpdate } from '../../src/controllers/daemonset-rollout.ts';
import { definition as scheduler } from '../../src/controllers/scheduler.ts';
import { until } from './apps-helpers.ts';
import { type Harness, startHarness } from './harness.ts';

const NS = 'ds-test';

function node(name: string, labels: Record<string, string> = {}, taints?: Taint[]): Node {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: taints ? { taints } : {},
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }],
    },
  };
}

async function createNode(client: RestClient, n: Node): Promise<void> {
  const created = await client.create<Node>(R.nodes, { ...n, status: undefined });
  await client.updateStatus(R.nodes, { ...created, status: n.status });
}

function daemonSet(name: string, extra: Partial<NonNullable<DaemonSet['spec']>['template']['spec']> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        // grace 0: deleted pods go at once, as no kubelet runs here to confirm termination
        spec: { containers: [{ name: 'c', image: 'busybox:1' }], terminationGracePeriodSeconds: 0, ...extra },
      },
    },
  };
}

/** Stands in for kubelets: a pod bound to a node becomes Running and Ready after delayMs. */
function kubelets(client: RestClient, delayMs: number) {
  const informer = new SharedInformer<Pod>(client, R.pods, { namespace: NS });
  const seen = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const onPod = (pod: Pod) => {
    if (!pod.spec?.nodeName || pod.metadata?.deletionTimestamp || seen.has(pod.metadata!.uid!)) return;
    seen.add(pod.metadata!.uid!);
    const t = setTimeout(() => {
      timers.delete(t);
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      client.patch(R.pods, pod.metadata!.name!, {
        status: {
          phase: 'Running',
          conditions: ['Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          containerStatuses: [{ name: 'c', image: pod.spec!.containers[0].image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } }],
        },
      }, { namespace: NS, subresource: 'status' }).catch((e: { code?: number; message: string }) => {
        if (e.code !== 404) console.error(`test kubelet: ${e.message}`);
      });
    }, delayMs);
    timers.add(t);
  };
  informer.addEventHandler({ onAdd: onPod, onUpdate: (_o, p) => onPod(p) });
  informer.start();
  return {
    informer,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      await informer.stop();
    },
  };
}

describe('daemonset node eligibility', () => {
  const ds = daemonSet('x', { nodeSelector: { disk: 'ssd' } });
  it('needs nodeSelector to match', () => {
    assert.equal(nodeShouldRunDaemonPod(ds, node('a', { disk: 'ssd' })).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(ds, node('b', { disk: 'hdd' })).shouldRun, false);
  });
  it('keeps off untolerated NoSchedule taints but stays on them; NoExecute evicts', () => {
    const plain = daemonSet('y');
    const noSchedule = nodeShouldRunDaemonPod(plain, node('a', {}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]));
    assert.deepEqual(noSchedule, { shouldRun: false, shouldContinueRunning: true });
    const noExecute = nodeShouldRunDaemonPod(plain, node('a', {}, [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }]));
    assert.deepEqual(noExecute, { shouldRun: false, shouldContinueRunning: false });
  });
  it('tolerates the node-condition taints daemon pods get by default', () => {
    const plain = daemonSet('z');
    const v = nodeShouldRunDaemonPod(plain, node('a', {}, [
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
    ]));
    assert.equal(v.shouldRun, true);
  });
});

describe('daemonset rolling update step (pure)', () => {
  const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
  const pod = (name: string, nodeName: string, hash: string, readySince?: number): Pod => ({
    metadata: { name, namespace: NS, uid: name, labels: { app: 'x', [REVISION_HASH_LABEL]: hash }, creationTimestamp: at(60_000) },
    spec: { nodeName, containers: [{ name: 'c', image: 'i' }] },
    status: readySince === undefined ? { phase: 'Pending' } : { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at(readySince) }] },
  });
  const surging = (maxSurge: number | string, minReadySeconds = 0): DaemonSet => {
    const ds = daemonSet('x');
    ds.spec!.minReadySeconds = minReadySeconds;
    ds.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable: 0 } };
    return ds;
  };
  const nodes = ['a', 'b', 'c', 'd'].map((n) => node(n));
  const step = (ds: DaemonSet, pods: Pod[]) => {
    const plan = planDaemonPods(ds, nodes, pods, 'new');
    const r = plan.create.length === 0 && plan.delete.length === 0 ? rollingUpdate(ds, plan, 'new') : { create: plan.create, delete: plan.delete };
    return { create: [...r.create].sort(), delete: r.delete.map((p) => p.metadata!.name).sort() };
  };
  const allOld = () => ['a', 'b', 'c', 'd'].map((n) => pod(`old-${n}`, n, 'old', 60_000));

  it('surges onto maxSurge nodes (percent of eligible nodes, rounded up) and deletes nothing yet', () => {
    assert.deepEqual(step(surging(1), allOld()).create.length, 1);
    assert.deepEqual(step(surging('30%'), allOld()).create.length, 2, '30% of 4 nodes rounds up to 2');
    assert.deepEqual(step(surging('100%'), allOld()).create.length, 4);
    assert.deepEqual(step(surging(1), allOld()).delete, []);
  });

  it('waits while the new pod is not available, then deletes the old one', () => {
    const notReady = [...allOld(), pod('new-a', 'a', 'new')];
    assert.deepEqual(step(surging(1), notReady), { create: [], delete: [] }, 'the surge slot is taken');
    const readyNotAvailable = [...allOld(), pod('new-a', 'a', 'new', 500)];
    assert.deepEqual(step(surging(1, 5), readyNotAvailable), { create: [], delete: [] }, 'minReadySeconds not yet over');
    const available = [...allOld(), pod('new-a', 'a', 'new', 10_000)];
    assert.deepEqual(step(surging(1, 5), available).delete, ['old-a']);
  });

  it('replaces an old pod that is not available at once, beyond maxSurge', () => {
    const pods = allOld();
    pods[2] = pod('old-c', 'c', 'old'); // not ready
    const r = step(surging(1), pods);
    assert.ok(r.create.includes('c') && r.create.length === 2, `c plus one surge: ${r.create}`);
  });

  it('without surge, deletes old pods within maxUnavailable', () => {
    const ds = daemonSet('x');
    ds.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 0 } };
    assert.deepEqual(step(ds, allOld()), { create: [], delete: ['old-a', 'old-b'] });
    assert.deepEqual(step(ds, [...allOld().slice(1), pod('new-a', 'a', 'new')]), { create: [], delete: ['old-b'] });
  });
});

describe('daemonset controller', () => {
  let h: Harness;
  let k: ReturnType<typeof kubelets>;
  const podsOf = (app: string) => k.informer.list(NS).filter((p) => p.metadata?.labels?.app === app && !p.metadata.deletionTimestamp);
  const nodesOf = (app: string) => podsOf(app).map((p) => p.spec?.nodeName ?? '?').sort();
  const getDs = (name: string) => h.client.get<DaemonSet>(R.daemonsets, name, { namespace: NS });

  before(async () => {
    h = await startHarness([definition, scheduler]);
    await h.k(['create', 'namespace', NS]);
    for (const n of ['n1', 'n2', 'n3']) await createNode(h.client, node(n, { disk: n === 'n3' ? 'hdd' : 'ssd' }));
    k = kubelets(h.client, 150);
  });
  after(async () => {
    await k?.stop();
    await h?.stop();
  });

  it('runs one pod per node, pinned by node affinity, and a new node gets one', async () => {
    await h.client.create(R.daemonsets, daemonSet('agent'));
    await until('3 agent pods, one per node', () => nodesOf('agent').join() === 'n1,n2,n3');
    const pod = podsOf('agent').find((p) => p.spec?.nodeName === 'n2')!;
    const { nodeName: _bound, ...unbound } = pod.spec!;
    assert.equal(targetNodeOf({ spec: { ...unbound, containers: unbound.containers } }), 'n2', 'placed through matchFields metadata.name');
    assert.ok(pod.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
    await until('status counts 3 available', async () => {
      const s = (await getDs('agent')).status;
      return s?.desiredNumberScheduled === 3 && s.numberAvailable === 3 && s.updatedNumberScheduled === 3 && s.numberReady === 3;
    });

    await createNode(h.client, node('n4'));
    await until('a 4th pod on n4', () => nodesOf('agent').join() === 'n1,n2,n3,n4');
    await until('desired 4', async () => (await getDs('agent')).status?.desiredNumberScheduled === 4);

    const revs = await h.client.list<ControllerRevision>(R.controllerrevisions, { namespace: NS });
    assert.equal(revs.items.filter((r) => r.metadata?.name?.startsWith('agent-')).length, 1);
  });

  it('skips a tainted node the template does not tolerate', async () => {
    await createNode(h.client, node('tainted', {}, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]));
    await h.client.create(R.daemonsets, daemonSet('plain'));
    await h.client.create(R.daemonsets, {
      ...daemonSet('tolerant', { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] }),
    });
    await until('plain on the 4 untainted nodes', () => nodesOf('plain').join() === 'n1,n2,n3,n4');
    await until('tolerant on all 5 nodes', () => nodesOf('tolerant').join() === 'n1,n2,n3,n4,tainted');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(nodesOf('plain'), ['n1', 'n2', 'n3', 'n4']);
    await until('plain wants 4', async () => (await getDs('plain')).status?.desiredNumberScheduled === 4);
  });

  it('follows nodeSelector, also when node labels change', async () => {
    await h.client.create(R.daemonsets, daemonSet('ssd', { nodeSelector: { disk: 'ssd' } }));
    await until('ssd pods on n1 and n2', () => nodesOf('ssd').join() === 'n1,n2');
    await h.client.patch(R.nodes, 'n1', { metadata: { labels: { disk: 'hdd' } } });
    await until('n1 loses its pod', () => nodesOf('ssd').join() === 'n2');
    await h.client.patch(R.nodes, 'n3', { metadata: { labels: { disk: 'ssd' } } });
    await until('n3 gains one', () => nodesOf('ssd').join() === 'n2,n3');
  });

  it('rolls an image change out one node at a time', async () => {
    await h.client.create(R.daemonsets, daemonSet('roll'));
    await until('4 ready roll pods', async () => (await getDs('roll')).status?.numberAvailable === 4);
    // Track the fewest nodes with a ready pod during the rollout: maxUnavailable 1 of 4 means never below 3.
    let fewestReady = 4;
    const imagesSeen = new Set<string>();
    const watch = () => {
      const ready = podsOf('roll').filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      fewestReady = Math.min(fewestReady, new Set(ready.map((p) => p.spec?.nodeName)).size);
      for (const p of podsOf('roll')) imagesSeen.add(p.spec!.containers[0].image!);
    };
    const unwatch = k.informer.addEventHandler({ onAdd: watch, onUpdate: watch, onDelete: watch });
    try {
      await h.k(['-n', NS, 'set', 'image', 'ds/roll', 'c=busybox:2']);
      const out = await h.k(['-n', NS, 'rollout', 'status', 'ds/roll', '--timeout=30s']);
      assert.match(out, /successfully rolled out/);
    } finally {
      unwatch();
    }
    assert.deepEqual(podsOf('roll').map((p) => p.spec!.containers[0].image), ['busybox:2', 'busybox:2', 'busybox:2', 'busybox:2']);
    assert.equal(fewestReady, 3, 'one node at a time (maxUnavailable 1)');
    assert.ok(imagesSeen.has('busybox:1') && imagesSeen.has('busybox:2'));
    const s = (await getDs('roll')).status!;
    assert.equal(s.updatedNumberScheduled, 4);
    const revs = (await h.client.list<ControllerRevision>(R.controllerrevisions, { namespace: NS })).items.filter((r) => r.metadata?.name?.startsWith('roll-'));
    assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
    const history = await h.k(['-n', NS, 'rollout', 'history', 'ds/roll']);
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);
  });

  it('refuses maxSurge together with maxUnavailable, and both 0', async () => {
    const apply = (rollingUpdate: object) => {
      const ds = daemonSet('bad');
      ds.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate };
      return h.kubectl(['apply', '-f', '-'], { input: JSON.stringify(ds) });
    };
    // maxUnavailable defaults to 1, so a surge alone is refused as in Kubernetes.
    const both = await apply({ maxSurge: 1 });
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /spec\.updateStrategy\.rollingUpdate\.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero/);
    const none = await apply({ maxSurge: '0%', maxUnavailable: 0 });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /spec\.updateStrategy\.rollingUpdate\.maxUnavailable: Required value: cannot be 0 when maxSurge is 0/);
    const over = await apply({ maxSurge: '150%', maxUnavailable: 0 });
    assert.match(over.stderr, /maxSurge: Invalid value: 150%: must not be greater than 100%/);
  });

  it('with maxSurge 1 and maxUnavailable 0, starts each new pod before the old one goes, one node at a time', async () => {
    const ds = daemonSet('surge');
    ds.spec!.minReadySeconds = 1;
    ds.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    await h.client.create(R.daemonsets, ds);
    await until('4 available surge pods', async () => {
      const s = (await getDs('surge')).status;
      return s?.numberAvailable === 4 && s.updatedNumberScheduled === 4;
    }, 20_000);
    const eligible = ['n1', 'n2', 'n3', 'n4'];
    // Checked on every pod event of the watch: each eligible node keeps a ready (not terminating) pod,
    // and at most one node has two pods (pods not yet bound count on the node they are pinned to).
    const problems: string[] = [];
    let mostDoubled = 0;
    const surgedOn = new Set<string>();
    const check = () => {
      const byNode = new Map<string, Pod[]>();
      for (const p of podsOf('surge')) {
        const n = p.spec?.nodeName ?? targetNodeOf(p) ?? '?';
        byNode.set(n, [...(byNode.get(n) ?? []), p]);
      }
      for (const n of eligible) {
        if (!(byNode.get(n) ?? []).some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) {
          problems.push(`${n} had no ready pod`);
        }
      }
      const doubled = [...byNode].filter(([, pods]) => pods.length > 1);
      mostDoubled = Math.max(mostDoubled, doubled.length);
      for (const [n] of doubled) surgedOn.add(n);
    };
    const unwatch = k.informer.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
    try {
      await h.k(['-n', NS, 'set', 'image', 'ds/surge', 'c=busybox:2']);
      const out = await h.k(['-n', NS, 'rollout', 'status', 'ds/surge', '--timeout=60s'], { timeoutMs: 70_000 });
      assert.match(out, /successfully rolled out/);
    } finally {
      unwatch();
    }
    assert.deepEqual([...new Set(problems)], [], 'no node without a ready pod');
    assert.equal(mostDoubled, 1, 'at most maxSurge (1) nodes with two pods at once');
    assert.deepEqual([...surgedOn].sort(), eligible, 'every node ran its new pod next to the old one');
    assert.deepEqual(podsOf('surge').map((p) => p.spec!.containers[0].image), ['busybox:2', 'busybox:2', 'busybox:2', 'busybox:2']);
    const s = (await getDs('surge')).status!;
    assert.equal(s.updatedNumberScheduled, 4);
    assert.equal(s.numberAvailable, 4);
  });
});
