// npm run bench:runtime — pod start latency of the CRI runtimes, side by side in one run: skiff
// runtime with runc, skiff runtime with runsc (gVisor), containerd 1.6 with runc. For each, N pods
// one after another (RunPodSandbox + CreateContainer + StartContainer until the container is
// RUNNING, a sleeping busybox), p50/p99 per pod and the total, the daemon's RSS with N pods up and
// the RSS of the per-pod monitors (conmon, containerd's shims); then every pod is removed.
// Each runtime is a real daemon on its own temp root with the same images and the same kind of
// CNI bridge network (test/runtime/backends.ts). `--pods N` changes the count (default 100).
import { readdir, readFile } from 'node:fs/promises';
import type { Backend, BackendSpec } from '../test/runtime/backends.ts';
import { startContainerdBackend, startSkiffBackend } from '../test/runtime/backends.ts';

const RUNSC = '/usr/bin/runsc';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} wants a positive integer, got "${process.argv[i + 1] ?? ''}"`);
  return n;
}

const PODS = flag('--pods', 100);

interface Result {
  p50: number;
  p99: number;
  totalMs: number;
  daemonRssMb: number;
  monitorsRssMb: number;
  monitors: number;
  removeMs: number;
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

async function startPod(b: Backend, name: string, handler: string): Promise<string> {
  const config = b.podConfig(name);
  const { pod_sandbox_id: podId } = await b.client.runPodSandbox({ config, runtime_handler: handler });
  const { container_id: id } = await b.client.createContainer({
    pod_sandbox_id: podId, sandbox_config: config,
    // The same explicit profile for every runtime (kubelet always names one; runtimes differ on none).
    config: b.containerConfig('sleeper', ['sleep', '3600'], { linux: { security_context: { seccomp: { profile_type: 'RuntimeDefault' } } } }),
  });
  await b.client.startContainer({ container_id: id });
  const { status } = await b.client.containerStatus({ container_id: id });
  if (status?.state !== 'CONTAINER_RUNNING') throw new Error(`pod ${name}: container is ${status?.state} (${status?.reason}: ${status?.message})`);
  return podId;
}

async function removePods(b: Backend, ids: string[]): Promise<void> {
  for (const id of ids) {
    await b.client.stopPodSandbox({ pod_sandbox_id: id });
    await b.client.removePodSandbox({ pod_sandbox_id: id });
  }
}

async function measure(col: Column): Promise<void> {
  const b = await col.spec.start(col.handler === 'runsc' ? { handlers: { runsc: RUNSC } } : {});
  try {
    // One pod first, not measured: it fails fast when a handler does not work, and warms caches.
    try {
      await removePods(b, [await startPod(b, 'warmup', col.handler)]);
    } catch (err) {
      const said = (err as Error).message.replace(/\s+/g, ' ').trim();
      col.na = said.length > 240 ? `${said.slice(0, 100)} … ${said.slice(-140)}` : said;
      return;
    }
    const times: number[] = [];
    const ids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < PODS; i++) {
      const t = performance.now();
      ids.push(await startPod(b, `bench-${i}`, col.handler));
      times.push(performance.now() - t);
    }
    const totalMs = performance.now() - t0;
    const daemonRssMb = (await rssKb(b.pid)) / 1024;
    const monitors = await monitorsRss(b);
    const r0 = performance.now();
    await removePods(b, ids);
    const removeMs = performance.now() - r0;
    times.sort((x, y) => x - y);
    col.result = { p50: pct(times, 50), p99: pct(times, 99), totalMs, daemonRssMb, monitorsRssMb: monitors.mb, monitors: monitors.count, removeMs };
  } finally {
    await b.cleanup();
  }
}

async function main(): Promise<void> {
  const columns: Column[] = [
    { title: 'skiff (runc)', spec: { name: 'skiff', start: startSkiffBackend }, handler: '' },
    { title: 'skiff (runsc)', spec: { name: 'skiff', start: startSkiffBackend }, handler: 'runsc' },
    { title: 'containerd (runc)', spec: { name: 'containerd', start: startContainerdBackend }, handler: '' },
  ];
  for (const col of columns) {
    process.stderr.write(`bench:runtime: ${col.title}, ${PODS} pods...\n`);
    await measure(col);
  }
  const ctrd = columns[2]!.result;
  const skiff = columns[0]!.result;
  const cell = (col: Column, f: (r: Result) => string) => (col.result ? f(col.result) : `n/a: ${col.na}`);
  const rows: [string, ...string[]][] = [
    ['pod start p50 (ms)', ...columns.map((c) => cell(c, (r) => r.p50.toFixed(0))), 'skiff+runc <= 150 and <= 0.7x containerd'],
    ['pod start p99 (ms)', ...columns.map((c) => cell(c, (r) => r.p99.toFixed(0))), ''],
    [`total for ${PODS} pods (s)`, ...columns.map((c) => cell(c, (r) => (r.totalMs / 1000).toFixed(1))), ''],
    [`daemon RSS with ${PODS} pods (MiB)`, ...columns.map((c) => cell(c, (r) => r.daemonRssMb.toFixed(0))), ''],
    ['monitors: count, RSS sum (MiB)', ...columns.map((c) => cell(c, (r) => `${r.monitors}, ${r.monitorsRssMb.toFixed(0)}`)), 'conmon per container / shim per pod'],
    [`removal of ${PODS} pods (s)`, ...columns.map((c) => cell(c, (r) => (r.removeMs / 1000).toFixed(1))), ''],
  ];
  if (skiff && ctrd) {
    const ratio = skiff.p50 / ctrd.p50;
    const ok = skiff.p50 <= 150 && ratio <= 0.7;
    rows.push(['p50 vs containerd', `${ratio.toFixed(2)}x`, '', '1.00x', ok ? 'target met' : 'target NOT met']);
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
