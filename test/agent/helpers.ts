// Shared setup of the agent tests: the real `skiff server` (controllers and scheduler in-process)
// and a node agent started in this process on a temp data dir with the admin kubeconfig and Skiff's
// runtime in-process. cleanup() removes every sandbox the runtime holds through CRI (netns,
// mounts, cgroups, containers), then the dirs; it leaves the `unreachable` safety routes.
import { mkdtemp, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { Agent, type AgentOptions } from '../../src/agent/agent.ts';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { run } from '../../src/runtime/command.ts';
import { runtimeMain } from '../../src/runtime/main.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { unmountAllUnder } from '../runtime/busybox-image.ts';

export const BUSYBOX = 'skiff.local/busybox:latest';

export interface AgentEnv {
  server: TestServer;
  /** The running agent (replaced by restartAgent). */
  agent: Agent;
  nodeName: string;
  dataDir: string;
  /** A client with the admin kubeconfig. */
  client: RestClient;
  /** Starts the agent (again) on the same data dir: it adopts what the runtime runs. */
  startAgent(): Promise<Agent>;
  /** Stops the agent; its containers keep running. */
  stopAgent(): Promise<void>;
  /** The pod from the API (undefined once it is gone). */
  getPod(name: string, namespace?: string): Promise<Pod | undefined>;
  /** Waits for the pod to satisfy check; fails naming what, with the pod's last status. */
  waitPod(name: string, what: string, check: (p: Pod) => boolean, timeoutMs?: number, namespace?: string): Promise<Pod>;
  cleanup(): Promise<void>;
}

export interface AgentEnvOptions {
  nodeName?: string;
  serverArgs?: string[];
  agent?: Partial<AgentOptions>;
  /** Log the agent's lines to stderr (default: only when SKIFF_TEST_VERBOSE is set). */
  verbose?: boolean;
}

let counter = 0;

export async function startAgentEnv(opts: AgentEnvOptions = {}): Promise<AgentEnv> {
  const server = await startServer({ extraArgs: opts.serverArgs });
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-agent-'));
  const nodeName = opts.nodeName ?? `node-${process.pid}-${counter++}`;
  const client = RestClient.fromKubeconfig(server.kubeconfig);
  const verbose = opts.verbose ?? !!process.env.SKIFF_TEST_VERBOSE;
  const logs: string[] = [];
  const env = { server, nodeName, dataDir, client } as AgentEnv;
  let running: Agent | undefined;
  env.startAgent = async () => {
    running = await Agent.start({
      client: RestClient.fromKubeconfig(server.kubeconfig, { userAgent: 'skiff-agent-test' }),
      nodeName, nodeIp: '127.0.0.1', dataDir, kubeletPort: 0,
      log: (line) => {
        logs.push(line);
        if (verbose) console.error(`[agent ${nodeName}] ${line}`);
      },
      ...opts.agent,
    });
    env.agent = running;
    return running;
  };
  env.stopAgent = async () => {
    const a = running;
    running = undefined;
    await a?.stop();
  };
  env.getPod = async (name, namespace = 'default') => {
    try {
      return await client.get<Pod>(R.pods, name, { namespace });
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };
  env.waitPod = async (name, what, check, timeoutMs = 60_000, namespace = 'default') => {
    let last: Pod | undefined;
    try {
      return await waitFor(`pod ${name} ${what}`, async () => {
        last = await env.getPod(name, namespace);
        return last && check(last) ? last : undefined;
      }, timeoutMs, 200);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast status: ${JSON.stringify(last?.status)}\nagent log tail:\n${logs.slice(-20).join('\n')}`);
    }
  };
  env.cleanup = async () => {
    const errors: unknown[] = [];
    if (running) {
      await removeAllSandboxes(running.cri).catch((e: unknown) => errors.push(e));
      await env.stopAgent().catch((e: unknown) => errors.push(e));
    }
    await client.close();
    await server.cleanup();
    await cleanupAgentDataDir(dataDir).catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  };
  try {
    await env.startAgent();
  } catch (e) {
    await env.cleanup().catch(() => undefined);
    throw e;
  }
  return env;
}

/**
 * Removes what an agent's in-process runtime still holds under dataDir (its runtime is started
 * again just for that), then the mounts and the dir itself.
 */
export async function cleanupAgentDataDir(dataDir: string): Promise<void> {
  let error: unknown;
  const endpoint = `unix://${join(dataDir, 'cri-cleanup.sock')}`;
  const daemon = await runtimeMain({ root: join(dataDir, 'runtime'), listen: endpoint, cniConfDir: join(dataDir, 'cni', 'net.d'), log: () => undefined });
  const cri = createCriClient(endpoint);
  await removeAllSandboxes(cri).catch((e: unknown) => (error = e));
  cri.close();
  await daemon.close();
  await removeEmptyKubepodsCgroups();
  await unmountAllUnder(dataDir);
  await rm(dataDir, { recursive: true, force: true });
  if (error) throw error;
}

/** The QoS tiers of the agents' cgroup hierarchy, when no pod uses them any more (rmdir fails on a busy one). */
async function removeEmptyKubepodsCgroups(): Promise<void> {
  for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    for (const dir of ['skiff/kubepods/besteffort', 'skiff/kubepods/burstable', 'skiff/kubepods']) {
      await rmdir(join('/sys/fs/cgroup', controller, dir)).catch(() => undefined);
    }
  }
}

/** Stops and removes every sandbox (and so every container) the runtime holds; deletes leftover netns by name. */
export async function removeAllSandboxes(cri: CriClient): Promise<void> {
  const { items } = await cri.listPodSandbox({});
  for (const s of items) {
    await cri.stopPodSandbox({ pod_sandbox_id: s.id }).catch(() => undefined);
    await cri.removePodSandbox({ pod_sandbox_id: s.id });
    await run('ip', ['netns', 'delete', `skiff-${s.id.slice(0, 12)}`], { allowFailure: true });
  }
}

/** A busybox pod bound by the scheduler (no nodeName: it must be scheduled to the test's only node). */
export function busyboxPod(name: string, command: string[], extra: { restartPolicy?: string; grace?: number; spec?: Record<string, unknown>; container?: Record<string, unknown> } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { test: name } },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: extra.grace ?? 5,
      containers: [{ name: 'main', image: BUSYBOX, command, ...extra.container }],
      ...extra.spec,
    },
  } as Pod;
}

/** sh that exits at once on SIGTERM (a shell as PID 1 ignores it otherwise). */
export function sleepForever(): string[] {
  return ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];
}
