// The runtime's memory on disk: one JSON file per sandbox and per container under the root, so
// a restarted `skiff runtime` knows everything the previous one created. Writes are atomic
// (temp file + rename) so a crash never leaves half a record.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ContainerConfig, ContainerState, PodSandboxConfig, PodSandboxState, DeepPartial,
} from '../cri/types.ts';

export interface SandboxRecord {
  id: string;
  /** The request's config, kept for status, labels and the containers' /etc files. */
  config: DeepPartial<PodSandboxConfig>;
  runtimeHandler: string;
  state: PodSandboxState;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  /** Network namespace path, or '' when the pod uses the host network. */
  netnsPath: string;
  netnsName: string;
  /** Persistent IPC and UTS namespaces the pod's containers join ('' when host). */
  ipcPath: string;
  utsPath: string;
  /** Pod IPs CNI gave (first is the primary one). */
  ips: string[];
  /** The CNI network this pod was attached to (for DEL with the same config). */
  cniNetwork?: string;
  /** Absolute cgroup parent of the pod's containers. */
  cgroupParent: string;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: DeepPartial<ContainerConfig>;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  /** Absolute log path (sandbox log_directory + log_path), '' when none. */
  logPath: string;
  /** PID of the container's init process, once created. */
  pid: number;
  /** PID of the conmon monitoring it. */
  conmonPid: number;
  /** Signal StopContainer sends first (from the config or the image). */
  stopSignal: string;
  cgroupsPath: string;
}

export class StateStore {
  readonly root: string;
  readonly sandboxesDir: string;
  readonly containersDir: string;

  constructor(root: string) {
    this.root = root;
    this.sandboxesDir = join(root, 'sandboxes');
    this.containersDir = join(root, 'containers');
  }

  sandboxDir(id: string): string { return join(this.sandboxesDir, id); }
  containerDir(id: string): string { return join(this.containersDir, id); }

  async init(): Promise<void> {
    await mkdir(this.sandboxesDir, { recursive: true, mode: 0o700 });
    await mkdir(this.containersDir, { recursive: true, mode: 0o700 });
  }

  async loadSandboxes(): Promise<SandboxRecord[]> {
    return loadAll<SandboxRecord>(this.sandboxesDir, 'sandbox.json');
  }

  async loadContainers(): Promise<ContainerRecord[]> {
    return loadAll<ContainerRecord>(this.containersDir, 'container.json');
  }

  saveSandbox(s: SandboxRecord): Promise<void> {
    return writeJsonAtomic(join(this.sandboxDir(s.id), 'sandbox.json'), s);
  }

  saveContainer(c: ContainerRecord): Promise<void> {
    return writeJsonAtomic(join(this.containerDir(c.id), 'container.json'), c);
  }

  async removeSandbox(id: string): Promise<void> {
    await rm(this.sandboxDir(id), { recursive: true, force: true });
  }

  async removeContainer(id: string): Promise<void> {
    await rm(this.containerDir(id), { recursive: true, force: true });
  }
}

async function loadAll<T>(dir: string, file: string): Promise<T[]> {
  const out: T[] = [];
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, id, file);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      // A directory without its record is one whose creation was cut short; it holds nothing to reload.
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text === undefined) continue;
    try {
      out.push(JSON.parse(text) as T);
    } catch (err) {
      throw new Error(`runtime state ${path} is unreadable: ${(err as Error).message}`);
    }
  }
  return out;
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 1), { mode: 0o600 });
  await rename(tmp, path);
}
