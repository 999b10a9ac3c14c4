// A whole 3-node Skiff cluster on one machine for the networking acceptance tests, every packet
// inside namespaces the test makes (test/helpers/multinode.ts):
//   underlay netns skiff-ul-<id>: bridge 192.168.77.1/24 and the real `skiff server` bound to it;
//   node netns skiff-n<i>-<id>: 192.168.77.1<i>, the real `skiff agent` (runtime in-process,
//   VXLAN or host-gw, proxy, node-local DNS), pods on its skiff0.
// Processes enter a namespace with `nsenter --net` rather than `ip netns exec`: the latter also
// makes a mount namespace with a fresh /sys, which hides the cgroup hierarchies runc needs.
// kubectl runs in the underlay namespace too (the API server is only reachable there).
// cleanup() deletes the workloads, waits until every node's runtime holds no sandbox (so the
// agents undo CNI, mounts and cgroups themselves), stops the agents and the server by PID, deletes
// the namespaces (and with them links, routes and nft tables) and the data directories.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { createCriClient } from '../../src/cri/client.ts';
import { run } from '../../src/runtime/command.ts';
import { createMultiNode, type MultiNode, type TestNode } from '../helpers/multinode.ts';
import { SKIFF } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

export const API_PORT = 6443;
export const IMAGE = 'skiff.local/busybox:latest';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AgentProc {
  node: TestNode;
  name: string;
  dataDir: string;
  proc: ChildProcess;
}

export interface KubectlWatch {
  lines: { at: number; text: string }[];
  stop(): Promise<void>;
}

export interface NetworkCluster {
  mn: MultiNode;
  server: { proc: ChildProcess; url: string; dataDir: string };
  agents: AgentProc[];
  /** Node names by index (n0, n1, n2). */
  names: string[];
  /** Runs a program inside a namespace (nsenter --net); never throws. */
  nsRun(netns: string, file: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** kubectl that must succeed; stdout. */
  k(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  getJson<T>(args: string[]): Promise<T>;
  apply(obj: unknown): Promise<void>;
  /** A long-running kubectl (e.g. get -w): its stdout lines with the time each arrived; stop() ends it by PID. */
  watch(args: string[]): KubectlWatch;
  /** Runs sh -c script in a pod's container (kubectl exec). */
  exec(pod: string, script: string, timeoutMs?: number): Promise<RunResult>;
  /** Pods with a label selector, with their node and IP, once Running (and Ready when asked). */
  pods(selector: string): Promise<Pod[]>;
  output(): string;
  cleanup(): Promise<void>;
}

function nsenter(netns: string, file: string, args: string[]): [string, string[]] {
  return ['/usr/bin/nsenter', [`--net=/run/netns/${netns}`, '--', file, ...args]];
}

function execRun(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

async function stopProc(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGKILL');
    await exited;
  }
}

/** Mount points at or under dir (the runtime's image and volume mounts), deepest first. */
function mountsUnder(dir: string): string[] {
  return [...new Set(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`)))].sort((a, b) => b.length - a.length);
}

const IPAM_DIR = '/run/skiff/cni-ipam/skiff';

/**
 * Last resort when a runtime could not remove its sandboxes (the agent is gone by now): kills the
 * containers and their conmon by the PIDs the runtime recorded, deletes the pods' network
 * namespaces and host-local reservations by sandbox id. Each thing found is reported.
 */
async function removeLeftovers(dataDir: string, report: (m: string) => void): Promise<void> {
  const root = join(dataDir, 'runtime');
  for (const id of readdirOr(join(root, 'containers'))) {
    for (const f of ['pidfile', 'conmon.pid']) {
      const pid = Number(readFileOr(join(root, 'containers', id, f)).trim());
      if (!Number.isInteger(pid) || pid <= 1 || !existsSync(`/proc/${pid}`)) continue;
      // Only a process of this runtime: its command line names the container (conmon) or it runs in the container's cgroup.
      const owned = readFileOr(`/proc/${pid}/cmdline`).includes(id) || readFileOr(`/proc/${pid}/cgroup`).includes('/skiff/kubepods');
      if (!owned) continue;
      report(`killed leftover ${f === 'pidfile' ? 'container' : 'conmon'} process ${pid} of ${id.slice(0, 12)}`);
      process.kill(pid, 'SIGKILL');
    }
  }
  const sandboxes = readdirOr(join(root, 'sandboxes'));
  for (const id of sandboxes) {
    const r = await run('/usr/sbin/ip', ['netns', 'delete', `skiff-${id.slice(0, 12)}`], { allowFailure: true });
    if (r.code === 0) report(`deleted leftover netns skiff-${id.slice(0, 12)}`);
  }
  for (const ip of readdirOr(IPAM_DIR).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))) {
    const owner = readFileOr(join(IPAM_DIR, ip)).split('\n')[0];
    if (sandboxes.includes(owner)) {
      rmSync(join(IPAM_DIR, ip), { force: true });
      report(`released leftover address ${ip}`);
    }
  }
}

function readdirOr(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function readFileOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // gone (a process that just exited, a file never written)
  }
}

export async function startNetworkCluster(opts: { backend: 'vxlan' | 'host-gw'; nodes?: number }): Promise<NetworkCluster> {
  const count = opts.nodes ?? 3;
  const work = mkdtempSync(join(tmpdir(), 'skiff-net-e2e-'));
  const kubeCache = join(work, 'kubectl-cache');
  let out = '';
  const procs: ChildProcess[] = [];
  const agents: AgentProc[] = [];
  let mn: MultiNode | undefined;
  let server: NetworkCluster['server'] | undefined;

  const nsRun = (netns: string, file: string, args: string[], o?: { input?: string; timeoutMs?: number }) => execRun(...nsenter(netns, file, args), o);
  const launch = (label: string, netns: string, args: string[]) => {
    const proc = spawn(...nsenter(netns, SKIFF, args), { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(proc);
    const tag = (d: Buffer) => d.toString().split('\n').filter(Boolean).map((l) => `[${label}] ${l}\n`).join('');
    proc.stdout!.on('data', (d: Buffer) => (out += tag(d)));
    proc.stderr!.on('data', (d: Buffer) => (out += tag(d)));
    return proc;
  };
  const kubectl = (args: string[], o?: { input?: string; timeoutMs?: number }) => {
    if (!server || !mn) throw new Error('no API server yet');
    return nsRun(mn.underlayNs, '/usr/bin/kubectl', ['--kubeconfig', join(server.dataDir, 'kubeconfig'), '--cache-dir', kubeCache, ...args], o);
  };
  const k = async (args: string[], o?: { input?: string; timeoutMs?: number }) => {
    const r = await kubectl(args, o);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const getJson = async <T>(args: string[]) => JSON.parse(await k([...args, '-o', 'json'])) as T;

  const cleanup = async () => {
    const errors: string[] = [];
    if (server && mn) {
      // Workloads first, so each agent tears its pods down through its own runtime.
      await kubectl(['delete', 'deployments,replicasets,pods,services', '--all', '--all-namespaces', '--grace-period=0', '--force', '--wait=false'], { timeoutMs: 60_000 });
    }
    for (const a of agents) {
      const cri = createCriClient(`unix://${join(a.dataDir, 'cri.sock')}`, { timeoutMs: 30_000 });
      try {
        if (a.proc.exitCode === null) {
          await waitFor(`node ${a.name}'s runtime to hold no pod sandbox`, async () => (await cri.listPodSandbox({})).items.length === 0, 90_000, 250)
            .catch(async (e: Error) => {
              // What the agent did not remove, the test does through the same runtime.
              errors.push(e.message);
              for (const s of (await cri.listPodSandbox({})).items) {
                await cri.stopPodSandbox({ pod_sandbox_id: s.id }).catch(() => undefined);
                await cri.removePodSandbox({ pod_sandbox_id: s.id }).catch((x: Error) => errors.push(`remove sandbox ${s.id}: ${x.message}`));
              }
            });
        }
      } finally {
        cri.close();
      }
    }
    for (const p of procs.slice().reverse()) await stopProc(p, 15_000);
    for (const a of agents) await removeLeftovers(a.dataDir, (m) => errors.push(m));
    for (const a of agents) {
      for (const m of mountsUnder(a.dataDir)) {
        errors.push(`mount left under ${a.dataDir}: ${m}`);
        await run('umount', ['-l', m], { allowFailure: true });
      }
    }
    await mn?.cleanup().catch((e: Error) => errors.push(e.message));
    rmSync(work, { recursive: true, force: true });
    if (errors.length) throw new Error(`network cluster cleanup: ${errors.join('; ')}`);
  };

  try {
    mn = await createMultiNode({ nodes: count });
    const m = mn;
    const serverDir = join(work, 'server');
    const serverProc = launch('server', m.underlayNs, ['server', '--data-dir', serverDir, '--port', String(API_PORT), '--bind-address', m.underlayGateway]);
    const url = await waitFor('skiff server to listen', () => /listening on (https:\/\/\S+)/.exec(out)?.[1] ?? (serverProc.exitCode !== null ? (() => {
      throw new Error(`skiff server exited:\n${out}`);
    })() : undefined), 60_000, 100);
    server = { proc: serverProc, url, dataDir: serverDir };
    const token = readFileSync(join(serverDir, 'node-token'), 'utf8').trim();
    const names = m.nodes.map((_, i) => `n${i}`);
    for (const [i, node] of m.nodes.entries()) {
      const dataDir = join(work, names[i]);
      const proc = launch(names[i], node.netns, ['agent', '--server', url, '--token', token, '--node-ip', node.underlayIp, '--node-name', names[i],
        '--data-dir', dataDir, '--kubelet-port', '10250', '--flannel-backend', opts.backend]);
      agents.push({ node, name: names[i], dataDir, proc });
    }
    await waitFor('every node Ready', async () => {
      const list = await getJson<{ items: Node[] }>(['get', 'nodes']);
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === count;
    }, 120_000, 500).catch((e: Error) => {
      throw new Error(`${e.message}\n${out.slice(-6000)}`);
    });
    const cluster: NetworkCluster = {
      mn: m, server, agents, names, nsRun, kubectl, k, getJson,
      async apply(obj) {
        await k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
      },
      watch(args) {
        const [file, argv] = nsenter(m.underlayNs, '/usr/bin/kubectl', ['--kubeconfig', join(serverDir, 'kubeconfig'), '--cache-dir', kubeCache, ...args]);
        const proc = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
        procs.push(proc);
        const lines: { at: number; text: string }[] = [];
        let partial = '';
        proc.stdout!.on('data', (d: Buffer) => {
          const at = Date.now();
          const parts = (partial + d.toString()).split('\n');
          partial = parts.pop() ?? '';
          for (const text of parts) lines.push({ at, text });
        });
        proc.stderr!.on('data', (d: Buffer) => (out += `[kubectl ${args.join(' ')}] ${d.toString()}`));
        return { lines, stop: () => stopProc(proc, 5000) };
      },
      exec: (pod, script, timeoutMs = 60_000) => kubectl(['exec', pod, '--', 'sh', '-c', script], { timeoutMs }),
      async pods(selector) {
        return (await getJson<{ items: Pod[] }>(['get', 'pods', '-l', selector])).items;
      },
      output: () => out,
      cleanup,
    };
    return cluster;
  } catch (e) {
    await cleanup().catch(() => undefined); // the start-up error is the one to report
    throw e;
  }
}

export function isReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp;
}

/** A busybox httpd answering with its own hostname (the pod's name) on port 8080. */
export function webContainer(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'web', image: IMAGE,
    command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
    ...extra,
  };
}

/** A pod that sleeps (and exits at once on SIGTERM), pinned to a node: the client of the tests. */
export function clientPod(name: string, node: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } },
    spec: {
      nodeName: node, terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'] }],
    },
  };
}

/** Counts of each line of text. */
export function tally(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** The web Deployment: replicas spread over the given nodes (one topology domain per node). */
export function webDeployment(replicas: number, nodes: string[], container: Record<string, unknown> = webContainer()): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: {
      replicas, selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: nodes }] }] } } },
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }],
          containers: [container],
        },
      },
    },
  };
}

export function service(name: string, selector: Record<string, string> | undefined, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name },
    spec: { ...(selector ? { selector } : {}), ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }], ...spec },
  };
}

/** Waits for n Running and Ready pods matching selector; returns them. */
export async function readyPods(c: NetworkCluster, selector: string, n: number, timeoutMs = 120_000): Promise<Pod[]> {
  return await waitFor(`${n} ready pods with ${selector}`, async () => {
    const ps = (await c.pods(selector)).filter((p) => !p.metadata?.deletionTimestamp);
    return ps.length === n && ps.every(isReady) ? ps : undefined;
  }, timeoutMs, 500);
}

/**
 * A shell function `get HOST PORT`: one HTTP/1.0 GET of / through busybox nc, printing the body's
 * last line (the replica's name) or FAILED. (busybox wget of Debian's busybox-static 1.35, which
 * the builtin image carries, segfaults before it connects, on the host as well.)
 */
export const HTTP_GET = `get() { out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "$1" "$2" 2>/dev/null | tail -n 1); if [ -n "$out" ]; then echo "$out"; else echo FAILED; fi; }`;
