// `skiff up`: a whole single-node cluster in the foreground, in one process: the API server on
// the embedded SQLite store with its controllers and scheduler, then the node agent with Skiff's
// runtime in-process, joined to the server with the node token as any other node would be.
// Ctrl-C stops every part; containers keep running (as with k3s) and the next `skiff up` adopts
// them; `skiff down` stops them too.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { Agent } from '../agent/agent.ts';
import { bootstrapNodeCredentials } from '../agent/bootstrap.ts';
import { startApiServer, type ApiServerHandle } from '../apiserver/start.ts';
import { RestClient } from '../client/rest.ts';
import { R } from '../client/resources.ts';
import { clusterLayout } from '../up/layout.ts';
import { preflight } from '../up/preflight.ts';
import { runningUpPid } from '../up/teardown.ts';
import { CliError } from './errors.ts';
import { intFlag, parseFlags } from './flags.ts';
import { SERVER_FLAGS } from './server.ts';

export const UP_FLAGS = {
  'data-dir': SERVER_FLAGS['data-dir'],
  port: SERVER_FLAGS.port,
  'bind-address': SERVER_FLAGS['bind-address'],
  'node-name': { type: 'string', default: '', help: "the node's name (default: this host's name)" },
} as const;

/** One line per step, with how long it took: the newcomer sees where the seconds go. */
class Progress {
  private readonly started = Date.now();
  private stepStarted = Date.now();
  step(what: string): void {
    this.stepStarted = Date.now();
    // On a terminal, the step in progress shows until its ✓ line replaces it.
    if (process.stdout.isTTY) process.stdout.write(`  … ${what}\r`);
  }
  done(what: string): void {
    if (process.stdout.isTTY) process.stdout.write('\x1b[2K');
    console.log(`  ✓ ${what} (${((Date.now() - this.stepStarted) / 1000).toFixed(1)} s)`);
  }
  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }
}

function nodeReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function waitForNodeReady(client: RestClient, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Node | undefined;
  while (Date.now() < deadline) {
    last = await client.get<Node>(R.nodes, name).catch(() => undefined);
    if (nodeReady(last)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = last?.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? 'the node did not register';
  throw new CliError(`node ${name} not Ready within ${timeoutMs / 1000} s: ${why}`);
}

export async function runUp(args: string[]): Promise<void> {
  const f = parseFlags('up', 'Starts a single-node Skiff cluster in the foreground: API server, controllers, scheduler, runtime and agent.', UP_FLAGS, args);
  const port = intFlag('port', f.port, 0, 65535);
  const layout = clusterLayout(f['data-dir']);
  const nodeName = (f['node-name'] || hostname()).toLowerCase();
  const progress = new Progress();
  console.log(`skiff up: starting a single-node cluster in ${layout.dataDir}`);

  const running = runningUpPid(layout.dataDir);
  if (running) throw new CliError(`a cluster from ${layout.dataDir} is already running (pid ${running}): stop it with Ctrl-C there, or \`skiff down --data-dir ${layout.dataDir}\``);
  progress.step('preflight checks');
  const failures = await preflight({ dataDir: layout.dataDir, port, bindAddress: f['bind-address'] });
  if (failures.length) {
    // One line per failed check, each with its fix (main prints the first after "skiff: ").
    throw new CliError(failures.map((x) => x.message).join('\nskiff: '));
  }
  progress.done('preflight checks');
  writeFileSync(layout.pidFile, `${process.pid}\n`);

  let server: ApiServerHandle | undefined;
  let agent: Agent | undefined;
  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nskiff up: ${why}: stopping (containers keep running; \`skiff down\` stops them)`);
    await agent?.stop().catch((e: Error) => console.error(`skiff up: stopping the agent: ${e.message}`));
    await server?.close().catch((e: Error) => console.error(`skiff up: stopping the API server: ${e.message}`));
    rmSync(layout.pidFile, { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  try {
    progress.step('API server, controllers and scheduler');
    server = await startApiServer({ dataDir: layout.dataDir, port, bindAddress: f['bind-address'] });
    progress.done(`API server on ${server.url}, controllers and scheduler`);

    progress.step('node credentials');
    const joinToken = readFileSync(join(layout.dataDir, 'node-token'), 'utf8').trim();
    const kubeconfig = await bootstrapNodeCredentials({ server: server.url, joinToken, nodeName, dir: layout.agentDir });
    progress.done(`node credentials for system:node:${nodeName}`);

    progress.step('container runtime and node agent');
    agent = await Agent.start({
      client: RestClient.fromKubeconfig(kubeconfig, { userAgent: 'skiff-agent/0.1' }),
      nodeName, nodeIp: '127.0.0.1', dataDir: layout.agentDir, kubeletPort: 0,
      // One node on loopback: the skiff0 bridge alone (nothing to tunnel to), with the service
      // proxy and the node-local DNS server on the bridge's gateway (docs/agent.md, Networking).
      network: { backend: 'none' },
      log: (line) => console.error(`skiff agent: ${line}`),
    });
    progress.done('container runtime (runc) and node agent');

    progress.step(`node ${nodeName} Ready`);
    const admin = RestClient.fromKubeconfig(layout.kubeconfig);
    try {
      await waitForNodeReady(admin, nodeName, 60_000);
    } finally {
      await admin.close();
    }
    progress.done(`node ${nodeName} Ready`);
  } catch (e) {
    if (!stopping) {
      const message = e instanceof CliError ? e.message : (e as Error).stack ?? String(e);
      console.error(`skiff up: ${message}`);
      await stop('start failed', e instanceof CliError ? 2 : 1);
    }
    return;
  }
  console.log(`\nskiff up: cluster ready in ${progress.elapsed()}. To use it:\n  export KUBECONFIG=${layout.kubeconfig}\n  kubectl get nodes\nCtrl-C stops it.`);
}
