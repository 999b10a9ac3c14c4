// The CRI runtimes the shared CRI tests (and bench/runtime.ts) run against: `skiff runtime` and
// containerd 1.6, each a real daemon started as our child on its own temp dir and socket, with
// the same test images imported from the same archives and the same kind of CNI network (a
// test-only bridge, no gateway, no masquerading). Tests see only a CRI client and what the
// backend names (images, pod and container configs); what a backend runs on is its own business.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import type * as T from '../../src/cri/types.ts';
import { run } from '../../src/runtime/command.ts';
import { buildBusyboxImage } from '../../src/runtime/images/builtin.ts';
import { removeBridgeNetwork, removeCgroupTree, startContainerd, writeBridgeNetwork } from './containerd.ts';
import { unmountAllUnder } from './busybox-image.ts';
import { exec, writeOciLayout } from './images-fixtures.ts';
import { waitFor } from '../helpers/wait.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** busybox with `sh` as its command and FROM_IMAGE=1 in its env. */
export const TEST_IMAGE = 'test.local/busybox:latest';
/** The same busybox layer; its command sleeps (containerd's sandbox image). */
export const PAUSE_IMAGE = 'test.local/pause:latest';
export const TEST_IMAGE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FROM_IMAGE=1'];

export type BackendName = 'skiff' | 'containerd';

export interface Backend {
  name: BackendName;
  client: CriClient;
  /** The daemon's PID (for RSS). */
  pid: number;
  /** Temp dir for the test's own files (pod log directories, host paths to mount). */
  dir: string;
  /** Image references imported into the runtime, and the image ids (config digests) they have. */
  images: { busybox: string; pause: string; ids: Record<string, string> };
  /** Runtime handlers this backend offers besides the default (runsc on skiff when installed). */
  handlers: string[];
  /** A pod config as kubelet sends it: log directory under dir, a cgroup parent of ours, DNS. */
  podConfig(name: string, extra?: T.DeepPartial<T.PodSandboxConfig>): T.DeepPartial<T.PodSandboxConfig>;
  /** A container of the busybox test image logging to <name>/0.log. */
  containerConfig(name: string, command: string[], extra?: T.DeepPartial<T.ContainerConfig>): T.DeepPartial<T.ContainerConfig>;
  /** Stops the daemon, runs whileDown, and starts it again on the same state; client is replaced. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  /** Removes every pod, stops the daemon and removes everything it made. */
  cleanup(): Promise<void>;
}

export interface BackendSpec {
  name: BackendName;
  start(options?: BackendOptions): Promise<Backend>;
}

export interface BackendOptions {
  /** Extra runtime handlers (name → binary); on skiff added to runc, on containerd as runc.v2 runtimes. */
  handlers?: Record<string, string>;
}

export const BACKENDS: BackendSpec[] = [
  { name: 'skiff', start: startSkiffBackend },
  { name: 'containerd', start: startContainerdBackend },
];

/** Only some backends, by SKIFF_CRI_BACKENDS=skiff,containerd (all when unset). */
export function selectedBackends(): BackendSpec[] {
  const want = process.env.SKIFF_CRI_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  return want?.length ? BACKENDS.filter((b) => want.includes(b.name)) : BACKENDS;
}

export interface TestArchives {
  busybox: string;
  pause: string;
  /** Image id (config digest) by reference. */
  ids: Record<string, string>;
}

/** Builds the two test images from the host's busybox and saves each as a `docker save` archive. */
export async function buildTestArchives(dir: string): Promise<TestArchives> {
  const layer = (await buildBusyboxImage()).layers[0]!;
  const layout = join(dir, 'layout');
  await writeOciLayout(layout, {
    busybox: { layers: [layer], config: { Cmd: ['sh'], Env: TEST_IMAGE_ENV } },
    // PID 1 without a TERM handler: containerd stops sandboxes with SIGKILL anyway.
    pause: { layers: [layer], config: { Cmd: ['sleep', '2147483647'], Env: TEST_IMAGE_ENV } },
  });
  const out: TestArchives = { busybox: join(dir, 'busybox.tar'), pause: join(dir, 'pause.tar'), ids: {} };
  for (const [tag, ref, file] of [['busybox', TEST_IMAGE, out.busybox], ['pause', PAUSE_IMAGE, out.pause]] as const) {
    await exec('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${layout}:${tag}`, `docker-archive:${file}:${ref}`]);
    const { stdout } = await exec('tar', ['-xOf', file, 'manifest.json']);
    const [entry] = JSON.parse(stdout) as { Config: string }[];
    out.ids[ref] = `sha256:${/([a-f0-9]{64})/.exec(entry!.Config)![1]}`;
  }
  return out;
}

let instances = 0;

/** Per backend instance: temp dir, cgroup root, bridge and network names that cannot collide. */
async function layout(name: BackendName) {
  const n = `${process.pid % 100000}${instances++}`;
  const dir = await mkdtemp(join(tmpdir(), `skiff-cri-${name}-`));
  const archives = await buildTestArchives(await mkdirp(join(dir, 'images')));
  const network = `skiff-${name}-${n}`;
  const bridge = `skiffbr${name[0]}${n}`.slice(0, 15);
  const cniConfDir = await writeBridgeNetwork(join(dir, 'net'), network, bridge, '10.98.0.0/24');
  const cgroupRoot = `/skiff-cri-${name}-${n}`;
  return { dir, archives, network, bridge, cniConfDir, cgroupRoot };
}

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

/** What kubelet sends for a pod without hostNetwork/hostPID/hostIPC/shareProcessNamespace. */
export const KUBELET_NAMESPACES = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } as const;

function configBuilders(dir: string, cgroupRoot: string, image: string) {
  let pods = 0;
  return {
    podConfig: (name: string, extra: T.DeepPartial<T.PodSandboxConfig> = {}): T.DeepPartial<T.PodSandboxConfig> => ({
      metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
      hostname: name,
      log_directory: join(dir, 'logs', name),
      labels: { app: name },
      annotations: { note: 'test' },
      dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
      ...extra,
      // kubelet always names a cgroup parent (ours keeps every cgroup under a skiff-named root)
      // and the namespaces: CRI's zero value for pid is POD, a v1 pod's default is CONTAINER.
      linux: {
        cgroup_parent: `${cgroupRoot}/pod${pods++}`,
        ...extra.linux,
        security_context: { namespace_options: KUBELET_NAMESPACES, ...extra.linux?.security_context },
      },
    }),
    containerConfig: (name: string, command: string[], extra: T.DeepPartial<T.ContainerConfig> = {}): T.DeepPartial<T.ContainerConfig> => ({
      metadata: { name, attempt: 0 },
      image: { image },
      command,
      log_path: `${name}/0.log`,
      labels: { container: name },
      ...extra,
      linux: { ...extra.linux, security_context: { namespace_options: KUBELET_NAMESPACES, ...extra.linux?.security_context } },
    }),
  };
}

/** Removes every pod through CRI, collecting errors rather than stopping at the first. */
async function removeAllPods(client: CriClient, errors: unknown[]): Promise<void> {
  const { items } = await client.listPodSandbox({}).catch((e: unknown) => { errors.push(e); return { items: [] }; });
  for (const s of items) {
    await client.stopPodSandbox({ pod_sandbox_id: s.id }).catch((e: unknown) => errors.push(e));
    await client.removePodSandbox({ pod_sandbox_id: s.id }).catch((e: unknown) => errors.push(e));
  }
}

export async function startContainerdBackend(options: BackendOptions = {}): Promise<Backend> {
  const l = await layout('containerd');
  const ctrd = await startContainerd({
    dir: join(l.dir, 'containerd'), sandboxImage: PAUSE_IMAGE, cniConfDir: l.cniConfDir, handlers: options.handlers,
  }).catch(async (err: Error) => {
    await removeBridgeNetwork(l.network, l.bridge);
    await rm(l.dir, { recursive: true, force: true });
    throw err;
  });
  await ctrd.importImage(l.archives.busybox);
  await ctrd.importImage(l.archives.pause);
  const b: Backend = {
    name: 'containerd',
    client: ctrd.client,
    pid: ctrd.pid,
    dir: l.dir,
    images: { busybox: TEST_IMAGE, pause: PAUSE_IMAGE, ids: l.archives.ids },
    handlers: Object.keys(options.handlers ?? {}),
    ...configBuilders(l.dir, l.cgroupRoot, TEST_IMAGE),
    async restart(whileDown) {
      await ctrd.stop();
      await whileDown?.();
      await ctrd.start();
      b.client = ctrd.client;
      b.pid = ctrd.pid;
    },
    async cleanup() {
      const errors: unknown[] = [];
      await ctrd.cleanup().catch((e: unknown) => errors.push(e));
      await finish(l, errors);
    },
  };
  return b;
}

export async function startSkiffBackend(options: BackendOptions = {}): Promise<Backend> {
  const l = await layout('skiff');
  const root = join(l.dir, 'root');
  // The daemon imports archives it finds here on start (air-gapped nodes do the same).
  const importDir = await mkdirp(join(root, 'images', 'import'));
  await run('cp', [l.archives.busybox, l.archives.pause, importDir]);
  const endpoint = `unix://${join(l.dir, 'cri.sock')}`;
  const handlers: Record<string, string> = { runc: '/usr/sbin/runc', ...options.handlers };
  const args = [
    join(REPO, 'bin', 'skiff'), 'runtime', '--root', root, '--listen', endpoint,
    '--cni-conf-dir', l.cniConfDir, '--cni-bin-dir', '/usr/lib/cni',
    '--runtime-handlers', Object.entries(handlers).map(([n, p]) => `${n}=${p}`).join(','),
  ];
  const logFile = join(l.dir, 'skiff-runtime.log');
  let child: ChildProcess | undefined;
  const startDaemon = async (): Promise<CriClient> => {
    const log = await open(logFile, 'a');
    const proc = spawn(args[0]!, args.slice(1), { stdio: ['ignore', log.fd, log.fd] });
    child = proc;
    await log.close();
    const client = createCriClient(endpoint, { timeoutMs: 60_000 });
    await waitFor('skiff runtime to answer Version', async () => {
      if (proc.exitCode !== null) throw new Error(`skiff runtime exited with ${proc.exitCode}: ${await readFile(logFile, 'utf8')}`);
      return (await client.version({}, { timeoutMs: 2000 })).runtime_name;
    }, 60_000, 100);
    return client;
  };
  const stopDaemon = async (b?: Backend) => {
    b?.client.close();
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  // Every sandbox made, so that cleanup can delete netns a dead daemon left (skiff-<id12>).
  const sandboxes = new Set<string>();
  const track = (client: CriClient): CriClient => {
    const runPod = client.runPodSandbox.bind(client);
    client.runPodSandbox = async (req, opts) => {
      const res = await runPod(req, opts);
      sandboxes.add(res.pod_sandbox_id);
      return res;
    };
    return client;
  };
  let client: CriClient;
  try {
    client = track(await startDaemon());
  } catch (err) {
    await stopDaemon();
    await finish(l, []);
    throw err;
  }
  const b: Backend = {
    name: 'skiff',
    client,
    pid: child!.pid ?? 0,
    dir: l.dir,
    images: { busybox: TEST_IMAGE, pause: PAUSE_IMAGE, ids: l.archives.ids },
    handlers: Object.keys(options.handlers ?? {}),
    ...configBuilders(l.dir, l.cgroupRoot, TEST_IMAGE),
    async restart(whileDown) {
      await stopDaemon(b);
      await whileDown?.();
      b.client = track(await startDaemon());
      b.pid = child!.pid ?? 0;
    },
    async cleanup() {
      const errors: unknown[] = [];
      if (child && child.exitCode === null) await removeAllPods(b.client, errors);
      await stopDaemon(b);
      // What removal could not undo: runc containers by their ids (one state root per handler).
      for (const h of Object.keys(handlers)) {
        const stateRoot = join(root, h);
        const ids = (await run(handlers[h]!, [`--root=${stateRoot}`, 'list', '-q'], { allowFailure: true })).stdout.toString().split('\n').filter(Boolean);
        for (const id of ids) await run(handlers[h]!, [`--root=${stateRoot}`, 'delete', '--force', id], { allowFailure: true });
      }
      for (const id of sandboxes) await run('ip', ['netns', 'delete', `skiff-${id.slice(0, 12)}`], { allowFailure: true });
      await finish(l, errors);
    },
  };
  return b;
}

/** The parts both backends share: mounts, cgroups, bridge, temp dir; then the first error, if any. */
async function finish(l: Awaited<ReturnType<typeof layout>>, errors: unknown[]): Promise<void> {
  await unmountAllUnder(l.dir).catch((e: unknown) => errors.push(e));
  await removeCgroupTree(l.cgroupRoot).catch((e: unknown) => errors.push(e));
  await removeBridgeNetwork(l.network, l.bridge).catch((e: unknown) => errors.push(e));
  await rm(l.dir, { recursive: true, force: true }).catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
}
