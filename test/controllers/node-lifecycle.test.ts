// The node lifecycle controller against a real server: nodes whose Lease stops
// being renewed go Unknown and get the unreachable taints, come back when the
// kubelet posts Ready again, and NoExecute taints evict pods by their tolerations.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Event, Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { definition, evictionTime, noScheduleTaints, reconcileNoScheduleTaints, swapNoExecuteTaints, tolerates } from '../../src/controllers/node-lifecycle.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';

const GRACE_MS = 1500;
const microTime = () => new Date().toISOString().replace(/Z$/, '000Z');
const seconds = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const condition = (o: Node | Pod | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

function readyConditions(): NonNullable<Node['status']>['conditions'] {
  const t = seconds();
  return [
    { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t },
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: t, lastTransitionTime: t },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: t, lastTransitionTime: t },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastHeartbeatTime: t, lastTransitionTime: t },
  ];
}

/** A fake kubelet: registers the node, posts Ready, and renews its lease while `alive`. */
class FakeKubelet {
  alive = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly h: Harness;
  readonly name: string;
  constructor(h: Harness, name: string) {
    this.h = h;
    this.name = name;
  }
  async start(): Promise<void> {
    await this.h.client.create(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: this.name } });
    await this.postReady();
    await this.h.client.create<Lease>(R.leases, { metadata: { name: this.name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: this.name, leaseDurationSeconds: 40, renewTime: microTime() } });
    this.timer = setInterval(() => {
      if (this.alive) void this.renew().catch((e) => this.h.logs.push(`renew ${this.name}: ${e.message}`));
    }, 300);
  }
  async renew(): Promise<void> {
    const l = await this.h.client.get<Lease>(R.leases, this.name, { namespace: 'kube-node-lease' });
    await this.h.client.update(R.leases, { ...l, spec: { ...l.spec, renewTime: microTime() } });
  }
  postReady(): Promise<unknown> {
    return this.h.client.patch(R.nodes, this.name, { status: { conditions: readyConditions() } }, { subresource: 'status', type: 'strategic' });
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** tolerationSeconds: undefined = no toleration of our own, null = tolerate unreachable forever; or explicit tolerations. */
async function runningPod(h: Harness, name: string, nodeName: string, tolerationSeconds?: number | null | Toleration[]): Promise<void> {
  const tolerations = Array.isArray(tolerationSeconds) ? tolerationSeconds
    : tolerationSeconds === undefined ? undefined
    : [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', ...(tolerationSeconds !== null ? { tolerationSeconds } : {}) }];
  await h.client.create<Pod>(R.pods, {
    metadata: { name, namespace: 'default' },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) },
  });
  const t = seconds();
  await h.client.patch(R.pods, name, { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] } },
    { namespace: 'default', subresource: 'status', type: 'merge' });
}

const getNode = (h: Harness, name: string) => h.client.get<Node>(R.nodes, name);
const getPod = (h: Harness, name: string) => h.client.get<Pod>(R.pods, name, { namespace: 'default' }).catch(() => undefined);

describe('node lifecycle controller', { timeout: 60_000 }, () => {
  let h: Harness;
  const kubelets: FakeKubelet[] = [];
  before(async () => {
    // A fast eviction rate: a node registers before it posts Ready, so the controller may briefly see every
    // node not Ready ("master disruption"), and leaving that starts the zone's limiter empty (one token per
    // 1/rate s, as upstream). Rates are tested in node-lifecycle-zones.test.ts.
    h = await startHarness([definition], { options: { nodeMonitorGracePeriodMs: GRACE_MS, nodeEvictionRate: 10 } });
  });
  after(async () => {
    for (const k of kubelets) k.stop();
    await h?.stop();
  });

  it('marks a silent node Unknown and unreachable, evicts by toleration, and lifts the taints when it is back', async () => {
    const alive = new FakeKubelet(h, 'alive');
    const silent = new FakeKubelet(h, 'silent');
    kubelets.push(alive, silent);
    await alive.start();
    await silent.start();
    await runningPod(h, 'forever', 'silent', null); // tolerates unreachable with no limit
    await runningPod(h, 'short', 'silent', 1);
    await runningPod(h, 'defaulted', 'silent'); // admission's 300 s default
    await runningPod(h, 'elsewhere', 'alive', 1);
    silent.alive = false;
    const t0 = Date.now();

    const node = await waitFor('silent goes Unknown with the unreachable taints', async () => {
      const n = await getNode(h, 'silent');
      return condition(n, 'Ready')?.status === 'Unknown' && (n.spec?.taints ?? []).length === 2 && n;
    }, GRACE_MS + 5000);
    assert.ok(Date.now() - t0 >= GRACE_MS - 300, 'not before the grace period');
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      const c = condition(node, type)!;
      assert.equal(c.status, 'Unknown', type);
      assert.equal(c.reason, 'NodeStatusUnknown');
      assert.equal(c.message, 'Kubelet stopped posting node status.');
    }
    assert.deepEqual(node.spec!.taints!.map((t) => `${t.key}:${t.effect}`).sort(),
      ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    assert.ok(node.spec!.taints!.find((t) => t.effect === 'NoExecute')!.timeAdded);
    assert.equal(condition(await getNode(h, 'alive'), 'Ready')?.status, 'True');

    // Pods on it are no longer Ready; the one tolerating 1 s goes, the others stay.
    await waitFor('pods on silent marked not ready', async () => condition(await getPod(h, 'forever'), 'Ready')?.status === 'False');
    await waitFor('short evicted', async () => {
      const p = await getPod(h, 'short');
      return !p || !!p.metadata?.deletionTimestamp;
    }, 5000);
    const short = await getPod(h, 'short');
    if (short) assert.equal(condition(short, 'DisruptionTarget')?.reason, 'DeletionByTaintManager');
    await new Promise((r) => setTimeout(r, 500));
    for (const name of ['forever', 'defaulted', 'elsewhere']) assert.ok(!(await getPod(h, name))?.metadata?.deletionTimestamp, `${name} stays`);

    const events = (await h.client.list<Event>(R.events, { namespace: 'default' })).items;
    assert.ok(events.some((e) => e.reason === 'NodeNotReady' && e.involvedObject.kind === 'Node' && e.involvedObject.name === 'silent'), 'NodeNotReady event');
    assert.ok(events.some((e) => e.reason === 'TaintManagerEviction' && e.involvedObject.name === 'short'), 'TaintManagerEviction event');

    // The kubelet comes back: lease renewed, Ready=True posted → taints lifted.
    silent.alive = true;
    await silent.renew();
    await silent.postReady();
    await waitFor('silent ready without taints', async () => {
      const n = await getNode(h, 'silent');
      return condition(n, 'Ready')?.status === 'True' && !(n.spec?.taints ?? []).length;
    }, 5000);
    // ...and it stays so while the lease keeps moving.
    await new Promise((r) => setTimeout(r, GRACE_MS + 300));
    assert.equal(condition(await getNode(h, 'silent'), 'Ready')?.status, 'True');
  });

  it('evicts pods that do not tolerate a NoExecute taint at once, and keeps other taints', async () => {
    const k = new FakeKubelet(h, 'tainted');
    kubelets.push(k);
    await k.start();
    await runningPod(h, 'intolerant', 'tainted');
    await runningPod(h, 'tolerant', 'tainted', [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' }]);
    await h.k(['taint', 'node', 'tainted', 'dedicated=db:NoExecute']);
    await waitFor('intolerant evicted', async () => {
      const p = await getPod(h, 'intolerant');
      return !p || !!p.metadata?.deletionTimestamp;
    }, 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!(await getPod(h, 'tolerant'))?.metadata?.deletionTimestamp, 'a pod tolerating the taint stays');
    const n = await getNode(h, 'tainted');
    assert.ok(n.spec!.taints!.some((t) => t.key === 'dedicated'), 'a user taint is left alone');
  });
});

describe('taint and toleration rules', () => {
  const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2025-01-01T00:00:00Z' };
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const podWith = (tolerations: NonNullable<Pod['spec']>['tolerations']): Pod => ({ spec: { containers: [], tolerations } });

  it('matches tolerations as Kubernetes does', () => {
    assert.ok(tolerates({ operator: 'Exists' }, unreachable));
    assert.ok(tolerates({ key: unreachable.key, operator: 'Exists', effect: 'NoExecute' }, unreachable));
    assert.ok(!tolerates({ key: unreachable.key, operator: 'Exists', effect: 'NoSchedule' }, unreachable));
    assert.ok(tolerates({ key: 'a', operator: 'Equal', value: 'b' }, { key: 'a', value: 'b', effect: 'NoExecute' }));
    assert.ok(!tolerates({ key: 'a', value: 'c' }, { key: 'a', value: 'b', effect: 'NoExecute' }));
    assert.ok(!tolerates({ value: 'b' }, { key: 'a', value: 'b', effect: 'NoExecute' }));
  });

  it('computes when a pod must go', () => {
    assert.equal(evictionTime(podWith([]), [unreachable], 5), 5, 'untolerated: now');
    assert.equal(evictionTime(podWith([{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute' }]), [unreachable], 5), undefined, 'forever');
    assert.equal(evictionTime(podWith([{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]), [unreachable], 5), t0 + 30_000);
    assert.equal(evictionTime(podWith([{ operator: 'Exists', tolerationSeconds: -3 }]), [unreachable], 5), t0, 'negative means at once after the taint');
  });

  it('derives NoSchedule taints from conditions and leaves NoExecute and foreign taints alone', () => {
    const node: Node = { spec: { unschedulable: true, taints: [{ key: 'x', effect: 'NoSchedule' }, unreachable,
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
    status: { conditions: [{ type: 'Ready', status: 'Unknown' }, { type: 'DiskPressure', status: 'True' }, { type: 'MemoryPressure', status: 'False' }] } };
    const desired = noScheduleTaints(node);
    assert.deepEqual(desired.map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);
    const next = reconcileNoScheduleTaints(node, desired)!;
    assert.deepEqual(next.map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule', 'x:NoSchedule'], 'not-ready:NoSchedule goes, the NoExecute taint stays');
    assert.equal(next.find((t) => t.effect === 'NoExecute')!.timeAdded, unreachable.timeAdded);
    assert.equal(reconcileNoScheduleTaints({ ...node, spec: { ...node.spec, taints: next } }, desired), undefined, 'nothing to change');
  });

  it('swaps the NoExecute taints, stamping the new one', () => {
    const node: Node = { spec: { taints: [{ key: 'x', effect: 'NoExecute' }, unreachable] } };
    const now = new Date('2025-02-02T00:00:00Z');
    const swapped = swapNoExecuteTaints(node, 'node.kubernetes.io/not-ready', ['node.kubernetes.io/unreachable'], now)!;
    assert.deepEqual(swapped, [{ key: 'x', effect: 'NoExecute' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: '2025-02-02T00:00:00Z' }]);
    assert.equal(swapNoExecuteTaints(node, 'node.kubernetes.io/unreachable', ['node.kubernetes.io/not-ready']), undefined, 'already so');
    assert.deepEqual(swapNoExecuteTaints(node, undefined, ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']), [{ key: 'x', effect: 'NoExecute' }]);
  });
});
