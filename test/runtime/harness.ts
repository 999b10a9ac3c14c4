// Shared setup of the runtime tests: a Runtime on a temp root with the busybox image, served
// with serveCri on a temp socket and driven through the CRI client, and a cleanup that removes
// every sandbox (netns, mounts, cgroups, runc containers) the test made.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { serveCri, type CriServer } from '../../src/cri/server.ts';
import { Runtime, type RuntimeOptions } from '../../src/runtime/runtime.ts';
import { BusyboxImages, BUSYBOX_IMAGE, unmountAllUnder } from './busybox-image.ts';
import { run } from '../../src/runtime/command.ts';

export interface Harness {
  dir: string;
  root: string;
  images: BusyboxImages;
  runtime: Runtime;
  server: CriServer;
  client: CriClient;
  /** Replaces runtime, server and client with new ones on the same root (a daemon restart). */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startHarness(extra: Partial<RuntimeOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-rt-'));
  const root = join(dir, 'root');
  const images = new BusyboxImages(join(dir, 'img'));
  await images.build();
  const sandboxes = new Set<string>();
  const h = { dir, root, images } as Harness;
  const open = async () => {
    h.runtime = new Runtime({ root, images, cniConfDir: join(dir, 'no-cni'), ...extra });
    await h.runtime.start();
    h.server = await serveCri(`unix://${dir}/cri.sock`, h.runtime.handlers(), { log: (l) => console.error(l) });
    h.client = createCriClient(h.server.endpoint, { timeoutMs: 30_000 });
    // Remember every sandbox made through this client for cleanup.
    const runPod = h.client.runPodSandbox.bind(h.client);
    h.client.runPodSandbox = async (req, opts) => {
      const res = await runPod(req, opts);
      sandboxes.add(res.pod_sandbox_id);
      return res;
    };
  };
  const close = async () => {
    h.client.close();
    await h.server.close(1000);
  };
  await open();
  h.restart = async () => { await close(); await open(); };
  h.cleanup = async () => {
    const errors: unknown[] = [];
    for (const id of sandboxes) {
      await h.client.removePodSandbox({ pod_sandbox_id: id }).catch((e: unknown) => errors.push(e));
      // Whatever removal could not undo: the netns by its name, runc containers by their ids.
      await run('ip', ['netns', 'delete', `skiff-${id.slice(0, 12)}`], { allowFailure: true });
    }
    for (const c of await runcIds(join(root, 'runc'))) {
      await run('runc', [`--root=${join(root, 'runc')}`, 'delete', '--force', c], { allowFailure: true });
    }
    await close();
    await unmountAllUnder(dir);
    await rm(dir, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  };
  return h;
}

async function runcIds(stateRoot: string): Promise<string[]> {
  const r = await run('runc', [`--root=${stateRoot}`, 'list', '-q'], { allowFailure: true });
  return r.stdout.toString().split('\n').filter(Boolean);
}

export function podConfig(name: string, dir: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    log_directory: join(dir, 'logs', name),
    labels: { app: name },
    annotations: { note: 'test' },
    dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
    ...extra,
  };
}

export function containerConfig(name: string, command: string[], extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX_IMAGE },
    command,
    log_path: `${name}/0.log`,
    labels: { container: name },
    ...extra,
  };
}

export { waitFor as eventually } from '../helpers/wait.ts';
