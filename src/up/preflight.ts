// What `skiff up` checks before it starts anything, each failure a one-line reason with its fix
// (as kubeadm's and k3s's preflight checks do), so a newcomer never sees a stack trace for a
// machine that is simply not ready.
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface PreflightOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  runc?: string;
  conmon?: string;
  cniBinDir?: string;
  /** The effective uid to judge (default: this process's); lets the root check be tested as root. */
  uid?: number;
}

export interface PreflightFailure {
  check: string;
  message: string;
}

const SETUP = 'run ./scripts/setup.sh (it installs what Skiff needs with apt-get)';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function checkRoot(uid: number | undefined): string | undefined {
  if (uid !== 0) return 'skiff up must run as root (it makes network namespaces, mounts and cgroups): run it with sudo';
  return undefined;
}

function checkBinaries(o: PreflightOptions): string | undefined {
  const needed: [string, string][] = [
    [o.runc ?? '/usr/sbin/runc', 'runc'], [o.conmon ?? '/usr/bin/conmon', 'conmon'],
    [join(o.cniBinDir ?? '/usr/lib/cni', 'bridge'), 'containernetworking-plugins'], ['/bin/busybox', 'busybox-static'],
  ];
  const missing = needed.filter(([path]) => !isExecutable(path));
  if (missing.length === 0) return undefined;
  return `missing ${missing.map(([path, pkg]) => `${path} (package ${pkg})`).join(', ')}: ${SETUP}`;
}

function checkCgroups(): string | undefined {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const v1 = ['cpu', 'memory', 'pids'].every((c) => existsSync(join('/sys/fs/cgroup', c)));
  if (v1 || v2) return undefined;
  return 'cgroups are not available: /sys/fs/cgroup has neither the v1 cpu, memory and pids hierarchies nor a v2 hierarchy; mount them (or boot with cgroups enabled)';
}

function checkOverlay(): string | undefined {
  const fs = readFileSync('/proc/filesystems', 'utf8');
  if (/\boverlay\b/.test(fs)) return undefined;
  if (existsSync('/sys/module/overlay') || existsSync(`/lib/modules/${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}/kernel/fs/overlayfs`)) {
    return 'overlayfs is not loaded: run `modprobe overlay`';
  }
  return 'the kernel has no overlayfs, which container images need: use a kernel with CONFIG_OVERLAY_FS';
}

function checkDataDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    return `data directory ${dir} is not writable (${(e as NodeJS.ErrnoException).code}): pick another with --data-dir or fix its permissions`;
  }
}

function checkPort(port: number, address: string): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      resolve(e.code === 'EADDRINUSE'
        ? `port ${port} is already in use on ${address} (another cluster? \`skiff down\` stops one): stop whatever listens there or pass --port`
        : `cannot listen on ${address}:${port} (${e.code}): fix --bind-address or --port`);
    });
    server.listen(port, address, () => server.close(() => resolve(undefined)));
  });
}

/** Every failed check, in the order a user should fix them; empty when the machine is ready. */
export async function preflight(o: PreflightOptions): Promise<PreflightFailure[]> {
  const failures: PreflightFailure[] = [];
  const add = (check: string, message: string | undefined) => { if (message) failures.push({ check, message }); };
  add('root', checkRoot(o.uid ?? process.geteuid?.()));
  add('binaries', checkBinaries(o));
  add('cgroups', checkCgroups());
  add('overlayfs', checkOverlay());
  add('data-dir', checkDataDir(o.dataDir));
  add('port', await checkPort(o.port, o.bindAddress));
  return failures;
}
