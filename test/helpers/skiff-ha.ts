// Several real `skiff server` processes serving one cluster from one etcd (docs/etcd.md): the
// first creates the PKI and tokens, the others start on copies of them; plus a raw HTTP watch
// client that records what a watcher sees, for the HA tests (test/e2e/etcd-*.test.ts).
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster.ts';
import { startServer, type TestServer } from './skiff-server.ts';

export interface HaCluster {
  etcd: EtcdCluster;
  servers: TestServer[];
  prefix: string;
  /** Starts one more API server on the same etcd prefix and PKI. */
  addServer(): Promise<TestServer>;
  stop(): Promise<void>;
}

/** What every API server of one cluster shares: the CA, serving and signing keys, tokens (not the kubeconfig, not db/). */
export function copySharedFiles(fromDir: string, toDir: string): void {
  for (const entry of readdirSync(fromDir)) {
    if (entry === 'kubeconfig' || entry === 'db') continue;
    cpSync(join(fromDir, entry), join(toDir, entry), { recursive: true });
  }
}

export function etcdServerArgs(endpoints: string[], prefix: string): string[] {
  return ['--store', 'etcd', '--etcd-endpoints', endpoints.join(','), '--etcd-prefix', prefix];
}

export async function startHaCluster(opts: { members?: number; servers: number; etcd?: EtcdCluster; extraArgs?: string[] }): Promise<HaCluster> {
  const etcd = opts.etcd ?? (await startEtcdCluster(opts.members ?? 3));
  const prefix = `/skiff-ha-${process.pid}-${Date.now()}`;
  const dirs: string[] = [];
  const servers: TestServer[] = [];
  const addServer = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-ha-'));
    dirs.push(dataDir);
    if (servers.length > 0) copySharedFiles(servers[0].dataDir, dataDir);
    const s = await startServer({ dataDir, extraArgs: [...etcdServerArgs(etcd.endpoints, prefix), ...(opts.extraArgs ?? [])], timeoutMs: 60_000 });
    servers.push(s);
    return s;
  };
  const stop = async () => {
    await Promise.all(servers.map((s) => s.cleanup()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (!opts.etcd) await etcd.stop();
  };
  try {
    for (let i = 0; i < opts.servers; i++) await addServer();
  } catch (e) {
    await stop();
    throw e;
  }
  return { etcd, servers, prefix, addServer, stop };
}

export interface SeenEvent {
  type: string;
  name: string;
  resourceVersion: number;
}

/**
 * A raw `?watch=1` stream, as a client library's reflector uses it: when the stream ends it
 * resumes from the last resourceVersion it saw (counted in `resumes`); a 410 or any other
 * error status is recorded in `errors`.
 */
export class RawWatcher {
  readonly events: SeenEvent[] = [];
  readonly errors: string[] = [];
  resumes = 0;
  #stopped = false;
  #abort = new AbortController();
  #agent: Agent;
  #done: Promise<void>;
  #server: TestServer;
  #path: string;

  constructor(server: TestServer, path: string, fromResourceVersion: string) {
    this.#server = server;
    this.#path = path;
    this.#agent = new Agent({ connect: { ca: server.ca } });
    this.#done = this.#run(fromResourceVersion);
  }

  get lastResourceVersion(): number {
    return this.events.at(-1)?.resourceVersion ?? 0;
  }

  async #run(from: string): Promise<void> {
    let rv = from;
    while (!this.#stopped) {
      try {
        const res = await request(`${this.#server.url}${this.#path}?watch=1&resourceVersion=${rv}`, {
          headers: { authorization: `Bearer ${this.#server.token}` }, dispatcher: this.#agent, signal: this.#abort.signal,
        });
        if (res.statusCode !== 200) {
          this.errors.push(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
          return;
        }
        let buf = '';
        for await (const chunk of res.body) {
          buf += chunk.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: string; object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; message?: string } };
            if (ev.type === 'ERROR') {
              this.errors.push(`ERROR event: ${ev.object.code} ${ev.object.message}`);
              return;
            }
            if (ev.type === 'BOOKMARK') continue;
            this.events.push({ type: ev.type, name: ev.object.metadata?.name ?? '', resourceVersion: Number(ev.object.metadata?.resourceVersion) });
          }
        }
      } catch (e) {
        if (this.#stopped) return;
        // The server went away (killed): a client would go on with another server; this one stops.
        this.errors.push(`stream failed: ${(e as Error).message}`);
        return;
      }
      if (this.#stopped) return;
      this.resumes++;
      rv = String(this.lastResourceVersion || rv);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#done.catch(() => undefined);
    await this.#agent.close().catch(() => undefined);
  }
}
