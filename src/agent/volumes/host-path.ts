// hostPath volumes (and PersistentVolumes backed by a host path): the type checks kubelet
// makes before mounting. https://kubernetes.io/docs/concepts/storage/volumes/#hostpath
import { mkdir, open, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';

async function statOf(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Checks (or creates, for the *OrCreate types) what is at path; throws kubelet's message. */
export async function checkHostPathType(path: string, type: string | undefined): Promise<void> {
  if (!type) return; // "": no checks
  const st = await statOf(path);
  const fail = (what: string) => new Error(`hostPath type check failed: ${path} is not ${what}`);
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        return;
      }
      if (!st.isDirectory()) throw fail('a directory');
      return;
    case 'Directory':
      if (!st?.isDirectory()) throw fail('a directory');
      return;
    case 'FileOrCreate':
      if (!st) {
        // The parent must exist, as in Kubernetes; the file is made empty with mode 0644.
        const fh = await open(path, 'a', 0o644);
        await fh.close();
        return;
      }
      if (!st.isFile()) throw fail('a file');
      return;
    case 'File':
      if (!st?.isFile()) throw fail('a file');
      return;
    case 'Socket':
      if (!st?.isSocket()) throw fail('a socket file');
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw fail('a character device');
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw fail('a block device');
      return;
    default:
      throw new Error(`${type} is an invalid volume type`);
  }
}
