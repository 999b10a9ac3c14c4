// Acceptance (issue 3, section 5): a node that stops heartbeating goes NotReady and its pods come
// back on other nodes. The real `skiff server` runs every controller but node-lifecycle, which
// runs in a `skiff controller-manager` beside it with a short --node-monitor-grace-period
// (kube-controller-manager's flag; 40 s by default) so the whole story takes seconds; the
// Deployment's pods tolerate node.kubernetes.io/unreachable for 2 s instead of the default 300 s,
// as a user wanting fast failover sets it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Event, Node } from 'kubernetes-types/core/v1.d.ts';
import { SKIFF, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { until, waitFor } from '../helpers/wait.ts';
import { getJson, type HollowProcess, isPodReady, listPods, startHollowNodes, waitNodesReady } from './control-plane-helpers.ts';

const NS = 'cp-failover';
const GRACE = '5s';
const TOLERATION_SECONDS = 2;

describe('control plane: a node that stops heartbeating', { timeout: 180_000 }, () => {
  let s: TestServer;
  let manager: ChildProcess | undefined;
  let managerOut = '';
  let doomed: HollowProcess;
  let healthy: HollowProcess;

  before(async () => {
    s = await startServer({ timeoutMs: 60_000, extraArgs: ['--controllers', '*,-node-lifecycle'] });
    manager = spawn(SKIFF, ['controller-manager', '--kubeconfig', s.kubeconfig, '--controllers', 'node-lifecycle', '--node-monitor-grace-period', GRACE],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    manager.stdout!.on('data', (d) => (managerOut += d));
    manager.stderr!.on('data', (d) => (managerOut += d));
    await until('the controller-manager runs node-lifecycle', () => {
      if (manager!.exitCode !== null) throw new Error(`skiff controller-manager exited with ${manager!.exitCode}:\n${managerOut}`);
      return /running node-lifecycle/.test(managerOut);
    }, 30_000);
    doomed = await startHollowNodes(s, 2, 'cpn-a');
    await waitNodesReady(s, doomed.names);
    await s.k(['create', 'namespace', NS]);
  });
  after(async () => {
    await doomed?.stop();
    await healthy?.stop();
    if (manager && manager.exitCode === null && manager.signalCode === null) {
      const exited = new Promise((r) => manager!.once('exit', r));
      manager.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (manager.exitCode === null && manager.signalCode === null) manager.kill('SIGKILL');
    }
    await s?.cleanup();
  });

  it('marks the node NotReady and unreachable, evicts its pods, and their Deployment brings them back on other nodes', async () => {
    await s.k(['-n', NS, 'apply', '-f', '-'], { input: `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 4
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: nginx:1.27 }]
      tolerations:
      - { key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: ${TOLERATION_SECONDS} }
      - { key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: ${TOLERATION_SECONDS} }
` });
    await s.k(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
    const first = await listPods(s, NS, 'app=web');
    assert.ok(first.every((p) => doomed.names.includes(p.spec!.nodeName!)), 'every pod started on the nodes about to fail');

    healthy = await startHollowNodes(s, 2, 'cpn-b');
    await waitNodesReady(s, healthy.names);
    const stoppedAt = Date.now();
    await doomed.stop(); // heartbeats stop; the Node objects stay

    const wide = await waitFor('kubectl get nodes shows the silent nodes NotReady', async () => {
      const out = await s.k(['get', 'nodes', '--no-headers']);
      return doomed.names.every((n) => new RegExp(`^${n}\\s+NotReady\\s`, 'm').test(out)) && out;
    }, 60_000, 250);
    assert.match(wide, /^cpn-b-0\s+Ready\s/m);
    for (const name of doomed.names) {
      const node = await getJson<Node>(s, ['node', name]);
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      assert.deepEqual([ready?.status, ready?.reason, ready?.message], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.']);
      // NoExecute taints come through the zone's rate limiter (--node-eviction-rate, 0.1 nodes/s): not all at once.
      const taints = await waitFor(`${name} tainted unreachable`, async () => {
        const t = ((await getJson<Node>(s, ['node', name])).spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
        return t.length === 2 && t;
      }, 30_000, 250);
      assert.deepEqual(taints, ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    }

    const moved = await waitFor('4 Running, Ready pods on the healthy nodes', async () => {
      const pods = (await listPods(s, NS, 'app=web')).filter((p) => !p.metadata?.deletionTimestamp);
      return pods.length === 4 && pods.every((p) => healthy.names.includes(p.spec?.nodeName ?? '') && p.status?.phase === 'Running' && isPodReady(p)) && pods;
    }, 60_000, 250);
    const tookMs = Date.now() - stoppedAt;
    assert.ok(tookMs < 60_000, `failover took ${tookMs} ms`);
    assert.deepEqual(new Set(moved.map((p) => p.spec!.nodeName)), new Set(healthy.names), 'spread over both healthy nodes');
    assert.match(await s.k(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=30s']), /successfully rolled out/);

    // The old pods were evicted by the taint manager, and (with no kubelet to confirm) stay Terminating.
    const { items: events } = await getJson<{ items: Event[] }>(s, ['events', '-n', NS, '--field-selector', 'reason=TaintManagerEviction']);
    const evicted = new Set(events.map((e) => e.involvedObject.name));
    for (const p of first) assert.ok(evicted.has(p.metadata!.name!), `${p.metadata!.name} has a TaintManagerEviction event`);
    const old = (await listPods(s, NS, 'app=web')).filter((p) => first.some((f) => f.metadata!.uid === p.metadata!.uid));
    for (const p of old) {
      assert.ok(p.metadata?.deletionTimestamp, `${p.metadata!.name} is being deleted`);
      assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False', `${p.metadata!.name} is marked not ready`);
    }
  });
});

