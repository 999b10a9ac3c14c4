// A whole cluster for the acceptance suites, behind one interface: the real `./bin/skiff up` as a
// child process (startUp), or `skiff server` + `skiff agent` on another CRI runtime (the
// containerd suite builds its own). Tests drive it with the real kubectl and read the runtime
// through CRI. cleanup() never runs `skiff down`: that deletes the host-wide skiff0 bridge and
// safety routes other tests on this machine may be using; it removes this cluster's pods through
// its own runtime instead, then the data dir.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { clusterLayout } from '../../src/up/layout.ts';
import { SKIFF } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupAgentDataDir } from './helpers.ts';
import { deleteProxyTable } from '../../src/proxy/proxy.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cluster {
  kubeconfig: string;
  nodeName: string;
  /** The busybox image the runtime has (skiff.local/busybox:latest on Skiff's runtime). */
  image: string;
  /** The CRI endpoint the agent uses. */
  criEndpoint: string;
  client: RestClient;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout. */
  k(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** A long-running kubectl (logs -f, port-forward): output accumulates; stop() ends it by PID. */
  spawnKubectl(args: string[]): LongKubectl;
  /** A CRI client to the node's runtime (closed by cleanup). */
  cri(): CriClient;
  /** Stops the node agent with SIGTERM (containers keep running) and starts it again. */
  restartNode(): Promise<void>;
  /** What the cluster's processes printed. */
  output(): string;
  cleanup(): Promise<void>;
}

export interface LongKubectl {
  proc: ChildProcess;
  out(): string;
  /** Resolves with what matched once the output matches re (or fails at the deadline). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

export function kubectlRunner(kubeconfig: string) {
  const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-kubectl-cache-'));
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir];
  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) => new Promise<KubectlResult>((resolve) => {
    const child = execFile('kubectl', [...base, ...args], { timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
  const k = async (args: string[], o?: { input?: string; timeoutMs?: number }) => {
    const r = await kubectl(args, o);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const spawnKubectl = (args: string[]): LongKubectl => {
    const proc = spawn('kubectl', [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    return {
      proc,
      out: () => out,
      waitFor: (re, timeoutMs = 30_000) => waitFor(`kubectl ${args.join(' ')} to print ${re} (printed so far: ${JSON.stringify(out.slice(-500))})`,
        () => re.exec(out) ?? undefined, timeoutMs, 50),
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
        await exited;
      },
    };
  };
  return { kubectl, k, spawnKubectl, cleanup: () => rmSync(cacheDir, { recursive: true, force: true }) };
}

export interface UpProcess {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Runs `skiff up args` and waits for its "cluster ready" line (or its exit). */
export async function runUp(args: string[], timeoutMs = 120_000): Promise<UpProcess & { ready: boolean; readyAfterMs: number }> {
  const started = Date.now();
  const proc = spawn(SKIFF, ['up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((r) => proc.once('exit', (code, signal) => r(code ?? signal ?? -1)));
  let ended = false;
  void exited.then(() => (ended = true));
  const ready = await waitFor(`skiff up to print "cluster ready"`, () => {
    if (/cluster ready in/.test(out)) return true;
    if (ended) return 'exited';
    return undefined;
  }, timeoutMs, 50).catch((e: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\nskiff up printed:\n${out}`);
  });
  return { proc, output: () => out, exited, ready: ready === true, readyAfterMs: Date.now() - started };
}

/** SIGTERM, and the exit (SIGKILL after 30 s). */
export async function stopProcess(p: UpProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill(signal);
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 30_000);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

export interface UpCluster extends Cluster {
  dataDir: string;
  up: UpProcess;
  /** ms from spawning `skiff up` to its "cluster ready" line. */
  readyAfterMs: number;
  /** Stops `skiff up` (SIGTERM) and waits for its exit code. */
  stop(): Promise<number | string>;
  /** Starts `skiff up` again on the same data dir. */
  start(): Promise<void>;
}

/** `./bin/skiff up --data-dir <tmp> --port 0`, with the kubeconfig from the path it prints. */
export async function startUp(o: { nodeName?: string } = {}): Promise<UpCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-up-test-'));
  const layout = clusterLayout(dataDir);
  const nodeName = o.nodeName ?? `up-${process.pid}`;
  const args = ['--data-dir', dataDir, '--port', '0', '--node-name', nodeName];
  let earlier = '';
  let up: Awaited<ReturnType<typeof runUp>>;
  try {
    up = await runUp(args);
  } catch (e) {
    await cleanupUpDir(dataDir);
    throw e;
  }
  if (!up.ready) {
    await cleanupUpDir(dataDir);
    throw new Error(`skiff up exited before the cluster was ready:\n${up.output()}`);
  }
  const printed = /export KUBECONFIG=(\S+)/.exec(up.output())?.[1];
  if (printed !== layout.kubeconfig) throw new Error(`skiff up printed KUBECONFIG=${printed}, expected ${layout.kubeconfig}`);
  const runner = kubectlRunner(layout.kubeconfig);
  const client = RestClient.fromKubeconfig(layout.kubeconfig);
  const cris: CriClient[] = [];
  const c: UpCluster = {
    dataDir, up, readyAfterMs: up.readyAfterMs, kubeconfig: layout.kubeconfig, nodeName,
    image: 'skiff.local/busybox:latest', criEndpoint: layout.criSocket, client,
    kubectl: runner.kubectl, k: runner.k, spawnKubectl: runner.spawnKubectl,
    cri() {
      const cri = createCriClient(layout.criSocket);
      cris.push(cri);
      return cri;
    },
    output: () => earlier + c.up.output(),
    stop: async () => {
      const code = await stopProcess(c.up);
      return code;
    },
    async start() {
      earlier += c.up.output();
      // The same port again (as a user's fixed --port would be), so clients made earlier still reach it.
      const port = new URL(/server: (\S+)/.exec(readFileSync(layout.kubeconfig, 'utf8'))![1]).port;
      const next = await runUp(['--data-dir', dataDir, '--port', port, '--node-name', nodeName]);
      if (!next.ready) throw new Error(`skiff up exited before the cluster was ready:\n${next.output()}`);
      c.up = next;
    },
    async restartNode() {
      const code = await c.stop();
      if (code !== 0) throw new Error(`skiff up exited with ${code} on SIGTERM:\n${c.up.output()}`);
      await c.start();
    },
    async cleanup() {
      for (const cri of cris) cri.close();
      await client.close();
      await stopProcess(c.up);
      runner.cleanup();
      await cleanupUpDir(dataDir);
    },
  };
  return c;
}

/** Removes what the cluster's runtime still runs (through the runtime), the mounts, then the dir. */
async function cleanupUpDir(dataDir: string): Promise<void> {
  const layout = clusterLayout(dataDir);
  if (existsSync(layout.runtimeRoot)) await cleanupAgentDataDir(layout.agentDir);
  // The agent's service proxy leaves its table when it stops, as kube-proxy does.
  await deleteProxyTable();
  rmSync(dataDir, { recursive: true, force: true });
}

export function nodeIsReady(n: Node | undefined): boolean {
  return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Waits for the pod (from the API) to satisfy check; the failure names the pod's last status. */
export async function waitPod(c: Cluster, name: string, what: string, check: (p: Pod) => boolean, timeoutMs = 90_000): Promise<Pod> {
  let last: Pod | undefined;
  try {
    return await waitFor(`pod ${name} ${what}`, async () => {
      last = await c.client.get<Pod>(R.pods, name, { namespace: 'default' });
      return check(last) ? last : undefined;
    }, timeoutMs, 200);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}
