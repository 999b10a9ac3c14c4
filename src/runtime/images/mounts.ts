// overlayfs mounts of container root filesystems: the image's unpacked layers as lowerdirs,
// a per-container upperdir/workdir. https://docs.kernel.org/filesystems/overlayfs.html
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CommandError } from '../command.ts';
import { hostRun } from '../spawner.ts';

/**
 * Whether a filesystem other than its parent directory's is mounted at path (another device).
 * Enough for an overlay rootfs, always a filesystem of its own, and two stat calls instead of
 * mountinfo, whose read costs the kernel time in proportion to the host's mounts (about 2 ms at
 * 800, several times per pod).
 */
export async function isOwnFilesystem(path: string): Promise<boolean> {
  const [self, parent] = await Promise.all([stat(path).catch(() => undefined), stat(dirname(resolve(path))).catch(() => undefined)]);
  return !!self && !!parent && self.dev !== parent.dev;
}

export interface OverlaySpec {
  /** Lowerdir names relative to layersDir, topmost first (overlayfs order). */
  lower: string[];
  layersDir: string;
  upper: string;
  work: string;
  target: string;
}

/**
 * Mounts an overlay. Lowerdirs are passed relative to layersDir (mount runs there), as containerd
 * does, so many layers still fit in the one page the kernel allows for mount options.
 */
export async function mountOverlay(spec: OverlaySpec): Promise<void> {
  const options = `lowerdir=${spec.lower.join(':')},upperdir=${resolve(spec.upper)},workdir=${resolve(spec.work)}`;
  if (options.length >= 4096) throw new Error(`overlay mount options for ${spec.target} exceed a page (${spec.lower.length} layers)`);
  try {
    // mount runs in layersDir (sh -c cd): the lowerdirs are relative to it.
    await hostRun('/bin/sh', ['-c', 'cd "$1" && exec mount -t overlay overlay -o "$2" "$3"', 'skiff-mount', spec.layersDir, options, resolve(spec.target)]);
  } catch (err) {
    throw new Error(`mounting the overlay rootfs at ${spec.target} failed: ${said(err)}`);
  }
}

export async function unmount(target: string): Promise<void> {
  try {
    await hostRun('umount', [resolve(target)]);
  } catch (err) {
    throw new Error(`unmounting ${target} failed: ${said(err)}`);
  }
}

function said(err: unknown): string {
  return (err instanceof CommandError && err.result.stderr.toString().trim()) || (err as Error).message;
}
