// containerd 1.6 (Debian's package) as a second CRI runtime for the same tests: started as our
// child on its own temp root, state and socket, with its CRI plugin configured for this machine
// (restrict_oom_score_adj: root lacks CAP_SYS_RESOURCE here; Debian's runc and CNI plugins; a
// test-only bridge network) and nothing that reaches a registry. Images come in with
// `ctr images import`. stop() ends it by PID and removes what it leaves behind: shim processes,
// runc state, mounts, network namespaces, cgroups, the bridge and CNI's cache entries.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, open, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { run } from '../../src/runtime/command.ts';
import { CGROUP_ROOT } from '../../src/runtime/stats.ts';
import { unmountAllUnder } from './busybox-image.ts';
import { waitFor } from '../helpers/wait.ts';

export const CONTAINERD = '/usr/bin/containerd';
export const CTR = '/usr/bin/ctr';
const NAMESPACE = 'k8s.io';

export interface ContainerdOptions {
  /** Everything containerd writes (root, state, socket, runc state, netns mounts) goes under here. */
  dir: string;
  /** The image its CRI plugin runs as each pod's sandbox (pause) container; import it before the first pod. */
  sandboxImage: string;
  /** CNI network config directory (a conflist the caller wrote). */
  cniConfDir: string;
  cniBinDir?: string;
  runc?: string;
  /** Extra runtime handlers: name → OCI runtime binary (runc's CLI), e.g. runsc. */
  handlers?: Record<string, string>;
}

export interface Containerd {
  pid: number;
  endpoint: string;
  client: CriClient;
  /** Imports a `docker save` or OCI archive into the k8s.io namespace (what the CRI plugin sees). */
  importImage(archive: string): Promise<void>;
  /** Ends containerd (SIGTERM, then SIGKILL); its shims and containers keep running, as in production. */
  stop(): Promise<void>;
  /** Starts it again on the same root and state. */
  start(): Promise<void>;
  /** Stops it and removes everything it made, containers included. */
  cleanup(): Promise<void>;
}

function toml(o: ContainerdOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const runtime = (name: string, binary: string) => [
    `[${cri}.containerd.runtimes.${name}]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.${name}.options]`,
    `  BinaryName = "${binary}"`,
    `  Root = "${join(o.dir, 'runc', name)}"`,
    '  SystemdCgroup = false',
  ];
  return [
    'version = 2',
    `root = "${join(o.dir, 'root')}"`,
    `state = "${join(o.dir, 'state')}"`,
    // Plugins that would write outside our dir (/opt/containerd) or that this machine lacks.
    'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",',
    '  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]',
    '[grpc]',
    `  address = "${join(o.dir, 'containerd.sock')}"`,
    '[ttrpc]',
    `  address = "${join(o.dir, 'containerd.sock.ttrpc')}"`,
    '[debug]',
    '  address = ""',
    '  level = "info"',
    '[metrics]',
    '  address = ""',
    `[${cri}]`,
    `  sandbox_image = "${o.sandboxImage}"`,
    '  restrict_oom_score_adj = true',
    '  enable_selinux = false',
    '  disable_apparmor = true',
    // Exec/Attach/PortForward URLs on loopback only.
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    // Network namespaces under our state dir, not /run/netns.
    '  netns_mounts_under_state_dir = true',
    `[${cri}.cni]`,
    `  bin_dir = "${o.cniBinDir ?? '/usr/lib/cni'}"`,
    `  conf_dir = "${o.cniConfDir}"`,
    '  max_conf_num = 1',
    `[${cri}.containerd]`,
    '  default_runtime_name = "runc"',
    '  snapshotter = "overlayfs"',
    ...runtime('runc', o.runc ?? '/usr/sbin/runc'),
    ...Object.entries(o.handlers ?? {}).flatMap(([name, binary]) => runtime(name, binary)),
    // No mirrors and no credentials: an image that is not imported is simply not there.
    `[${cri}.registry]`,
    '  config_path = ""',
    '',
  ].join('\n');
}

/** Starts containerd on o.dir and waits until its CRI plugin answers Version. */
export async function startContainerd(o: ContainerdOptions): Promise<Containerd> {
  await mkdir(o.dir, { recursive: true });
  const config = join(o.dir, 'config.toml');
  await writeFile(config, toml(o));
  const address = join(o.dir, 'containerd.sock');
  const endpoint = `unix://${address}`;
  const logFile = join(o.dir, 'containerd.log');
  const created: string[] = [];
  for (const d of ['/run/containerd/s', '/run/containerd', '/var/lib/cni/results', '/var/lib/cni']) {
    if (!(await exists(d))) created.push(d);
  }
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const self: Containerd = {
    pid: 0,
    endpoint,
    client: undefined as unknown as CriClient,
    async start() {
      const log = await open(logFile, 'a');
      child = spawn(CONTAINERD, ['--config', config], { stdio: ['ignore', log.fd, log.fd] });
      await log.close();
      const proc = child;
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      self.pid = proc.pid ?? 0;
      self.client = createCriClient(endpoint, { timeoutMs: 60_000 });
      const client = self.client;
      await waitFor('containerd\'s CRI plugin to answer Version', async () => {
        if (proc.exitCode !== null) throw new Error(`containerd exited with ${proc.exitCode}: ${await tail(logFile)}`);
        return (await client.version({}, { timeoutMs: 2000 })).runtime_name;
      }, 60_000, 100).catch(async (err: Error) => {
        throw new Error(`${err.message}\ncontainerd's log:\n${await tail(logFile)}`);
      });
    },
    async stop() {
      self.client?.close();
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
    async importImage(archive: string) {
      await run(CTR, ['--address', address, '-n', NAMESPACE, 'images', 'import', archive], { timeoutMs: 120_000 });
    },
    async cleanup() {
      const errors: unknown[] = [];
      const attempt = async (what: string, fn: () => Promise<unknown>) => {
        await fn().catch((e: Error) => errors.push(new Error(`containerd cleanup: ${what}: ${e.message}`)));
      };
      // Through CRI first: that stops containers, ends shims and tears the pod networks down.
      if (child && child.exitCode === null) {
        const client = self.client;
        await attempt('removing pod sandboxes', async () => {
          for (const s of (await client.listPodSandbox({})).items) {
            await client.stopPodSandbox({ pod_sandbox_id: s.id });
            await client.removePodSandbox({ pod_sandbox_id: s.id });
          }
        });
      }
      await self.stop();
      // Whatever is left: shims (found by the state dir they run in), runc containers, mounts.
      await attempt('ending shims', () => endShims(o.dir));
      await attempt('deleting runc containers', () => deleteRuncContainers(join(o.dir, 'runc')));
      await attempt('unmounting', () => unmountAllUnder(o.dir));
      await attempt('removing files', () => rm(o.dir, { recursive: true, force: true }));
      // containerd 1.6 keeps shim sockets in /run/containerd/s whatever its state dir; go-cni
      // caches results in /var/lib/cni. Empty dirs that were not there before go too.
      for (const d of created) await rmdir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT' && e.code !== 'ENOTEMPTY') errors.push(e);
      });
      if (errors.length) throw errors[0];
    },
  };
  await self.start();
  return self;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function tail(file: string): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').slice(-15).join('\n');
}

/** Shims are containerd-shim-runc-v2 processes whose -address is our socket: kill them by PID. */
async function endShims(dir: string): Promise<void> {
  const address = join(dir, 'containerd.sock');
  for (const pid of await readdir('/proc').then((l) => l.filter((p) => /^\d+$/.test(p)))) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!cmdline[0]?.endsWith('containerd-shim-runc-v2')) continue;
    const i = cmdline.indexOf('-address');
    if (i >= 0 && cmdline[i + 1] === address) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  }
}

async function deleteRuncContainers(runcRoot: string): Promise<void> {
  for (const handler of await readdir(runcRoot).catch(() => [] as string[])) {
    // The shim nests runc's state one level further, by namespace.
    const root = join(runcRoot, handler, NAMESPACE);
    const r = await run('/usr/sbin/runc', [`--root=${root}`, 'list', '-q'], { allowFailure: true });
    for (const id of r.stdout.toString().split('\n').filter(Boolean)) {
      await run('/usr/sbin/runc', [`--root=${root}`, 'delete', '--force', id], { allowFailure: true });
    }
  }
}

/** Removes a cgroup subtree (deepest first) from every hierarchy; tolerates what is already gone. */
export async function removeCgroupTree(relative: string): Promise<void> {
  if (!/^\/skiff[^/]*/.test(relative)) throw new Error(`refusing to remove cgroup ${relative}: not a skiff one`);
  for (const controller of await readdir(CGROUP_ROOT).catch(() => [] as string[])) {
    await removeDirs(join(CGROUP_ROOT, controller, relative));
  }
}

async function removeDirs(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (!entries) return;
  for (const e of entries) if (e.isDirectory()) await removeDirs(join(dir, e.name));
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw new Error(`cannot remove cgroup ${dir}: ${err.message}`);
  });
}

/**
 * A bridge CNI network confined to the host: no gateway address on the bridge, no masquerading,
 * addresses from host-local with its data in dir. Returns the conf dir to hand to the runtime.
 */
export async function writeBridgeNetwork(dir: string, name: string, bridge: string, subnet: string): Promise<string> {
  if (!bridge.startsWith('skiff') || bridge.length > 15) throw new Error(`bridge name "${bridge}" must start with skiff and fit 15 characters`);
  const confDir = join(dir, 'cni');
  await mkdir(confDir, { recursive: true });
  await writeFile(join(confDir, `10-${name}.conflist`), JSON.stringify({
    cniVersion: '1.0.0',
    name,
    plugins: [{
      type: 'bridge', bridge, isGateway: false, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(dir, 'ipam') },
    }],
  }));
  return confDir;
}

/** Deletes the bridge and libcni's cached results for the network (containerd's go-cni caches them). */
export async function removeBridgeNetwork(name: string, bridge: string): Promise<void> {
  await run('ip', ['link', 'delete', bridge], { allowFailure: true });
  const cache = '/var/lib/cni/results';
  for (const f of await readdir(cache).catch(() => [] as string[])) {
    if (f.startsWith(`${name}-`)) await rm(join(cache, f), { force: true });
  }
}
