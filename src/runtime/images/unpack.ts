// Unpacks one image layer into its own directory, ready to be an overlayfs lowerdir: files keep
// their modes, owners, mtimes and links, and OCI whiteouts become overlayfs whiteouts.
// https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
// https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { DigestMismatchError } from './blobs.ts';
import { readTar, type TarEntry } from './tar.ts';

const run = promisify(execFile);

/** Opens a layer blob decompressed, whatever its compression (told by its magic bytes, not its media type). */
export async function openLayer(file: string): Promise<Readable> {
  const handle = await open(file, 'r');
  const magic = Buffer.alloc(4);
  try {
    await handle.read(magic, 0, 4, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(createGunzip());
  if (magic.readUInt32LE(0) === 0xfd2fb528) return raw.pipe(createZstdDecompress());
  return raw;
}

/** Turns an archive path into a clean relative path ('' for the root); rejects escapes. */
export function cleanEntryPath(name: string): string {
  const clean = posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
  if (clean.split('/').includes('..')) throw new Error(`layer entry "${name}" points outside the layer`);
  return clean;
}

interface DirMeta {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/**
 * Extracts the layer blob at file into dir (which must not exist yet, or be empty) and returns the
 * layer's diff id (sha256 of the uncompressed tar); throws if it differs from expectedDiffId.
 */
export async function unpackLayer(file: string, dir: string, expectedDiffId?: string): Promise<string> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const source = (await openLayer(file)).pipe(tap);
  await mkdir(dir, { recursive: true });
  const dirs: DirMeta[] = [];
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const specials: { entry: TarEntry; path: string }[] = [];
  const xattrs: { path: string; name: string; value: Buffer }[] = [];

  for await (const entry of readTar(source)) {
    const rel = cleanEntryPath(entry.name);
    if (rel === '') {
      dirs.push({ path: dir, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime });
      continue;
    }
    const parent = await ensureParent(dir, posix.dirname(rel));
    const base = posix.basename(rel);
    if (base === '.wh..wh..opq') {
      opaque.push(parent);
      continue;
    }
    if (base.startsWith('.wh.')) {
      whiteouts.push(join(parent, base.slice(4)));
      continue;
    }
    const target = join(parent, base);
    const existing = await lstat(target).catch(() => undefined);
    if (existing && !(existing.isDirectory() && entry.type === 'directory')) await rm(target, { recursive: true, force: true });
    for (const [name, value] of Object.entries(entry.xattrs)) xattrs.push({ path: target, name, value });

    switch (entry.type) {
      case 'directory':
        if (!existing?.isDirectory()) await mkdir(target);
        dirs.push({ path: target, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime });
        break;
      case 'file':
        await pipeline(entry.body, createWriteStream(target, { mode: 0o600 }));
        await setMeta(target, entry);
        break;
      case 'symlink':
        await symlink(entry.linkname, target);
        await lchown(target, entry.uid, entry.gid);
        await lutimes(target, entry.mtime, entry.mtime);
        break;
      case 'link': {
        // Hardlink targets are archive paths inside this same layer.
        const source = join(dir, cleanEntryPath(entry.linkname));
        await link(source, target).catch((err: Error) => {
          throw new Error(`layer hardlink ${entry.name} -> ${entry.linkname}: ${err.message}`);
        });
        break;
      }
      case 'char':
      case 'block':
      case 'fifo':
        specials.push({ entry, path: target });
        break;
    }
  }

  // Node has no mknod/setxattr; coreutils' mknod and attr's setfattr do it.
  for (const path of whiteouts) {
    await rm(path, { recursive: true, force: true });
    await runTool('mknod', ['-m', '000', path, 'c', '0', '0']);
  }
  for (const { entry, path } of specials) {
    const kind = entry.type === 'fifo' ? ['p'] : [entry.type === 'char' ? 'c' : 'b', String(entry.devmajor), String(entry.devminor)];
    await runTool('mknod', [path, ...kind]);
    await setMeta(path, entry);
  }
  if (opaque.length > 0) await runTool('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', ...opaque]);
  for (const { path, name, value } of xattrs) {
    await runTool('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, path]);
  }
  // Directories last (deepest first): creating their children changed their mtimes.
  dirs.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) {
    await lchown(d.path, d.uid, d.gid);
    await chmod(d.path, d.mode);
    await utimes(d.path, d.mtime, d.mtime);
  }

  const diffId = `sha256:${hash.digest('hex')}`;
  if (expectedDiffId !== undefined && diffId !== expectedDiffId) throw new DigestMismatchError(`layer ${file} (diff id)`, expectedDiffId, diffId);
  return diffId;
}

async function setMeta(path: string, h: { uid: number; gid: number; mode: number; mtime: number }): Promise<void> {
  await lchown(path, h.uid, h.gid);
  await chmod(path, h.mode); // after chown, which clears setuid/setgid bits
  await lutimes(path, h.mtime, h.mtime);
}

/** Makes rel's directories exist under root, refusing to pass through a symlink (it could lead off the layer). */
async function ensureParent(root: string, rel: string): Promise<string> {
  let current = root;
  if (rel === '.' || rel === '') return current;
  for (const part of rel.split('/')) {
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st) await mkdir(current, { mode: 0o755 });
    else if (st.isSymbolicLink()) throw new Error(`layer entry below "${rel}" goes through a symlink; refusing to follow it`);
    else if (!st.isDirectory()) throw new Error(`layer entry below "${rel}": "${part}" is not a directory`);
  }
  return current;
}

async function runTool(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}
