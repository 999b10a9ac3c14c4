// npm run bench:runtime — pod start latency of the CRI runtimes, side by side in one run: skiff
// runtime with runc, skiff runtime with runsc (gVisor), containerd 1.6 with runc. For each, N pods
// one after another (RunPodSandbox + CreateContainer + StartContainer until the container is
// RUNNING, a sleeping busybox), p50/p99 per pod (and per call) and the sum, the daemon's RSS with
// N pods up and the RSS of the per-pod monitors (conmon, containerd's shims); then every pod is
// removed. The runtimes take turns pod by pod, so that a busy machine's load hits them alike.
// Each runtime is a real daemon on its own temp root with the same images and the same kind of
// CNI bridge network (test/runtime/backends.ts). `--pods N` changes the count (default 100);
// `--no-runsc` leaves gVisor out; `--compare DIR` adds the skiff runtime of another checkout.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Backend, BackendSpec } from '../test/runtime/backends.ts';
import { startContainerdBackend, startSkiffBackend } from '../test/runtime/backends.ts';

const RUNSC = '/usr/bin/runsc';

/**
 * A `runsc` that adds --network=host, as the runtime's default runsc handler does (gVisor's own
 * network stack does not start on this kernel, docs/runtime.md). A wrapper rather than handler
 * flags: the test backends run the handler's binary by itself for their cleanup.
 */
async function runscWithHostNetwork(dir: string): Promise<string> {
  const path = join(dir, 'runsc');
  await writeFile(path, `#!/bin/sh\nexec ${RUNSC} --network=host "$@"\n`, { mode: 0o755 });
  return path;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} wants a positive integer, got "${process.argv[i + 1] ?? ''}"`);
  return n;
}

const PODS = flag('--pods', 100);
/** --compare DIR: also measures the skiff runtime of another checkout (e.g. `git archive HEAD` unpacked), for before/after. */
const COMPARE = process.argv.includes('--compare') ? process.argv[process.argv.indexOf('--compare') + 1] : undefined;
/** --no-runsc: leaves gVisor out (the slowest column). */
const NO_RUNSC = process.argv.includes('--no-runsc');

interface Result {
  p50: number;
  p99: number;
  totalMs: number;
  daemonRssMb: number;
  monitorsRssMb: number;
  monitors: number;
  removeMs: number;
  /** p50 of each call of a pod start: RunPodSandbox, CreateContainer, StartContainer (+ status). */
  phases: { run: number; create: number; start: number };
}

interface Column {
  title: string;
  spec: BackendSpec;
  handler: string;
  result?: Result;
  na?: string;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function rssKb(pid: number | string): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
  return m ? Number(m[1]) : 0;
}

/** conmon processes the daemon started, or containerd shims serving its socket (under b.dir). */
async function monitorsRss(b: Backend): Promise<{ mb: number; count: number }> {
  let kb = 0;
  let count = 0;
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const exe = cmdline[0] ?? '';
    const ours = (exe.endsWith('conmon') || exe.endsWith('containerd-shim-runc-v2')) && cmdline.some((a) => a.includes(b.dir));
    if (!ours) continue;
    kb += await rssKb(pid);
    count++;
  }
  return { mb: kb / 1024, count };
}

interface PhaseTimes { run: number[]; create: number[]; start: number[] }

async function startPod(b: Backend, name: string, handler: string, phases?: PhaseTimes): Promise<string> {
  const config = b.podConfig(name);
  let t = performance.now();
  const lap = (into?: number[]) => { const now = performance.now(); into?.push(now - t); t = now; };
  const { pod_sandbox_id: podId } = await b.client.runPodSandbox({ config, runtime_handler: handler });
  lap(phases?.run);
  const { container_id: id } = await b.client.createContainer({
    pod_sandbox_id: podId, sandbox_config: config,
    // The same explicit profile for every runtime (kubelet always names one; runtimes differ on none).
    config: b.containerConfig('sleeper', ['sleep', '3600'], { linux: { security_context: { seccomp: { profile_type: 'RuntimeDefault' } } } }),
  });
  lap(phases?.create);
  await b.client.startContainer({ container_id: id });
  const { status } = await b.client.containerStatus({ container_id: id });
  lap(phases?.start);
  if (status?.state !== 'CONTAINER_RUNNING') throw new Error(`pod ${name}: container is ${status?.state} (${status?.reason}: ${status?.message})`);
  return podId;
}

async function removePods(b: Backend, ids: string[]): Promise<void> {
  for (const id of ids) {
    await b.client.stopPodSandbox({ pod_sandbox_id: id });
    await b.client.removePodSandbox({ pod_sandbox_id: id });
  }
}

function reason(err: unknown): string {
  const said = (err as Error).message.replace(/\s+/g, ' ').trim();
  return said.length > 240 ? `${said.slice(0, 100)} … ${said.slice(-140)}` : said;
}

interface Live { col: Column; b: Backend; times: number[]; phases: PhaseTimes; ids: string[]; removeMs: number }

/**
 * The runtimes take turns, pod by pod (pod i on each, then pod i+1): on a shared, loaded machine
 * the load then weighs on all of them alike, where measuring one runtime after the other would
 * compare different moments.
 */
async function measureAll(columns: Column[], runsc: string): Promise<void> {
  const live: Live[] = [];
  try {
    for (const col of columns) {
      process.stderr.write(`bench:runtime: starting ${col.title}\n`);
      const b = await col.spec.start(col.handler === 'runsc' ? { handlers: { runsc } } : {}).catch((err: unknown) => {
        col.na = reason(err);
        return undefined;
      });
      if (!b) continue;
      const l: Live = { col, b, times: [], phases: { run: [], create: [], start: [] }, ids: [], removeMs: 0 };
      live.push(l);
      // One pod first, not measured: it fails fast when a handler does not work, and warms caches.
      try {
        await removePods(b, [await startPod(b, 'warmup', col.handler)]);
      } catch (err) {
        col.na = reason(err);
      }
    }
    const running = live.filter((l) => !l.col.na);
    process.stderr.write(`bench:runtime: ${PODS} pods on each of ${running.map((l) => l.col.title).join(', ')}, taking turns\n`);
    for (let i = 0; i < PODS; i++) {
      for (const l of running) {
        const t = performance.now();
        l.ids.push(await startPod(l.b, `bench-${i}`, l.col.handler, l.phases));
        l.times.push(performance.now() - t);
      }
    }
    const rss = await Promise.all(running.map(async (l) => ({ daemon: (await rssKb(l.b.pid)) / 1024, monitors: await monitorsRss(l.b) })));
    process.stderr.write('bench:runtime: removing the pods, taking turns\n');
    for (let i = 0; i < PODS; i++) {
      for (const l of running) {
        const t = performance.now();
        await removePods(l.b, [l.ids[i]!]);
        l.removeMs += performance.now() - t;
      }
    }
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    for (const [k, l] of running.entries()) {
      l.col.result = {
        p50: pct(sorted(l.times), 50), p99: pct(sorted(l.times), 99), totalMs: l.times.reduce((a, b) => a + b, 0),
        daemonRssMb: rss[k]!.daemon, monitorsRssMb: rss[k]!.monitors.mb, monitors: rss[k]!.monitors.count, removeMs: l.removeMs,
        phases: { run: pct(sorted(l.phases.run), 50), create: pct(sorted(l.phases.create), 50), start: pct(sorted(l.phases.start), 50) },
      };
    }
  } finally {
    for (const l of live) await l.b.cleanup().catch((err: unknown) => process.stderr.write(`bench:runtime: cleanup of ${l.col.title}: ${reason(err)}\n`));
  }
}

async function main(): Promise<void> {
  const columns: Column[] = [
    { title: 'skiff (runc)', spec: { name: 'skiff', start: startSkiffBackend }, handler: '' },
    { title: 'skiff (runsc)', spec: { name: 'skiff', start: startSkiffBackend }, handler: 'runsc' },
    { title: 'containerd (runc)', spec: { name: 'containerd', start: startContainerdBackend }, handler: '' },
  ];
  if (NO_RUNSC) columns.splice(1, 1);
  if (COMPARE) {
    const other = await import(join(resolve(COMPARE), 'test', 'runtime', 'backends.ts')) as typeof import('../test/runtime/backends.ts');
    columns.push({ title: `${basename(resolve(COMPARE))} (runc)`, spec: { name: 'skiff', start: other.startSkiffBackend }, handler: '' });
  }
  const tmp = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
  try {
    await measureAll(columns, await runscWithHostNetwork(tmp));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const ctrd = columns.find((c) => c.title.startsWith('containerd'))!.result;
  const skiff = columns[0]!.result;
  const cell = (col: Column, f: (r: Result) => string) => (col.result ? f(col.result) : `n/a: ${col.na}`);
  const rows: [string, ...string[]][] = [
    ['pod start p50 (ms)', ...columns.map((c) => cell(c, (r) => r.p50.toFixed(0))), 'skiff+runc <= 150 and <= 0.7x containerd'],
    ['  RunPodSandbox p50 (ms)', ...columns.map((c) => cell(c, (r) => r.phases.run.toFixed(0))), ''],
    ['  CreateContainer p50 (ms)', ...columns.map((c) => cell(c, (r) => r.phases.create.toFixed(0))), ''],
    ['  StartContainer+Status p50 (ms)', ...columns.map((c) => cell(c, (r) => r.phases.start.toFixed(0))), ''],
    ['pod start p99 (ms)', ...columns.map((c) => cell(c, (r) => r.p99.toFixed(0))), ''],
    [`sum of ${PODS} pod starts (s)`, ...columns.map((c) => cell(c, (r) => (r.totalMs / 1000).toFixed(1))), ''],
    [`daemon RSS with ${PODS} pods (MiB)`, ...columns.map((c) => cell(c, (r) => r.daemonRssMb.toFixed(0))), ''],
    ['monitors: count, RSS sum (MiB)', ...columns.map((c) => cell(c, (r) => `${r.monitors}, ${r.monitorsRssMb.toFixed(0)}`)), 'conmon per container / shim per pod'],
    [`removal of ${PODS} pods (s)`, ...columns.map((c) => cell(c, (r) => (r.removeMs / 1000).toFixed(1))), ''],
  ];
  if (skiff && ctrd) {
    const ratio = skiff.p50 / ctrd.p50;
    const ok = skiff.p50 <= 150 && ratio <= 0.7;
    const ratios = columns.map((c) => (c.result ? `${(c.result.p50 / ctrd.p50).toFixed(2)}x` : ''));
    rows.push(['p50 vs containerd', ...ratios, ok ? `target met (${ratio.toFixed(2)}x)` : 'target NOT met']);
  }
  // A long n/a reason goes below the table, not into a column.
  const notes: string[] = [];
  for (const [i, col] of columns.entries()) {
    if (!col.na) continue;
    notes.push(`${col.title}: ${col.na}`);
    for (const row of rows) if (row[i + 1]?.startsWith('n/a')) row[i + 1] = 'n/a (see below)';
  }
  const header = ['measure', ...columns.map((c) => c.title), 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  for (const n of notes) console.log(`n/a: ${n}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
