// Writes a volume's files so that a reader never sees a half-updated set, the way kubelet's
// AtomicWriter does for configMap, secret, downwardAPI and projected volumes:
//   <dir>/..2024_05_01_10_20_30.123456/<files>   a fresh timestamped directory per change
//   <dir>/..data -> ..2024_05_01_10_20_30.123456 swapped atomically (symlink ..data_tmp, rename)
//   <dir>/<key>  -> ..data/<key>                 the names the user sees
// so an update reaches mounted files without a remount (except through subPath mounts, which
// bind one file). https://kubernetes.io/docs/concepts/configuration/configmap/#mounted-configmaps-are-updated-automatically
import { chmod, chown, lchown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface FileProjection {
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** Owner of the file (kubelet's fsUser, for service account tokens); default root. */
  uid?: number;
}

/** Path (relative, '/'-separated, maybe nested) → content. */
export type Payload = Map<string, FileProjection>;

const DATA_DIR = '..data';
const DATA_DIR_TMP = '..data_tmp';

export interface WriteOptions {
  /** pod.spec.securityContext.fsGroup: files get this group and group-read (read-only volumes), as kubelet's SetVolumeOwnership does. */
  fsGroup?: number;
}

/** Checks a payload path the way kubelet does: relative, no '..' element, not starting with '..'. */
export function validatePayloadPath(p: string): string | undefined {
  if (p === '') return 'invalid path: must not be empty';
  if (p.length > 4096) return `invalid path: must be less than or equal to 4096 characters`;
  if (p.startsWith('/')) return `invalid path: must be relative path: ${p}`;
  const parts = p.split('/');
  if (parts.some((x) => x === '..')) return `invalid path: must not contain '..': ${p}`;
  if (p.startsWith('..')) return `invalid path: must not start with '..': ${p}`;
  if (parts.some((x) => x.length > 255)) return `invalid path: each element must be less than or equal to 255 characters`;
  return undefined;
}

function cleanPath(p: string): string {
  return p.split('/').filter((x) => x !== '' && x !== '.').join('/');
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Relative paths of the regular files under dir. */
async function filesUnder(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...await filesUnder(dir, rel));
    else out.push(rel);
  }
  return out;
}

function timestampPrefix(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

/**
 * Makes dir hold exactly the payload. Does nothing (beyond restoring missing user-visible links)
 * when the content is already there; returns whether a new version was written.
 */
export async function writeAtomically(dir: string, input: Payload, opts: WriteOptions = {}): Promise<boolean> {
  const payload: Payload = new Map();
  for (const [p, f] of input) {
    const problem = validatePayloadPath(p);
    if (problem) throw new Error(problem);
    payload.set(cleanPath(p), f);
  }
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const dataLink = join(dir, DATA_DIR);
  let oldTsName: string | undefined;
  try {
    oldTsName = await readlink(dataLink);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const oldFiles = oldTsName ? await filesUnder(join(dir, oldTsName)).catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // ..data points nowhere: rewrite
    throw e;
  }) : undefined;

  let changed = oldFiles === undefined || oldFiles.length !== payload.size || oldFiles.some((f) => !payload.has(f));
  if (!changed) {
    for (const [p, f] of payload) {
      const current = await readFile(join(dir, oldTsName!, p));
      if (!current.equals(f.data)) {
        changed = true;
        break;
      }
    }
  }

  if (changed) {
    const tsDir = await mkdtemp(join(dir, timestampPrefix()));
    await chmod(tsDir, 0o755);
    for (const [p, f] of payload) {
      const file = join(tsDir, p);
      await mkdir(dirname(file), { recursive: true, mode: 0o755 });
      await writeFile(file, f.data, { mode: f.mode });
      await chmod(file, f.mode); // not subject to the umask
      if (f.uid !== undefined) await chown(file, f.uid, opts.fsGroup ?? 0);
    }
    if (opts.fsGroup !== undefined) await applyFsGroup(tsDir, opts.fsGroup);
    const tmpLink = join(dir, DATA_DIR_TMP);
    await rm(tmpLink, { force: true });
    await symlink(tsDir.slice(dir.length + 1), tmpLink);
    await rename(tmpLink, dataLink);
  }

  // The user-visible names: one link per top-level element of the payload.
  const topLevel = new Set([...payload.keys()].map((p) => p.split('/')[0]));
  for (const name of topLevel) {
    if (!(await exists(join(dir, name)))) await symlink(join(DATA_DIR, name), join(dir, name));
  }
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('..') || topLevel.has(entry)) continue;
    await unlink(join(dir, entry)); // a key that is gone: its link (the data went with the old version)
  }
  if (changed && oldTsName && oldTsName !== DATA_DIR && !oldTsName.includes('/')) {
    await rm(join(dir, oldTsName), { recursive: true, force: true });
  }
  return changed;
}

/**
 * kubelet's SetVolumeOwnership for read-only volumes: group fsGroup everywhere, files get
 * group read (0440 added), directories set-gid and group read/execute.
 */
async function applyFsGroup(dir: string, gid: number): Promise<void> {
  const st = await lstat(dir);
  await lchown(dir, st.uid, gid);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    await chmod(dir, (st.mode & 0o7777) | 0o2550);
    for (const entry of await readdir(dir)) await applyFsGroup(join(dir, entry), gid);
  } else {
    await chmod(dir, (st.mode & 0o7777) | 0o440);
  }
}
