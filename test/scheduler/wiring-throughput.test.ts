// Throughput end to end: 200 nodes, 2,000 pods created through the API 64 at a time while the
// scheduler runs; every pod gets bound, spread over the nodes. Prints pods/s (creation to last
// binding seen by a watch), which includes the API server's own work on the same 2 cores.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { SharedInformer } from '../../src/client/informer.ts';
import type { Scheduler } from '../../src/scheduler/scheduler.ts';
import { createNode, podObject, startScheduler, until } from './wiring-helpers.ts';

const NODES = 200;
const PODS = 2000;

describe('scheduler throughput', () => {
  let s: TestServer;
  let c: RestClient;
  let stopScheduler: () => Promise<void>;
  let scheduler: Scheduler;
  let watcher: SharedInformer<Pod>;
  const ns = 'load';

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: ns } });
    for (let i = 0; i < NODES; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => createNode(c, `node-${i + j}`, {
        cpu: '16', memory: '64Gi', labels: { 'topology.kubernetes.io/zone': `zone-${(i + j) % 3}` },
      })));
    }
    watcher = new SharedInformer<Pod>(c, R.pods, { namespace: ns, freeze: false });
    watcher.start();
    await watcher.waitForSync(10000);
  });
  after(async () => {
    await stopScheduler?.();
    await watcher?.stop();
    await c?.close();
    await s?.cleanup();
  });

  it(`binds ${PODS} pods created in parallel on ${NODES} nodes`, async () => {
    const bound = new Set<string>();
    let lastBound = 0;
    watcher.addEventHandler({
      onUpdate: (_old, pod) => {
        if (pod.spec?.nodeName && !bound.has(pod.metadata!.name!)) {
          bound.add(pod.metadata!.name!);
          lastBound = performance.now();
        }
      },
    });
    const started = startScheduler(c);
    stopScheduler = started.stop;
    scheduler = started.scheduler as Scheduler;
    await new Promise((r) => setTimeout(r, 300)); // the scheduler's caches fill

    const start = performance.now();
    let next = 0;
    const creator = async () => {
      for (let i = next++; i < PODS; i = next++) {
        await c.create(R.pods, podObject(`web-${i}`, ns, { cpu: ['100m', '250m', '500m'][i % 3], memory: '128Mi' }));
      }
    };
    await Promise.all(Array.from({ length: 64 }, creator));
    const created = performance.now();
    await until(`all ${PODS} pods bound`, () => bound.size === PODS, 45000);
    const seconds = (lastBound - start) / 1000;
    console.log(`created ${PODS} pods in ${((created - start) / 1000).toFixed(2)}s; all bound after ${seconds.toFixed(2)}s: `
      + `${Math.round(PODS / seconds)} pods/s end to end (${NODES} nodes); `
      + `scheduling algorithm ${(scheduler.stats.algorithmMs / PODS).toFixed(3)} ms/pod, ${scheduler.stats.attempts} attempts`);
    // The watch can show a binding before the scheduler's own bind call has returned.
    await until('the scheduler counted every bind', () => scheduler.stats.bound === PODS, 10000);
    assert.equal(scheduler.stats.bindErrors, 0);

    const perNode = new Map<string, number>();
    for (const p of watcher.list(ns)) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    assert.equal([...perNode.values()].reduce((a, b) => a + b, 0), PODS);
    // Least-allocated scoring spreads them: 10 per node on average, none piled up.
    assert.ok(Math.max(...perNode.values()) <= 25, `a node got ${Math.max(...perNode.values())} pods`);
  });
});
