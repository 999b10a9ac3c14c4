// A real etcd cluster for tests (Debian's etcd-server), every member on loopback ports with its
// own data dir; members can be killed (-9) and restarted on the same data, and the cluster
// removed with everything it wrote.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './wait.ts';

export const ETCD = '/usr/bin/etcd';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc?: ChildProcess;
  output: string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  /** SIGKILL one member. */
  kill(i: number): Promise<void>;
  /** Starts a killed member again on its data dir. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}


async function healthy(url: string, deadlineMs: number, proc: () => ChildProcess | undefined, output: () => string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (proc()?.exitCode != null) throw new Error(`etcd at ${url} exited with ${proc()?.exitCode}:\n${output().slice(-2000)}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.json() as { health: string }).health === 'true') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${url} not healthy within ${deadlineMs} ms:\n${output().slice(-2000)}`);
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'skiff-etcd-'));
  const token = `skiff-test-${process.pid}-${Date.now()}`;
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({
      name: `m${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `m${i}`), output: '',
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const launch = (m: EtcdMember, state: 'new' | 'existing') => {
    m.output = '';
    m.proc = spawn(ETCD, [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster, '--initial-cluster-state', state, '--initial-cluster-token', token,
      '--log-level', 'warn', '--logger', 'zap',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    m.proc.stdout!.on('data', (d) => (m.output += d));
    m.proc.stderr!.on('data', (d) => (m.output += d));
  };
  const stopAll = async () => {
    for (const m of members) await stopMember(m);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const m of members) launch(m, 'new');
    await Promise.all(members.map((m) => healthy(m.clientUrl, 30_000, () => m.proc, () => m.output)));
  } catch (e) {
    await stopAll();
    throw e;
  }
  return {
    members,
    endpoints: members.map((m) => m.clientUrl),
    kill: (i) => stopMember(members[i], 'SIGKILL'),
    async restart(i) {
      launch(members[i], 'existing');
      await healthy(members[i].clientUrl, 30_000, () => members[i].proc, () => members[i].output);
    },
    stop: stopAll,
  };
}

async function stopMember(m: EtcdMember, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const proc = m.proc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
