// Acceptance: PodDisruptionBudgets, the Eviction API and `kubectl drain`, with the real kubectl
// against `skiff server` and `skiff hollow-nodes`. A budget that allows no disruption turns an
// eviction into 429 and makes a drain give up at its timeout; once the budget allows one, the
// drain cordons the node and evicts its pods one at a time, the Deployment brings them back on
// the other nodes, and at no moment are fewer pods Ready than the budget asks for.
// https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.d.ts';
import { R, RestClient, SharedInformer } from '../../src/client/index.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { getJson, type HollowProcess, isPodReady, listPods, startHollowNodes, waitNodesReady } from './control-plane-helpers.ts';

const NS = 'cp-drain';

describe('control plane: PodDisruptionBudgets, evictions and kubectl drain', { timeout: 300_000 }, () => {
  let s: TestServer;
  let nodes: HollowProcess;
  let client: RestClient;
  const k = (args: string[], opts?: { input?: string; timeoutMs?: number }) => s.k(['-n', NS, ...args], opts);

  before(async () => {
    s = await startServer({ timeoutMs: 60_000 });
    nodes = await startHollowNodes(s, 3, 'cpd');
    await waitNodesReady(s, nodes.names);
    client = RestClient.fromKubeconfig(s.kubeconfig, { userAgent: 'drain-test' });
    await s.k(['create', 'namespace', NS]);
    await k(['apply', '-f', '-'], { input: `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 4
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: nginx:1.27, volumeMounts: [{ name: cache, mountPath: /cache }] }]
      volumes: [{ name: cache, emptyDir: {} }]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec:
      containers: [{ name: agent, image: busybox }]
` });
    await k(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    await k(['rollout', 'status', 'daemonset/agent', '--timeout=60s']);
  });
  after(async () => {
    await client?.close();
    await nodes?.stop();
    await s?.cleanup();
  });

  const pdbStatus = async () => (await getJson<PodDisruptionBudget>(s, ['-n', NS, 'pdb', 'web'])).status;
  /** The node running the most web pods (the one whose drain has the most to evict). */
  const busiestNode = async () => {
    const count = new Map<string, number>();
    for (const p of await listPods(s, NS, 'app=web')) count.set(p.spec!.nodeName!, (count.get(p.spec!.nodeName!) ?? 0) + 1);
    return [...count.entries()].sort((a, b) => b[1] - a[1])[0][0];
  };

  it('kubectl create pdb; kubectl get pdb shows the budget and its allowed disruptions', async () => {
    assert.match(await k(['create', 'poddisruptionbudget', 'web', '--selector=app=web', '--min-available=4']),
      /^poddisruptionbudget.policy\/web created/);
    await waitFor('status: 4 expected, 4 healthy, 0 allowed', async () => {
      const st = await pdbStatus();
      return st?.expectedPods === 4 && st.currentHealthy === 4 && st.desiredHealthy === 4 && st.observedGeneration === 1;
    }, 30_000, 200);
    const [header, row] = (await k(['get', 'pdb'])).trim().split('\n');
    assert.deepEqual(header.split(/\s{2,}/), ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
    assert.deepEqual(row.split(/\s+/).slice(0, 4), ['web', '4', 'N/A', '0']);
    const described = await k(['describe', 'pdb', 'web']);
    assert.match(described, /Min available:\s+4/);
    assert.match(described, /Allowed disruptions:\s+0/);
    assert.match(await s.k(['explain', 'pdb.spec.minAvailable']), /GROUP:\s+policy\nKIND:\s+PodDisruptionBudget[\s\S]*FIELD: minAvailable </);
  });

  it('an eviction while the budget is exhausted is refused with 429 and the pod stays', async () => {
    const [pod] = await listPods(s, NS, 'app=web');
    const name = pod.metadata!.name!;
    const r = await s.kubectl(['create', '--raw', `/api/v1/namespaces/${NS}/pods/${name}/eviction`, '-f', '-'],
      { input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS } }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(TooManyRequests\): Cannot evict pod as it would violate the pod's disruption budget\./);
    // The Status carries the budget's numbers as a DisruptionBudget cause.
    const res = await s.fetch(`/api/v1/namespaces/${NS}/pods/${name}/eviction`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS } }),
    });
    assert.equal(res.status, 429);
    const status = await res.json() as { reason: string; details: { causes: { reason: string; message: string }[] } };
    assert.equal(status.reason, 'TooManyRequests');
    assert.deepEqual(status.details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 4 healthy pods and has 4 currently', field: '' }]);
    const still = await getJson<Pod>(s, ['-n', NS, 'pod', name]);
    assert.equal(still.metadata?.deletionTimestamp, undefined);
    assert.equal(still.status?.conditions?.find((c) => c.type === 'DisruptionTarget'), undefined);
  });

  it('kubectl drain gives up at its timeout while the budget allows nothing, having cordoned the node', async () => {
    const node = await busiestNode();
    const r = await s.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=8s'], { timeoutMs: 60_000 });
    assert.notEqual(r.code, 0, `drain should fail:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /Cannot evict pod as it would violate the pod's disruption budget\./);
    assert.match(r.stdout, new RegExp(`node/${node} cordoned`));
    assert.equal((await getJson<Node>(s, ['node', node])).spec?.unschedulable, true);
    assert.equal((await listPods(s, NS, 'app=web')).filter((p) => p.metadata?.deletionTimestamp).length, 0, 'no web pod was evicted');
    await s.k(['uncordon', node]);
  });

  it('kubectl drain evicts the node\'s pods within the budget; they come back elsewhere; kubectl uncordon', async () => {
    await k(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":3}}']);
    await waitFor('1 disruption allowed', async () => (await pdbStatus())?.disruptionsAllowed === 1, 30_000, 200);
    const node = await busiestNode();
    const before = (await listPods(s, NS, 'app=web')).filter((p) => p.spec?.nodeName === node);
    assert.ok(before.length >= 1);

    // Every moment of the drain, as the watch stream shows it: at least 3 web pods Ready and not terminating.
    const pods = new SharedInformer<Pod>(client, R.pods, { namespace: NS, labelSelector: 'app=web' });
    let minReady = Infinity;
    const check = () => {
      if (!pods.hasSynced()) return;
      const ready = pods.list().filter((p) => !p.metadata?.deletionTimestamp && isPodReady(p)).length;
      minReady = Math.min(minReady, ready);
    };
    pods.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
    pods.start();
    try {
      await waitFor('pod watch synced', () => pods.hasSynced(), 15_000);
      const out = await s.k(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s'], { timeoutMs: 150_000 });
      assert.match(out, new RegExp(`node/${node} drained`));
      for (const p of before) assert.match(out, new RegExp(`pod/${p.metadata!.name} evicted`));
    } finally {
      await pods.stop();
    }
    assert.ok(minReady >= 3, `at some point only ${minReady} web pods were Ready`);

    const moved = await waitFor('4 Ready web pods, none on the drained node', async () => {
      const list = (await listPods(s, NS, 'app=web')).filter((p) => !p.metadata?.deletionTimestamp);
      return list.length === 4 && list.every((p) => isPodReady(p) && p.spec?.nodeName !== node) && list;
    }, 60_000, 250);
    assert.equal(moved.length, 4);
    // DaemonSet pods are left alone (--ignore-daemonsets); the node stays cordoned.
    assert.equal((await listPods(s, NS, 'app=agent')).filter((p) => p.spec?.nodeName === node).length, 1);
    assert.match(await s.k(['get', 'node', node, '--no-headers']), /Ready,SchedulingDisabled/);
    // The evictions' disruptedPods entries go once their pods are gone.
    await waitFor('the budget is back to 1 allowed with 4 healthy', async () => {
      const st = await pdbStatus();
      return st?.currentHealthy === 4 && st.disruptionsAllowed === 1 && Object.keys(st.disruptedPods ?? {}).length === 0;
    }, 30_000, 200);

    assert.match(await s.k(['uncordon', node]), new RegExp(`node/${node} uncordoned`));
    assert.equal((await getJson<Node>(s, ['node', node])).spec?.unschedulable, undefined);
  });
});
