// Starts the real `skiff server` binary on a loopback port with a fresh data
// directory, and runs the real kubectl against it.
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent as UndiciAgent, fetch } from 'undici';

export const REPO = resolve(import.meta.dirname, '../..');
export const SKIFF = join(REPO, 'bin/skiff');

/** Runs `skiff ARGS...` to completion (killed after timeoutMs) and gives its exit code and output. */
export function runSkiff(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(SKIFF, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  token: string;
  ca: string;
  proc: ChildProcess;
  output: () => string;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** kubectl that must succeed; returns stdout. */
  k(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  fetch(path: string, init?: RequestInit & { raw?: boolean }): Promise<Response>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * With SKIFF_TEST_ETCD_ENDPOINTS set (test/e2e/etcd-suites.test.ts sets it), every server a test
 * starts stores its objects in that etcd, each under its own prefix, so the same suites run
 * against both stores.
 */
function etcdArgs(dataDir: string, extraArgs: string[]): string[] {
  const endpoints = process.env.SKIFF_TEST_ETCD_ENDPOINTS;
  if (!endpoints || extraArgs.includes('--store')) return [];
  // One prefix per data dir: a server restarted on the same data dir finds its objects again.
  return ['--store', 'etcd', '--etcd-endpoints', endpoints, '--etcd-prefix', `/skiff-test${dataDir}`];
}

/**
 * A server without the in-process serviceaccount controller has no `default` ServiceAccounts, so
 * its ServiceAccount admission is turned off, as Kubernetes' integration test servers do
 * (--disable-admission-plugins=ServiceAccount), unless the test chooses its own plugins.
 */
function admissionArgs(extraArgs: string[]): string[] {
  if (extraArgs.some((a) => a.startsWith('--disable-admission-plugins'))) return [];
  const i = extraArgs.indexOf('--controllers');
  const selection = i >= 0 ? (extraArgs[i + 1] ?? '').split(',') : ['*'];
  const runsServiceAccounts = !extraArgs.includes('--disable-controllers') &&
    (selection.includes('serviceaccount') || (selection.includes('*') && !selection.includes('-serviceaccount')));
  return runsServiceAccounts ? [] : ['--disable-admission-plugins', 'ServiceAccount'];
}

export async function startServer(opts: { dataDir?: string; port?: number; extraArgs?: string[]; timeoutMs?: number } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-test-'));
  // '{dataDir}' in extraArgs stands for the data directory (e.g. for --audit-log-path).
  const args = ['server', '--data-dir', dataDir, '--port', String(opts.port ?? 0), ...(opts.extraArgs ?? []).map((a) => a.replaceAll('{dataDir}', dataDir)),
    ...etcdArgs(dataDir, opts.extraArgs ?? []), ...admissionArgs(opts.extraArgs ?? [])];
  const proc = spawn(SKIFF, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`skiff server did not start within ${opts.timeoutMs ?? 30000} ms:\n${out}`)), opts.timeoutMs ?? 30000);
    const check = () => {
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`skiff server exited with ${code}:\n${out}`));
    });
  });
  const kubeconfig = join(dataDir, 'kubeconfig');
  const tokens = JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8')) as { token: string }[];
  const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-kubectl-cache-'));
  const kubectl = (kargs: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...kargs],
        { timeout: o.timeoutMs ?? 60000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, KUBECONFIG: kubeconfig } },
        (err, stdout, stderr) => res({ code: err ? ((err as { code?: number }).code as number ?? 1) : 0, stdout, stderr }));
      if (o.input !== undefined) child.stdin!.end(o.input);
    });
  const server: TestServer = {
    url, port: Number(new URL(url).port), dataDir, kubeconfig, token: tokens[0].token, ca, proc,
    output: () => out,
    kubectl,
    async k(kargs, o) {
      const r = await kubectl(kargs, o);
      if (r.code !== 0) throw new Error(`kubectl ${kargs.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!init.raw && !headers.has('authorization')) headers.set('authorization', `Bearer ${tokens[0].token}`);
      return fetch(url + path, { ...init, headers, dispatcher: tlsDispatcher(ca) } as never) as unknown as Promise<Response>;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10000)))]);
      clearTimeout(timer);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
    async cleanup() {
      await server.stop();
      rmSync(cacheDir, { recursive: true, force: true });
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

// Trusting our own CA takes an undici dispatcher (fetch's own engine, from npm).
function tlsDispatcher(ca: string): unknown {
  return new UndiciAgent({ connect: { ca } });
}
