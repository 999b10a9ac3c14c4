// The namespaces a pod's containers share, held by bind mounts instead of a pause container:
// the network namespace through `ip netns` (/run/netns/skiff-<id12>), and the IPC and UTS
// namespaces bind-mounted under the sandbox's own directory. Every container of the pod joins
// them by path, so the pod keeps its hostname, IPs and SysV IPC across container restarts.
// https://kubernetes.io/docs/concepts/workloads/pods/#how-pods-manage-multiple-containers
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './command.ts';

export const NETNS_DIR = '/run/netns';

export function netnsNameOf(sandboxId: string): string {
  return `skiff-${sandboxId.slice(0, 12)}`;
}

/** Creates the pod's network namespace with loopback up; returns its path. */
export async function createNetns(name: string): Promise<string> {
  await run('ip', ['netns', 'add', name]);
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await run('ip', ['netns', 'delete', name], { allowFailure: true });
    throw err;
  }
  return join(NETNS_DIR, name);
}

export async function deleteNetns(name: string): Promise<void> {
  const r = await run('ip', ['netns', 'delete', name], { allowFailure: true });
  if (r.code !== 0 && !/No such file|not found/i.test(r.stderr.toString())) {
    throw new Error(`cannot delete network namespace ${name}: ${r.stderr.toString().trim()}`);
  }
}

export interface PodNamespaces {
  ipcPath: string;
  utsPath: string;
}

/**
 * Creates persistent IPC and UTS namespaces in dir (made a private bind mount, as `ip netns`
 * does for /run/netns, so the nsfs mounts can live there) and sets the pod's hostname in the UTS one.
 */
export async function createPodNamespaces(dir: string, hostname: string): Promise<PodNamespaces> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await run('mount', ['--bind', '--make-private', dir, dir]);
  const ipcPath = join(dir, 'ipc');
  const utsPath = join(dir, 'uts');
  await writeFile(ipcPath, '');
  await writeFile(utsPath, '');
  try {
    await run('unshare', [`--ipc=${ipcPath}`, `--uts=${utsPath}`, 'hostname', hostname]);
  } catch (err) {
    await removePodNamespaces(dir);
    throw err;
  }
  return { ipcPath, utsPath };
}

/** Unmounts and deletes what createPodNamespaces made; tolerant of a half-made dir. */
export async function removePodNamespaces(dir: string): Promise<void> {
  for (const target of [join(dir, 'ipc'), join(dir, 'uts'), dir]) {
    const r = await run('umount', [target], { allowFailure: true });
    if (r.code !== 0 && !/not mounted|no mount point|not found|No such file/i.test(r.stderr.toString())) {
      throw new Error(`cannot unmount ${target}: ${r.stderr.toString().trim()}`);
    }
  }
  await rm(dir, { recursive: true, force: true });
}
