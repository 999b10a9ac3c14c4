// Zone-aware eviction of the node lifecycle controller against a real server:
// fake nodes (Node objects whose Leases the test renews) in labelled zones stop
// heartbeating, and the NoExecute taints (which evict pods) come at the zone's
// rate, or not at all when the whole cluster or most of a small zone is gone.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import type { ControllerOptions } from '../../src/controllers/context.ts';
import { definition } from '../../src/controllers/node-lifecycle.ts';
import { computeZoneState, RateLimitedNodeQueue, zoneEvictionRate, zoneKey, ZoneTainters } from '../../src/controllers/node-lifecycle-zones.ts';
import { TokenBucket } from '../../src/client/rate-limiter.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';

const GRACE_MS = 1500;
const UNREACHABLE = 'node.kubernetes.io/unreachable';
const microTime = () => new Date().toISOString().replace(/Z$/, '000Z');
const seconds = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readyOf = (n: Node | undefined) => n?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const hasTaint = (n: Node, key: string, effect: string) => (n.spec?.taints ?? []).some((t) => t.key === key && t.effect === effect);

/**
 * Fake kubelets for many nodes: one timer renews every live node's Lease in the same tick, so nodes
 * stopped together fall silent together (as when a zone's network goes).
 */
class FakeNodes {
  private readonly alive = new Set<string>();
  private readonly h: Harness;
  private readonly timer: NodeJS.Timeout;
  constructor(h: Harness) {
    this.h = h;
    this.timer = setInterval(() => {
      for (const name of this.alive) void this.renew(name).catch((e) => h.logs.push(`renew ${name}: ${(e as Error).message}`));
    }, 300);
  }
  async add(name: string, region: string, zone: string): Promise<void> {
    const labels = { 'topology.kubernetes.io/region': region, 'topology.kubernetes.io/zone': zone, 'kubernetes.io/hostname': name };
    await this.h.client.create<Node>(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
    await this.postReady(name);
    await this.h.client.create<Lease>(R.leases, { metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() } });
    this.alive.add(name);
  }
  renew(name: string): Promise<unknown> {
    return this.h.client.patch(R.leases, name, { spec: { renewTime: microTime() } }, { namespace: 'kube-node-lease', type: 'merge' });
  }
  postReady(name: string): Promise<unknown> {
    const t = seconds();
    return this.h.client.patch(R.nodes, name, { status: { conditions: [
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t },
    ] } }, { subresource: 'status', type: 'strategic' });
  }
  stop(...names: string[]): void {
    for (const n of names) this.alive.delete(n);
  }
  async revive(name: string): Promise<void> {
    await this.renew(name);
    await this.postReady(name);
    this.alive.add(name);
  }
  close(): void {
    clearInterval(this.timer);
  }
}

/** Records, from repeated snapshots of all nodes, when each node was first seen with the unreachable NoExecute taint. */
class TaintWatch {
  readonly firstSeen = new Map<string, number>();
  /** Snapshot in which each node's NoExecute taint was first seen. */
  readonly snapshots = new Map<string, Node[]>();
  private running = true;
  private readonly done: Promise<void>;
  constructor(h: Harness) {
    this.done = (async () => {
      while (this.running) {
        const { items } = await h.client.list<Node>(R.nodes);
        const at = Date.now();
        for (const n of items) {
          if (hasTaint(n, UNREACHABLE, 'NoExecute') && !this.firstSeen.has(n.metadata!.name!)) {
            this.firstSeen.set(n.metadata!.name!, at);
            this.snapshots.set(n.metadata!.name!, items);
          }
        }
        await sleep(50);
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** A pod on nodeName that tolerates the not-ready and unreachable taints for `seconds` (0: evicted as soon as tainted). */
async function podOn(h: Harness, name: string, nodeName: string, seconds: number): Promise<void> {
  const tolerations = [UNREACHABLE, 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds }));
  await h.client.create<Pod>(R.pods, { metadata: { name, namespace: 'default' }, spec: { nodeName, tolerations, containers: [{ name: 'c', image: 'busybox' }] } });
}
const podGoing = async (h: Harness, name: string) => {
  const p = await h.client.get<Pod>(R.pods, name, { namespace: 'default' }).catch(() => undefined);
  return !p || !!p.metadata?.deletionTimestamp;
};

async function waitUnknown(h: Harness, names: string[]): Promise<void> {
  await waitFor(`${names.join(', ')} Unknown with unreachable:NoSchedule`, async () => {
    const { items } = await h.client.list<Node>(R.nodes);
    return names.every((name) => {
      const n = items.find((x) => x.metadata!.name === name);
      return n && readyOf(n) === 'Unknown' && hasTaint(n, UNREACHABLE, 'NoSchedule');
    });
  }, GRACE_MS + 10_000);
}

describe('node lifecycle controller: zone-aware eviction', { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const cluster = async (options: Partial<ControllerOptions>) => {
    const h = await startHarness([definition], { options: { nodeMonitorGracePeriodMs: GRACE_MS, nodeMonitorPeriodMs: 1000, ...options } });
    cleanups.push(() => h.stop());
    const nodes = new FakeNodes(h);
    cleanups.push(() => nodes.close());
    return { h, nodes };
  };

  it('taints a zone that went down at --node-eviction-rate while the other zone is healthy', async () => {
    const { h, nodes } = await cluster({ nodeEvictionRate: 0.5 });
    const down = ['a-0', 'a-1', 'a-2'];
    for (const name of down) await nodes.add(name, 'r1', 'a');
    for (const name of ['b-0', 'b-1']) await nodes.add(name, 'r1', 'b');
    for (const name of [...down, 'b-0']) await podOn(h, `p-${name}`, name, 0);
    await waitFor('every node Ready', async () => (await h.client.list<Node>(R.nodes)).items.every((n) => readyOf(n) === 'True'));
    const watch = new TaintWatch(h);
    nodes.stop(...down);

    await waitFor('all of zone a tainted unreachable:NoExecute', () => down.every((n) => watch.firstSeen.has(n)), GRACE_MS + 20_000);
    await watch.stop();
    const order = down.map((n) => ({ name: n, at: watch.firstSeen.get(n)! })).sort((x, y) => x.at - y.at);
    // 0.5 nodes/s: one node at once, then one every 2 s (seen through polling, hence the slack).
    for (let i = 1; i < order.length; i++) {
      assert.ok(order[i].at - order[i - 1].at >= 1200, `${order[i].name} tainted ${order[i].at - order[i - 1].at} ms after ${order[i - 1].name}`);
    }
    const final = (await h.client.list<Node>(R.nodes)).items;
    const added = order.map((o) => Date.parse(final.find((n) => n.metadata!.name === o.name)!.spec!.taints!.find((t) => t.effect === 'NoExecute')!.timeAdded!));
    for (let i = 1; i < added.length; i++) assert.ok(added[i] - added[i - 1] >= 1000, `timeAdded ${added.map((a) => new Date(a).toISOString())}`);
    // The NoSchedule taints are not rate limited: every silent node had it before the second eviction.
    const second = watch.snapshots.get(order[1].name)!;
    for (const name of down) assert.ok(hasTaint(second.find((n) => n.metadata!.name === name)!, UNREACHABLE, 'NoSchedule'), `${name} NoSchedule`);
    for (const name of ['b-0', 'b-1']) {
      const n = final.find((x) => x.metadata!.name === name)!;
      assert.equal(readyOf(n), 'True');
      assert.deepEqual(n.spec?.taints ?? [], [], `${name} untainted`);
    }
    for (const name of down) await waitFor(`p-${name} evicted`, () => podGoing(h, `p-${name}`), 5000);
    assert.equal(await podGoing(h, 'p-b-0'), false, 'the pod in the healthy zone stays');
    assert.ok(h.logs.some((l) => /zone r1\/a is now FullDisruption/.test(l)), h.logs.join('\n'));
  });

  it('adds no NoExecute taints when every node of the cluster stops, and resumes when one is back', async () => {
    const { h, nodes } = await cluster({ nodeEvictionRate: 10 });
    const all = ['a-0', 'a-1', 'b-0', 'b-1'];
    for (const name of all) await nodes.add(name, 'r1', name.startsWith('a') ? 'a' : 'b');
    for (const name of all) await podOn(h, `p-${name}`, name, 2);
    await waitFor('every node Ready', async () => (await h.client.list<Node>(R.nodes)).items.every((n) => readyOf(n) === 'True'));
    const watch = new TaintWatch(h);
    nodes.stop(...all);

    await waitUnknown(h, all);
    await sleep(3000); // longer than the pods' tolerations and several zone passes
    await watch.stop();
    assert.deepEqual([...watch.firstSeen.keys()], [], 'no node was ever tainted NoExecute');
    for (const name of all) assert.equal(await podGoing(h, `p-${name}`), false, `p-${name} stays`);
    assert.ok(h.logs.some((l) => /entering master disruption mode/.test(l)), h.logs.join('\n'));

    // One node answers again: the control plane is evidently reachable, so the silent nodes are evicted.
    await nodes.revive('b-0');
    await waitFor('the other nodes tainted NoExecute', async () => (await h.client.list<Node>(R.nodes)).items
      .every((n) => (n.metadata!.name === 'b-0') !== hasTaint(n, UNREACHABLE, 'NoExecute')), GRACE_MS + 10_000);
    assert.ok(h.logs.some((l) => /exiting master disruption mode/.test(l)), h.logs.join('\n'));
    for (const name of ['a-0', 'a-1', 'b-1']) await waitFor(`p-${name} evicted`, () => podGoing(h, `p-${name}`), 8000);
    assert.equal(await podGoing(h, 'p-b-0'), false);
  });

  it('evicts nothing in a small zone that mostly went down, and slowly in a large one', async () => {
    // Zones of at most 4 nodes count as small here; 3 of 4 (and 3 of 5) not Ready is over the 0.55 threshold.
    const { h, nodes } = await cluster({ nodeEvictionRate: 10, secondaryNodeEvictionRate: 0.5, largeClusterSizeThreshold: 4 });
    const small = ['s-0', 's-1', 's-2', 's-3'];
    const large = ['l-0', 'l-1', 'l-2', 'l-3', 'l-4'];
    for (const name of small) await nodes.add(name, 'r1', 'small');
    for (const name of large) await nodes.add(name, 'r1', 'large');
    const downSmall = small.slice(0, 3);
    const downLarge = large.slice(0, 3);
    for (const name of downSmall) await podOn(h, `p-${name}`, name, 0);
    await waitFor('every node Ready', async () => (await h.client.list<Node>(R.nodes)).items.every((n) => readyOf(n) === 'True'));
    const watch = new TaintWatch(h);
    nodes.stop(...downSmall, ...downLarge);

    await waitUnknown(h, [...downSmall, ...downLarge]);
    await waitFor('the large zone tainted at the secondary rate', () => downLarge.every((n) => watch.firstSeen.has(n)), 15_000);
    await sleep(500);
    await watch.stop();
    const times = downLarge.map((n) => watch.firstSeen.get(n)!).sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 1200, `large zone tainted ${times[i] - times[i - 1]} ms apart`);
    for (const name of downSmall) assert.ok(!watch.firstSeen.has(name), `${name} (small zone) never tainted NoExecute`);
    for (const name of downSmall) assert.equal(await podGoing(h, `p-${name}`), false, `p-${name} stays`);
    assert.ok(h.logs.some((l) => /zone r1\/small is now PartialDisruption \(4 nodes\): tainting at 0 nodes\/s/.test(l)), h.logs.join('\n'));
    assert.ok(h.logs.some((l) => /zone r1\/large is now PartialDisruption \(5 nodes\): tainting at 0.5 nodes\/s/.test(l)), h.logs.join('\n'));
  });
});

describe('zone rules', () => {
  const o = { nodeEvictionRate: 0.1, secondaryNodeEvictionRate: 0.01, unhealthyZoneThreshold: 0.55, largeClusterSizeThreshold: 50 };

  it('keys zones by region and zone labels, GA before beta', () => {
    const node = (labels: Record<string, string>): Node => ({ metadata: { labels } });
    assert.equal(zoneKey(node({})), '');
    assert.equal(zoneKey(node({ 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': 'z' })), 'r/z');
    assert.equal(zoneKey(node({ 'failure-domain.beta.kubernetes.io/zone': 'old', 'topology.kubernetes.io/zone': 'new' })), '/new');
    assert.equal(zoneKey(node({ 'failure-domain.beta.kubernetes.io/region': 'r' })), 'r/');
  });

  it('computes zone states as kube-controller-manager does', () => {
    const s = (...x: (string | undefined)[]) => computeZoneState(x, 0.55).state;
    assert.equal(s('True', 'True'), 'Normal');
    assert.equal(s('Unknown'), 'FullDisruption');
    assert.equal(s(undefined, 'False'), 'FullDisruption', 'no Ready condition counts as not ready');
    assert.equal(s('Unknown', 'Unknown', 'True'), 'Normal', 'two not-ready nodes are never a disruption');
    assert.equal(s('Unknown', 'Unknown', 'False', 'True'), 'PartialDisruption', '3 of 4');
    assert.equal(s('Unknown', 'Unknown', 'False', 'True', 'True', 'True'), 'Normal', '3 of 6 is under 0.55');
    assert.equal(zoneEvictionRate('PartialDisruption', 50, o), 0);
    assert.equal(zoneEvictionRate('PartialDisruption', 51, o), 0.01);
    assert.equal(zoneEvictionRate('FullDisruption', 3, o), 0.1);
    assert.equal(zoneEvictionRate('Normal', 3, o), 0.1);
  });

  it('enters and leaves master disruption mode only when every zone is down', () => {
    const logs: string[] = [];
    const z = new ZoneTainters(o, (m) => logs.push(m));
    const zones = (a: string[], b: string[]) => new Map([['r/a', a], ['r/b', b]]);
    assert.equal(z.update(zones(['True'], ['True'])), undefined);
    assert.equal(z.update(zones(['Unknown'], ['True'])), undefined);
    assert.equal(z.states.get('r/a'), 'FullDisruption');
    assert.equal(z.queue('r/a').rate, 0.1, 'a zone down while others are up evicts at the normal rate');
    assert.equal(z.update(zones(['Unknown'], ['Unknown'])), 'enter-master-disruption');
    assert.deepEqual([z.queue('r/a').rate, z.queue('r/b').rate], [0, 0]);
    assert.equal(z.update(zones(['Unknown'], ['Unknown'])), undefined, 'still down: nothing to do');
    assert.equal(z.update(zones(['Unknown'], ['True'])), 'exit-master-disruption');
    assert.deepEqual([z.queue('r/a').rate, z.queue('r/b').rate], [0.1, 0.1]);
    const first = new ZoneTainters(o, () => {});
    assert.equal(first.update(zones(['Unknown'], ['False'])), 'enter-master-disruption', 'all down from the first look');
  });

  it('drains a queue at the bucket rate, once per node, and not at all at rate 0', async () => {
    let clock = 0;
    const q = new RateLimitedNodeQueue(1, clock);
    const done: string[] = [];
    const work = () => q.try(async (n) => (done.push(n), true), () => clock);
    for (const n of ['x', 'y', 'z']) q.add(n, clock);
    assert.equal(q.add('x', clock), false, 'queued once');
    await work();
    assert.deepEqual(done, ['x'], 'burst of one');
    clock = 500;
    await work();
    assert.deepEqual(done, ['x']);
    clock = 1000;
    await work();
    assert.deepEqual(done, ['x', 'y']);
    q.setRate(0, clock);
    clock = 10_000;
    await work();
    assert.deepEqual(done, ['x', 'y'], 'rate 0 stops');
    q.setRate(1, clock);
    await work();
    assert.deepEqual(done, ['x', 'y'], 'no burst when a stopped queue resumes');
    clock = 11_000;
    await work();
    assert.deepEqual(done, ['x', 'y', 'z']);
    const retry = new RateLimitedNodeQueue(1000, clock);
    retry.add('r', 0);
    let tries = 0;
    await retry.try(async () => (++tries < 2 ? 50 : true), () => clock);
    assert.equal(tries, 1);
    assert.ok(retry.has('r'), 'kept for a retry');
    assert.ok(new TokenBucket(0).tryAccept() === false);
  });
});
