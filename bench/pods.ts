// npm run bench:pods — issue 5's benchmark: on a fresh `skiff up` (temp data dir, ephemeral port),
// a Deployment of 100 busybox replicas from create to all Running. Prints one table:
// - pod startup latency p50/p99, as Kubernetes' pod-startup SLI measures it: from the pod's
//   creation to when all its containers are reported started, observed through a watch. The
//   creation time is when the watch saw the pod ADDED (ms precision: metadata.creationTimestamp
//   has whole seconds only); the same latency from the pods' own whole-second timestamps
//   (creationTimestamp → the Ready condition) is printed beside it;
// - total time from the Deployment's create to the last pod Running;
// - RSS and CPU seconds of the `skiff up` process (API server, controllers, scheduler, agent and
//   runtime are that one process; conmon and runc children are counted too);
// - `skiff up` from start to node Ready; idle RSS of the whole cluster after the pods are gone.
// Flags: --replicas N (100), --keep (leave the cluster running and print its data dir).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment } from 'kubernetes-types/apps/v1.d.ts';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../src/client/resources.ts';
import { RestClient } from '../src/client/rest.ts';
import { SKIFF } from '../test/helpers/skiff-server.ts';
import { cleanupAgentDataDir } from '../test/agent/helpers.ts';

const argv = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const REPLICAS = Number(flag('replicas', '100'));
const KEEP = argv.includes('--keep');
const CLK_TCK = 100;
const PAGE = 4096;
const log = (m: string) => console.error(`bench:pods: ${m}`);

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

/** The process and its descendants: conmon and runc count, the containers' own processes (under conmon) are the workload and do not. */
function treeOf(root: number): number[] {
  const children = new Map<number, number[]>();
  const comm = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      comm.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch { /* gone meanwhile */ }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    if (comm.get(pid) === 'conmon') return;
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

interface Usage { rssBytes: number; cpuSeconds: number; hwmBytes: number }

function usageOf(pids: number[]): Usage {
  let rss = 0, cpu = 0, hwm = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime are fields 14-17 (1-based; f[0] is field 3): the children
      // waited for (CNI plugins, runc invocations) count in cutime/cstime.
      cpu += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
      rss += Number(f[21]) * PAGE;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch { /* gone meanwhile */ }
  }
  return { rssBytes: rss, cpuSeconds: cpu, hwmBytes: hwm };
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const ms = (x: number) => `${Math.round(x)} ms`;

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, every = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

const isRunning = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).length > 0
  && p.status.containerStatuses!.every((s) => !!s.state?.running);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-pods-'));
  const t0 = performance.now();
  // Output goes to a file, not a pipe: with --keep the cluster outlives this process.
  const logPath = join(dataDir, 'up.log');
  const logFd = openSync(logPath, 'a');
  const up = spawn(SKIFF, ['up', '--data-dir', dataDir, '--port', '0', '--node-name', 'bench'], { stdio: ['ignore', logFd, logFd], detached: KEEP });
  closeSync(logFd);
  let out = '';
  let firstLineMs = 0;
  const tail = setInterval(() => {
    out = readFileSync(logPath, 'utf8');
    // The first line comes once Node has loaded Skiff's modules: the cost before any step runs.
    if (out && !firstLineMs) firstLineMs = performance.now() - t0;
  }, 5);
  const exited = new Promise<void>((r) => up.once('exit', () => r()));
  let client: RestClient | undefined;
  try {
    await waitUntil('skiff up to print "cluster ready"', () => {
      if (up.exitCode !== null) throw new Error(`skiff up exited with ${up.exitCode}:\n${out}`);
      return /cluster ready in/.test(out) ? true : undefined;
    }, 120_000, 20);
    const readyMs = performance.now() - t0;
    clearInterval(tail);
    client = RestClient.fromKubeconfig(join(dataDir, 'kubeconfig'));
    const node = await client.get<Node>(R.nodes, 'bench');
    if (!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) throw new Error('node not Ready after "cluster ready"');
    log(`skiff up: node Ready after ${ms(readyMs)}`);
    const steps = [...out.matchAll(/✓ (.*)/g)].map((m) => m[1]).join('; ');
    log(`skiff up: first line after ${ms(firstLineMs)} (loading modules), then: ${steps}`);

    // Watch first, so every pod's ADDED is seen as it happens.
    const seen = new Map<string, { added: number; running?: number; pod?: Pod }>();
    const abort = new AbortController();
    const list = await client.list<Pod>(R.pods, { namespace: 'default' });
    const watching = (async () => {
      for await (const ev of client!.watch<Pod>(R.pods, { namespace: 'default', resourceVersion: list.metadata?.resourceVersion, signal: abort.signal })) {
        const now = performance.now();
        const p = ev.object as Pod;
        const name = p.metadata?.name;
        if (!name || ev.type === 'BOOKMARK' || ev.type === 'ERROR') continue;
        const e = seen.get(name) ?? { added: now };
        seen.set(name, e);
        if (e.running === undefined && isRunning(p)) {
          e.running = now;
          e.pod = p;
        }
      }
    })().catch((e: Error) => { if (!abort.signal.aborted) throw e; });

    const before = usageOf(treeOf(up.pid!));
    const created = performance.now();
    await client.create<Deployment>(R.deployments, {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'bench', namespace: 'default' },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: 'bench' } },
        template: {
          metadata: { labels: { app: 'bench' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: 'skiff.local/busybox:latest', command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'] }],
          },
        },
      },
    }, { namespace: 'default' });
    let peakRss = 0;
    await waitUntil(`${REPLICAS} pods Running`, () => {
      peakRss = Math.max(peakRss, usageOf(treeOf(up.pid!)).rssBytes);
      const done = [...seen.values()].filter((e) => e.running !== undefined).length;
      return done >= REPLICAS ? true : undefined;
    }, 600_000, 200);
    const allRunning = performance.now();
    const during = usageOf(treeOf(up.pid!));
    abort.abort();
    await watching;

    const entries = [...seen.values()].filter((e) => e.running !== undefined);
    const watchLatency = entries.map((e) => e.running! - e.added).sort((a, b) => a - b);
    // The pods' own whole-second timestamps: creationTimestamp → Ready condition (kubelet's "started" time).
    const ownLatency = entries.map((e) => {
      const p = e.pod!;
      const readyAt = p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
      const startedAt = p.status?.containerStatuses?.[0]?.state?.running?.startedAt;
      return Date.parse(readyAt ?? startedAt ?? '') - Date.parse(p.metadata!.creationTimestamp!);
    }).sort((a, b) => a - b);

    // Idle: the pods gone, a few seconds for the cluster to settle.
    await client.delete(R.deployments, 'bench', { namespace: 'default' });
    await waitUntil('every pod gone', async () => ((await client!.list<Pod>(R.pods, { namespace: 'default' })).items.length === 0 ? true : undefined), 300_000, 500);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = usageOf(treeOf(up.pid!));

    const rows: [string, string, string][] = [
      ['pod startup latency p50 (watch-observed)', ms(pct(watchLatency, 50)), '<= 500 ms'],
      ['pod startup latency p99 (watch-observed)', ms(pct(watchLatency, 99)), '<= 2 s'],
      ['  same from the pods\' timestamps (1 s resolution) p50 / p99', `${ms(pct(ownLatency, 50))} / ${ms(pct(ownLatency, 99))}`, ''],
      [`total: create → all ${REPLICAS} Running`, ms(allRunning - created), ''],
      ['skiff up RSS at all Running / peak', `${mb(during.rssBytes)} / ${mb(Math.max(peakRss, during.rssBytes))}`, ''],
      ['skiff up CPU seconds during the rollout', `${(during.cpuSeconds - before.cpuSeconds).toFixed(1)} s`, ''],
      ['skiff up start → node Ready', ms(readyMs), '<= 10 s'],
      ['idle RSS of the cluster (pods gone)', mb(idle.rssBytes), '<= 300 MB'],
    ];
    const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length)), 9];
    console.log(`| ${'Measure'.padEnd(w[0])} | ${'Result'.padEnd(w[1])} | ${'Target'.padEnd(w[2])} |`);
    console.log(`|${'-'.repeat(w[0] + 2)}|${'-'.repeat(w[1] + 2)}|${'-'.repeat(w[2] + 2)}|`);
    for (const r of rows) console.log(`| ${r[0].padEnd(w[0])} | ${r[1].padEnd(w[1])} | ${r[2].padEnd(w[2])} |`);
  } finally {
    clearInterval(tail);
    await client?.close();
    if (KEEP) {
      up.unref();
      log(`cluster left running: KUBECONFIG=${join(dataDir, 'kubeconfig')}, pid ${up.pid}`);
    } else {
      up.kill('SIGTERM');
      const timer = setTimeout(() => up.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
      await cleanupAgentDataDir(join(dataDir, 'agent')).catch((e: Error) => log(`cleanup: ${e.message}`));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

await main();
