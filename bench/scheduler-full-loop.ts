// The full loop row of `npm run bench:scheduler`: N hollow nodes (`skiff hollow-nodes`, its own
// process), then D Deployments of R replicas each, created at once, until every pod is Running:
// Deployment → ReplicaSet → pods → scheduler → binding → hollow kubelet → status, all through
// the real `skiff server` with its in-process controllers. Reports the time, the pods/s, and the
// server's peak RSS and CPU time (from /proc, the server process alone).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Deployment } from 'kubernetes-types/apps/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../src/client/resources.ts';
import { RestClient } from '../src/client/rest.ts';
import { SharedInformer } from '../src/client/informer.ts';
import { SKIFF, startServer } from '../test/helpers/skiff-server.ts';

export interface FullLoopOptions {
  nodes: number;
  deployments: number;
  replicas: number;
  /** Every wait gives up after this long. */
  deadlineMs: number;
  log(message: string): void;
}

export interface ProcessUsage {
  /** user + system CPU seconds so far. */
  cpuSeconds: number;
  rssMiB: number;
  /** Peak RSS (VmHWM). */
  peakRssMiB: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU time and memory of a process, from /proc. */
export function usageOf(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

function deploymentObject(name: string, namespace: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

async function until(what: string, deadline: number, fn: () => boolean, intervalMs = 100): Promise<void> {
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`full loop: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs the loop; returns the table rows. */
export async function fullLoop(o: FullLoopOptions): Promise<string[][]> {
  const total = o.deployments * o.replicas;
  const deadline = Date.now() + o.deadlineMs;
  const s = await startServer({ timeoutMs: 60_000 });
  const c = RestClient.fromKubeconfig(s.kubeconfig, { userAgent: 'bench-full-loop' });
  const serverPid = s.proc.pid!;
  const hollow = spawn(SKIFF, ['hollow-nodes', '--kubeconfig', s.kubeconfig, '--count', String(o.nodes), '--prefix', 'loop',
    '--ready-delay', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let hollowOut = '';
  hollow.stdout!.on('data', (d) => (hollowOut += d));
  hollow.stderr!.on('data', (d) => (hollowOut += d));
  const rows: string[][] = [];
  const pods = new SharedInformer<Pod>(c, R.pods, { namespace: 'loop', freeze: false });
  const deployments = new SharedInformer<Deployment>(c, R.deployments, { namespace: 'loop', freeze: false });
  try {
    let t = performance.now();
    await until(`${o.nodes} hollow nodes registered`, deadline, () => {
      if (hollow.exitCode !== null) throw new Error(`skiff hollow-nodes exited with ${hollow.exitCode}:\n${hollowOut}`);
      return /registered in \d+ ms/.test(hollowOut);
    }, 200);
    rows.push([`full loop: register ${o.nodes} hollow nodes`, `${((performance.now() - t) / 1000).toFixed(1)} s`, '']);
    await c.create(R.namespaces, { metadata: { name: 'loop' } });
    // Counting Running pods from a watch: a pod counts once, when it first reports Running.
    let running = 0;
    let bound = 0;
    let created = 0;
    const seenRunning = new Set<string>();
    const seenBound = new Set<string>();
    const count = (p: Pod) => {
      const uid = p.metadata!.uid!;
      if (!seenBound.has(uid) && !seenRunning.has(uid) && !p.spec?.nodeName) created++;
      if (p.spec?.nodeName && !seenBound.has(uid)) {
        seenBound.add(uid);
        bound++;
      }
      if (p.status?.phase === 'Running' && !seenRunning.has(uid)) {
        seenRunning.add(uid);
        running++;
      }
    };
    pods.addEventHandler({ onAdd: count, onUpdate: (_old, p) => count(p) });
    pods.start();
    deployments.start();
    await pods.waitForSync(30_000);
    await deployments.waitForSync(30_000);
    // Let registration's aftermath (IPAM, first lease renewals) settle before the clock starts.
    await new Promise((r) => setTimeout(r, 2000));

    const before = usageOf(serverPid);
    const perSecond: number[] = [];
    let last = 0;
    const sampler = setInterval(() => {
      perSecond.push(running - last);
      last = running;
      if (perSecond.length % 5 === 0) o.log(`full loop: ${perSecond.length} s: ${created} pods created, ${bound} bound, ${running} Running`);
    }, 1000);
    t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = next++; i < o.deployments; i = next++) await c.create(R.deployments, deploymentObject(`d-${i}`, 'loop', o.replicas));
    }));
    let lastProgress = Date.now();
    let lastRunning = 0;
    await until(`${total} pods Running`, deadline, () => {
      if (running !== lastRunning) {
        lastRunning = running;
        lastProgress = Date.now();
      }
      if (Date.now() - lastProgress > 120_000) throw new Error(`full loop: no progress for 2 min at ${running}/${total} Running (${bound} bound)`);
      return running >= total;
    }, 200);
    const allRunning = performance.now();
    clearInterval(sampler);
    const during = usageOf(serverPid);
    await until('every Deployment reports its replicas available', deadline, () =>
      deployments.list().length === o.deployments && deployments.list().every((d) => d.status?.availableReplicas === o.replicas), 200);
    const settled = performance.now();
    const seconds = (allRunning - t) / 1000;
    const sorted = perSecond.filter((x) => x > 0).sort((a, b) => a - b);
    const pct = (p: number) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
    rows.push([`full loop ${o.nodes} nodes, ${o.deployments} Deployments x ${o.replicas}: all ${total} pods Running`, `${seconds.toFixed(1)} s`, '']);
    rows.push(['  pods Running/s (avg)', (total / seconds).toFixed(0), '']);
    rows.push(['  per-second rate p50 / p99 (pods/s)', `${pct(50)} / ${pct(99)}`, '']);
    rows.push(['  until every Deployment is Available', `${((settled - t) / 1000).toFixed(1)} s`, '']);
    rows.push(['  server CPU time (user+sys) during the loop', `${(during.cpuSeconds - before.cpuSeconds).toFixed(1)} s`, '']);
    rows.push(['  server RSS at the end / peak', `${during.rssMiB.toFixed(0)} / ${during.peakRssMiB.toFixed(0)} MiB`, '']);
    o.log(`full loop: ${total} Running in ${seconds.toFixed(1)} s`);
  } finally {
    await pods.stop();
    await deployments.stop();
    if (hollow.exitCode === null && hollow.signalCode === null) {
      const exited = new Promise((r) => hollow.once('exit', r));
      hollow.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
      if (hollow.exitCode === null && hollow.signalCode === null) hollow.kill('SIGKILL');
    }
    await c.close();
    await s.cleanup();
  }
  return rows;
}
