// The namespaces a pod's containers share, held by bind mounts instead of a pause container:
// the network namespace through `ip netns` (/run/netns/skiff-<id12>), and the IPC and UTS
// namespaces bind-mounted under the sandbox's own directory. Every container of the pod joins
// them by path, so the pod keeps its hostname, IPs and SysV IPC across container restarts.
// https://kubernetes.io/docs/concepts/workloads/pods/#how-pods-manage-multiple-containers
//
// Making them takes several host commands (ip, mount, unshare), run through the spawner: the
// network namespace first (`ip netns add` alone), then its loopback, the IPC/UTS namespaces and
// /dev/shm (one shell script: one round trip instead of one per command) while the CNI ADD runs.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError } from './command.ts';
import { hostRun } from './spawner.ts';

export const NETNS_DIR = '/run/netns';

export function netnsNameOf(sandboxId: string): string {
  return `skiff-${sandboxId.slice(0, 12)}`;
}

export interface PodNamespacesSpec {
  /** `ip netns` name of the pod's network namespace; '' for the host's network. */
  netnsName: string;
  /** Directory for the IPC and UTS namespace files (made a private bind mount, as `ip netns` does for /run/netns). */
  nsDir: string;
  hostname: string;
  /** Where the pod's /dev/shm tmpfs is mounted. */
  shmPath: string;
}

// $1 ns dir, $2 hostname, $3 shm dir. set -e: the first failure stops it, and the caller undoes
// whatever part was made (removePodNamespaces tolerates half-made state).
const IPC_UTS_SHM_SETUP = `set -e
mount --bind --make-private "$1" "$1"
: > "$1/ipc"; : > "$1/uts"
unshare --ipc="$1/ipc" --uts="$1/uts" hostname "$2"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$3"`;

// $1 netns name ('' = none), $2 shm dir, $3 ns dir. What is already gone is fine (idempotent).
// One umount for all four, in order (the namespace files before the dir that holds them).
const TEARDOWN = `if [ -n "$1" ]; then
  out=$(ip netns delete "$1" 2>&1) || case "$out" in
    *"No such file"*|*"not found"*) ;;
    *) echo "cannot delete network namespace $1: $out" >&2; exit 1 ;;
  esac
fi
out=$(umount "$2" "$3/ipc" "$3/uts" "$3" 2>&1) || {
  bad=$(printf '%s\n' "$out" | grep -viE 'not mounted|no mount point|not found|No such file') || true
  if [ -n "$bad" ]; then echo "cannot unmount: $bad" >&2; exit 1; fi
}`;

async function script(what: string, text: string, args: string[]): Promise<void> {
  await host(what, '/bin/sh', ['-c', text, 'skiff-sandbox', ...args]);
}

async function host(what: string, file: string, args: string[]): Promise<void> {
  try {
    await hostRun(file, args);
  } catch (err) {
    const said = err instanceof CommandError ? err.result.stderr.toString().trim() : (err as Error).message;
    throw new Error(`${what}: ${said}`);
  }
}

/**
 * Creates the pod's network namespace (`ip netns add` also makes /run/netns a shared mount point
 * the first time); returns its path. Its loopback is still down: see bringUpLoopback. On failure
 * call removePodNamespaces.
 */
export async function createNetns(name: string): Promise<string> {
  await host(`cannot create network namespace ${name}`, 'ip', ['netns', 'add', name]);
  return join(NETNS_DIR, name);
}

/** Sets `lo` up in the pod's network namespace (CNI plugins leave it to the runtime, as containerd does). */
export async function bringUpLoopback(netnsName: string): Promise<void> {
  await host(`cannot bring up lo in network namespace ${netnsName}`, 'ip', ['-n', netnsName, 'link', 'set', 'lo', 'up']);
}

/**
 * Creates persistent IPC and UTS namespaces (with the pod's hostname set in the UTS one) and the
 * /dev/shm tmpfs. On failure the caller must call removePodNamespaces.
 */
export async function createIpcUtsShm(spec: Omit<PodNamespacesSpec, 'netnsName'>): Promise<{ ipcPath: string; utsPath: string }> {
  await Promise.all([mkdir(spec.nsDir, { recursive: true, mode: 0o700 }), mkdir(spec.shmPath, { recursive: true })]);
  await script('cannot create the pod\'s IPC and UTS namespaces and /dev/shm', IPC_UTS_SHM_SETUP, [spec.nsDir, spec.hostname, spec.shmPath]);
  return { ipcPath: join(spec.nsDir, 'ipc'), utsPath: join(spec.nsDir, 'uts') };
}

/** Deletes the network namespace, unmounts /dev/shm and the IPC/UTS namespaces; tolerant of a half-made pod. */
export async function removePodNamespaces(spec: Omit<PodNamespacesSpec, 'hostname'>): Promise<void> {
  await script('cannot remove the pod\'s namespaces', TEARDOWN, [spec.netnsName, spec.shmPath, spec.nsDir]);
  await rm(spec.nsDir, { recursive: true, force: true });
}
