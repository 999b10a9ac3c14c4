// Hollow nodes against a real server with the node IPAM and node lifecycle
// controllers: registration, leases, pods played Running → Succeeded → deleted,
// and a stopped `skiff hollow-nodes` process turning its node unreachable.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Event, Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { definition as nodeIpam } from '../../src/controllers/node-ipam.ts';
import { definition as nodeLifecycle } from '../../src/controllers/node-lifecycle.ts';
import { contains, parseIpv4, parseIpv4Cidr } from '../../src/network/cidr.ts';
import { type HollowNodes, KUBELET_VERSION, RUN_TIME_ANNOTATION, startHollowNodes } from '../../src/hollow/index.ts';
import { type Harness, startHarness, waitFor } from '../controllers/harness.ts';
import { SKIFF } from '../helpers/skiff-server.ts';

const GRACE_MS = 3000;

function pod(name: string, nodeName: string, extra: { annotations?: Record<string, string>; tolerationSeconds?: number; job?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'default', annotations: extra.annotations,
      ...(extra.job ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: '00000000-0000-0000-0000-000000000001', controller: true }] } : {}),
    },
    spec: {
      nodeName, restartPolicy: extra.job || extra.annotations ? 'Never' : 'Always',
      containers: [{ name: 'c', image: 'nginx:1.27' }],
      ...(extra.tolerationSeconds !== undefined ? {
        tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: extra.tolerationSeconds }],
      } : {}),
    },
  };
}

const condition = (o: Node | Pod | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type)?.status;

describe('skiff hollow-nodes', { timeout: 60_000 }, () => {
  let h: Harness;
  let hollow: HollowNodes;
  before(async () => {
    h = await startHarness([nodeIpam, nodeLifecycle], { options: { nodeMonitorGracePeriodMs: GRACE_MS } });
    hollow = await startHollowNodes({
      client: h.client, count: 5, prefix: 'hn', readyDelayMs: 200, jobRunTimeMs: 500, leaseRenewIntervalMs: 500, log: (m) => h.logs.push(m),
    });
  });
  after(async () => {
    await hollow?.stop();
    await h?.stop();
  });

  it('registers nodes that are Ready, with leases, addresses and a pod CIDR each', async () => {
    const nodes = await waitFor('5 ready nodes with podCIDRs', async () => {
      const { items } = await h.client.list<Node>(R.nodes);
      const ours = items.filter((n) => n.metadata!.name!.startsWith('hn-'));
      return ours.length === 5 && ours.every((n) => condition(n, 'Ready') === 'True' && n.spec?.podCIDR) && ours;
    });
    for (const n of nodes) {
      const name = n.metadata!.name!;
      assert.equal(n.metadata!.labels!['kubernetes.io/hostname'], name);
      assert.equal(n.metadata!.labels!['kubernetes.io/os'], 'linux');
      assert.equal(n.status!.nodeInfo!.kubeletVersion, KUBELET_VERSION);
      assert.equal(n.status!.capacity!.pods, '110');
      assert.match(n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address, /^10\.99\.\d+\.\d+$/);
      const lease = await h.client.get<Lease>(R.leases, name, { namespace: 'kube-node-lease' });
      assert.equal(lease.spec!.holderIdentity, name);
      assert.equal(lease.metadata!.ownerReferences![0].uid, n.metadata!.uid);
    }
    assert.equal(new Set(nodes.map((n) => n.spec!.podCIDR)).size, 5, 'pod CIDRs are unique');
    // Leases keep moving.
    const before = (await h.client.get<Lease>(R.leases, 'hn-0', { namespace: 'kube-node-lease' })).spec!.renewTime;
    await waitFor('hn-0 renews its lease', async () =>
      (await h.client.get<Lease>(R.leases, 'hn-0', { namespace: 'kube-node-lease' })).spec!.renewTime !== before, 5000);
    // Marked Unknown while alive (say, after a long pause): the node posts Ready=True again, as a kubelet does.
    const hn1 = await h.client.get<Node>(R.nodes, 'hn-1');
    await h.client.patch(R.nodes, 'hn-1', { status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } },
      { subresource: 'status', type: 'strategic' });
    const back = await waitFor('hn-1 posts Ready again', async () => {
      const n = await h.client.get<Node>(R.nodes, 'hn-1');
      return condition(n, 'Ready') === 'True' && n;
    }, 5000);
    assert.notEqual(back.metadata!.resourceVersion, hn1.metadata!.resourceVersion);
    const out = await h.k(['get', 'nodes', '-l', 'node.skiff.io/hollow=true', '--no-headers']);
    assert.equal(out.trim().split('\n').filter((l) => /\bReady\b/.test(l)).length, 5, out);
  });

  it('runs a bound pod: Running and Ready with an IP from the node\'s podCIDR', async () => {
    await h.client.create(R.pods, pod('web', 'hn-2'));
    const p = await waitFor('web running and ready', async () => {
      const x = await h.client.get<Pod>(R.pods, 'web', { namespace: 'default' });
      return x.status?.phase === 'Running' && condition(x, 'Ready') === 'True' && x;
    });
    const node = await h.client.get<Node>(R.nodes, 'hn-2');
    assert.ok(contains(parseIpv4Cidr(node.spec!.podCIDR!), parseIpv4(p.status!.podIP!)), `${p.status!.podIP} in ${node.spec!.podCIDR}`);
    assert.equal(p.status!.hostIP, node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address);
    for (const t of ['Initialized', 'ContainersReady', 'PodScheduled']) assert.equal(condition(p, t), 'True', t);
    const cs = p.status!.containerStatuses![0];
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state?.running?.startedAt);
    assert.match(cs.imageID!, /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
    assert.ok(p.status!.startTime);
    // kubectl sees it the way a user would.
    assert.match(await h.k(['get', 'pod', 'web', '--no-headers']), /web\s+1\/1\s+Running\s+0/);

    // Marked not ready (as the node lifecycle controller does for an unreachable node): a live node reports it ready again.
    await h.client.patch(R.pods, 'web', { status: { conditions: p.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' } : c)) } },
      { namespace: 'default', subresource: 'status', type: 'merge' });
    const again = await waitFor('web ready again', async () => {
      const x = await h.client.get<Pod>(R.pods, 'web', { namespace: 'default' });
      return condition(x, 'Ready') === 'True' && x;
    }, 5000);
    assert.equal(again.status!.podIP, p.status!.podIP, 'keeps its IP');

    // A second pod on the same node gets a different IP.
    await h.client.create(R.pods, pod('web2', 'hn-2'));
    const p2 = await waitFor('web2 running', async () => {
      const x = await h.client.get<Pod>(R.pods, 'web2', { namespace: 'default' });
      return x.status?.phase === 'Running' && x;
    });
    assert.notEqual(p2.status!.podIP, p.status!.podIP);
  });

  it('finishes pods with the run-time annotation and Job pods: Succeeded, containers exited 0', async () => {
    await h.client.create(R.pods, pod('batch', 'hn-1', { annotations: { [RUN_TIME_ANNOTATION]: '1s' } }));
    await h.client.create(R.pods, pod('job-pod', 'hn-3', { job: true }));
    for (const name of ['batch', 'job-pod']) {
      const p = await waitFor(`${name} succeeded`, async () => {
        const x = await h.client.get<Pod>(R.pods, name, { namespace: 'default' });
        return x.status?.phase === 'Succeeded' && x;
      }, 10_000);
      const t = p.status!.containerStatuses![0].state!.terminated!;
      assert.equal(t.exitCode, 0);
      assert.equal(t.reason, 'Completed');
      assert.equal(condition(p, 'Ready'), 'False');
    }
  });

  it('confirms deletion of a pod being deleted, as a kubelet does', async () => {
    await h.client.create(R.pods, pod('doomed', 'hn-4'));
    await waitFor('doomed running', async () => (await h.client.get<Pod>(R.pods, 'doomed', { namespace: 'default' })).status?.phase === 'Running');
    await h.k(['delete', 'pod', 'doomed', '--wait=false']);
    await waitFor('doomed gone', async () => {
      const { items } = await h.client.list<Pod>(R.pods, { namespace: 'default', fieldSelector: 'metadata.name=doomed' });
      return items.length === 0;
    }, 5000);
  });

  it('a stopped hollow-nodes process leaves its node unreachable, and tolerating pods are evicted', async () => {
    const proc = spawn(SKIFF, ['hollow-nodes', '--count', '1', '--prefix', 'cli', '--kubeconfig', h.server.kubeconfig,
      '--heartbeat-interval', '500ms', '--ready-delay', '100ms', '--labels', 'team=a'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise((r) => proc.once('exit', r));
    try {
      const node = await waitFor('cli-0 ready', async () => {
        const n = await h.client.get<Node>(R.nodes, 'cli-0');
        return condition(n, 'Ready') === 'True' && n;
      });
      assert.equal(node.metadata!.labels!.team, 'a');
      await h.client.create(R.pods, pod('tolerant', 'cli-0', { tolerationSeconds: 2 }));
      await waitFor('tolerant running', async () => (await h.client.get<Pod>(R.pods, 'tolerant', { namespace: 'default' })).status?.phase === 'Running');
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    assert.match(out, /registered/);
    const stoppedAt = Date.now();
    const n = await waitFor('cli-0 unreachable', async () => {
      const x = await h.client.get<Node>(R.nodes, 'cli-0');
      return condition(x, 'Ready') === 'Unknown' && x.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') && x;
    }, GRACE_MS + 5000);
    const ready = n.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'NodeStatusUnknown');
    assert.equal(ready.message, 'Kubelet stopped posting node status.');
    assert.ok(n.spec!.taints!.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule'));
    // Eviction after tolerationSeconds=2: the pod is deleted (it stays Terminating: no kubelet confirms).
    const evicted: number = await waitFor('tolerant evicted', async () => {
      const x = await h.client.get<Pod>(R.pods, 'tolerant', { namespace: 'default' }).catch(() => undefined);
      return !x || x.metadata?.deletionTimestamp ? Date.now() : undefined;
    }, 8000);
    const taintedAt = Date.parse(n.spec!.taints!.find((t) => t.effect === 'NoExecute')!.timeAdded!);
    assert.ok(evicted >= taintedAt + 2000, `evicted ${evicted - taintedAt} ms after the taint: not before its toleration ran out`);
    assert.ok(evicted - stoppedAt < GRACE_MS + 2000 + 4000, 'evicted within grace + toleration + slack');
    const { items } = await h.client.list<Event>(R.events, { namespace: 'default' });
    assert.ok(items.some((e) => e.reason === 'TaintManagerEviction' && e.involvedObject.name === 'tolerant'), 'TaintManagerEviction event');
    // The live hollow nodes are untouched.
    assert.equal(condition(await h.client.get<Node>(R.nodes, 'hn-0'), 'Ready'), 'True');
  });
});
