// tmpfs mounts of memory-backed volumes (emptyDir medium Memory, secret, projected), found
// again after an agent restart through /proc/self/mountinfo.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Every mount point of this mount namespace. */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => unescapeMountPath(line.split(' ')[4]));
}

/**
 * Whether a filesystem other than its parent's is mounted on dir (another device): what a tmpfs
 * volume is. Two stat calls, where reading mountinfo costs the kernel time in proportion to the
 * host's mounts, on every pod's volume setup.
 */
export function isMountPoint(dir: string): boolean {
  const self = statSync(dir, { throwIfNoEntry: false });
  const parent = statSync(dirname(dir), { throwIfNoEntry: false });
  return !!self && !!parent && self.dev !== parent.dev;
}

/** Mounts a tmpfs on dir unless one is there already; size in bytes (undefined: the kernel's default, half the RAM). */
export async function ensureTmpfs(dir: string, opts: { sizeBytes?: number; mode?: number } = {}): Promise<void> {
  if (isMountPoint(dir)) return;
  // Without mode=, a tmpfs root is 1777 (drwxrwxrwt), which is what kubelet's volumes show.
  const options = opts.mode === undefined ? [] : [`mode=${opts.mode.toString(8)}`];
  if (opts.sizeBytes !== undefined && opts.sizeBytes > 0) options.push(`size=${Math.ceil(opts.sizeBytes)}`);
  // The source name shows in `mount` and `df`: skiff's own, so `skiff down` can find what is left.
  await runMount('mount', ['-t', 'tmpfs', ...(options.length ? ['-o', options.join(',')] : []), 'skiff-tmpfs', dir]);
}

/** Unmounts every mount point under dir (deepest first), dir itself included. */
export async function unmountUnder(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const under = mountPoints().filter((m) => m === dir || m.startsWith(prefix)).sort((a, b) => b.length - a.length);
  for (const m of [...new Set(under)]) await runMount('umount', [m]);
}

async function runMount(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}
