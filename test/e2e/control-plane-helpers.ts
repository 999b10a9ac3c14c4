// What the control-plane acceptance tests share: `skiff hollow-nodes` as a child
// process against a real `skiff server`, and waits on kubectl's JSON output.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { SKIFF, type TestServer } from '../helpers/skiff-server.ts';
import { until, waitFor } from '../helpers/wait.ts';

export interface HollowProcess {
  proc: ChildProcess;
  names: string[];
  output(): string;
  /** SIGTERM: heartbeats stop, the Node objects stay (they go NotReady). Waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `skiff hollow-nodes --count N --prefix P` against server and waits until every node is
 * registered. Short delays by default so the tests run in seconds; more flags in extra.
 */
export async function startHollowNodes(server: TestServer, count: number, prefix: string, extra: string[] = []): Promise<HollowProcess> {
  const proc = spawn(SKIFF, ['hollow-nodes', '--kubeconfig', server.kubeconfig, '--count', String(count), '--prefix', prefix,
    '--ready-delay', '200ms', '--job-run-time', '1s', '--heartbeat-interval', '1s', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await until(`skiff hollow-nodes --prefix ${prefix} registers ${count} node(s)`, () => {
    if (proc.exitCode !== null) throw new Error(`skiff hollow-nodes exited with ${proc.exitCode}:\n${out}`);
    return /registered in \d+ ms/.test(out);
  }, 60_000);
  return {
    proc, names: Array.from({ length: count }, (_, i) => `${prefix}-${i}`), output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
      clearTimeout(timer);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** `kubectl get <what> -o json` → items (or the object itself). */
export async function getJson<T>(server: TestServer, args: string[]): Promise<T> {
  return JSON.parse(await server.k(['get', ...args, '-o', 'json'])) as T;
}

export async function listPods(server: TestServer, ns: string, selector?: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(server, ['pods', '-n', ns, ...(selector ? ['-l', selector] : [])])).items;
}

export const isPodReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Waits until every node named is Ready=True as kubectl sees it. */
export async function waitNodesReady(server: TestServer, names: string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(`nodes ${names.join(', ')} Ready`, async () => {
    const out = await server.k(['get', 'nodes', ...names, '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    const statuses = out.trim().split('\n');
    return statuses.length === names.length && statuses.every((s) => s === 'True');
  }, timeoutMs, 200);
}
