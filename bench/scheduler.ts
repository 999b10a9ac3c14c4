// npm run bench:scheduler — kube-scheduler's SchedulingBasic shape (scheduler_perf): N nodes,
// then pods with cpu/memory requests created as fast as the API takes them; measured as pods
// bound per second (average, and p50/p99 of the per-second rate) against the real API server
// and the real scheduler, with the scheduling algorithm's own time beside it.
// Then the full loop (bench/scheduler-full-loop.ts): 1,000 hollow nodes, 100 Deployments of 300
// replicas until all 30,000 pods are Running, with the server's RSS and CPU time.
// Flags: --nodes N (5000), --pods N,N (10000,50000), --init-pods N (1000), --quick (500 nodes, 2000 pods; loop 100 nodes,
// 10 x 100), --full-loop-only, --no-full-loop, --loop-nodes N (1000), --loop-deployments N (100),
// --loop-replicas N (300), --deadline-min N (every wait of a part gives up after this, 20).
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { RestClient } from '../src/client/rest.ts';
import { R } from '../src/client/resources.ts';
import { SharedInformerFactory } from '../src/client/informer-factory.ts';
import { startServer } from '../test/helpers/skiff-server.ts';
import { createNode, podObject, startScheduler } from '../test/scheduler/wiring-helpers.ts';
import { fullLoop, usageOf } from './scheduler-full-loop.ts';

const argv = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const quick = argv.includes('--quick');
const NODES = Number(flag('nodes', quick ? '500' : '5000'));
const POD_COUNTS = flag('pods', quick ? '2000' : '10000,50000').split(',').map(Number);
/** Pods scheduled before each measured batch (scheduler_perf's initPods: 1,000 for 5,000 nodes, 500 for 500). */
const INIT_PODS = Number(flag('init-pods', quick ? '500' : '1000'));
const FULL_LOOP_ONLY = argv.includes('--full-loop-only');
const FULL_LOOP = !argv.includes('--no-full-loop');
const LOOP_NODES = Number(flag('loop-nodes', quick ? '100' : '1000'));
const LOOP_DEPLOYMENTS = Number(flag('loop-deployments', quick ? '10' : '100'));
const LOOP_REPLICAS = Number(flag('loop-replicas', quick ? '100' : '300'));
const DEADLINE_MS = Number(flag('deadline-min', '20')) * 60_000;

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
}

async function main(): Promise<void> {
  const rows = FULL_LOOP_ONLY ? [] : await schedulingBasic();
  if (FULL_LOOP || FULL_LOOP_ONLY) {
    rows.push(...await fullLoop({ nodes: LOOP_NODES, deployments: LOOP_DEPLOYMENTS, replicas: LOOP_REPLICAS, deadlineMs: DEADLINE_MS, log: (m) => console.error(m) }));
  }
  const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.max(...rows.map((r) => r[1].length), 8);
  console.log(`${'measure'.padEnd(w0)}  ${'skiff'.padStart(w1)}  target`);
  console.log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ------`);
  for (const [a, b, c2] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c2}`);
}

async function schedulingBasic(): Promise<string[][]> {
  const s = await startServer({ extraArgs: ['--disable-controllers'], timeoutMs: 60000 });
  const c = RestClient.fromKubeconfig(s.kubeconfig);
  const rows: string[][] = [];
  try {
    let t = performance.now();
    for (let i = 0; i < NODES; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, NODES - i) }, (_, j) => createNode(c, `node-${i + j}`,
        { cpu: '32', memory: '128Gi', labels: { 'topology.kubernetes.io/zone': `zone-${(i + j) % 3}` } })));
    }
    rows.push([`register ${NODES} nodes`, `${((performance.now() - t) / 1000).toFixed(1)} s`, '']);
    for (const [round, PODS] of POD_COUNTS.entries()) {
      const ns = `sched-${round}`;
      // Bindings are counted on the scheduler's own pod informer, as scheduler_perf's throughput collector does.
      const informers = new SharedInformerFactory(c);
      const boundIn = new Map<string, number>();
      informers.informerFor<Pod>(R.pods).addEventHandler({
        onUpdate: (old, pod) => {
          const podNs = pod.metadata?.namespace ?? '';
          if (!old.spec?.nodeName && pod.spec?.nodeName) boundIn.set(podNs, (boundIn.get(podNs) ?? 0) + 1);
        },
      });
      for (const n of [ns, `${ns}-init`]) await c.create(R.namespaces, { metadata: { name: n } });
      const sched = startScheduler(c, informers);
      const stats = (sched.scheduler as unknown as { stats: { algorithmMs: number } }).stats;
      if (!await informers.waitForSync(10000)) throw new Error('the scheduler\'s informers did not sync within 10 s');
      // SchedulingBasic's initPods: scheduled before measuring, in a namespace of their own.
      if (INIT_PODS > 0) {
        await feed(c, `${ns}-init`, INIT_PODS);
        const initDeadline = Date.now() + DEADLINE_MS;
        while ((boundIn.get(`${ns}-init`) ?? 0) < INIT_PODS && Date.now() < initDeadline) await new Promise((r) => setTimeout(r, 50));
      }
      const bound = () => boundIn.get(ns) ?? 0;
      const perSecond: number[] = [];
      let last = 0;
      const sampler = setInterval(() => { perSecond.push(bound() - last); last = bound(); }, 1000);
      t = performance.now();
      const serverBefore = usageOf(s.proc.pid!);
      const benchBefore = process.cpuUsage();
      const algorithmMsBefore = stats.algorithmMs;
      await feed(c, ns, PODS);
      const created = performance.now();
      const deadline = Date.now() + DEADLINE_MS;
      while (bound() < PODS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const done = performance.now();
      const serverCpuMs = (usageOf(s.proc.pid!).cpuSeconds - serverBefore.cpuSeconds) * 1000;
      const bench = process.cpuUsage(benchBefore);
      clearInterval(sampler);
      if (bound() - last > 0) perSecond.push(bound() - last);
      const sorted = perSecond.filter((x) => x > 0).sort((a, b) => a - b);
      const algorithmMs = stats.algorithmMs - algorithmMsBefore;
      await sched.stop();
      rows.push([`SchedulingBasic ${NODES} nodes, ${PODS} pods: pods/s (avg)`, (bound() / ((done - t) / 1000)).toFixed(0), '>= 2,000']);
      rows.push(['  per-second rate p50 / p99 (pods/s)', `${pct(sorted, 50)} / ${pct(sorted, 99)}`, '']);
      rows.push(['  API creates/s while scheduling (the feed)', (PODS / ((created - t) / 1000)).toFixed(0), '']);
      rows.push(['  scheduling algorithm alone (pods/s)', (PODS / (algorithmMs / 1000)).toFixed(0), '']);
      // CPU per pod does not depend on what else the machine runs, unlike the rates above.
      rows.push(['  server CPU per pod (create + bind + event + watches)', `${(serverCpuMs / PODS).toFixed(2)} ms`, '']);
      rows.push(['  scheduler + feeder process CPU per pod', `${((bench.user + bench.system) / 1000 / PODS).toFixed(2)} ms`, '']);
      if (bound() < PODS) rows.push(['  NOT ALL BOUND', `${bound()} / ${PODS}`, '']);
      for (const n of [ns, `${ns}-init`]) await c.delete(R.namespaces, n).catch(() => {});
    }
  } finally {
    await c.close();
    await s.cleanup();
  }
  return rows;
}

/** Creates count pods in the namespace, 64 at a time, as fast as the API takes them. */
async function feed(c: RestClient, ns: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    for (let i = next++; i < count; i = next++) {
      await c.create(R.pods, podObject(`p-${i}`, ns, { cpu: '100m', memory: '64Mi' }));
    }
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
