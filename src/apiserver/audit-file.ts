// A size-rotated log file with the behaviour kube-apiserver gets from lumberjack
// (gopkg.in/natefinch/lumberjack.v2, used for --audit-log-path with --audit-log-maxsize/-maxbackup/-maxage/-compress):
// - the current file keeps the configured name; when a write would take it past maxSize bytes it is renamed
//   to `<name>-<UTC time as 2006-01-02T15-04-05.000><ext>` and a fresh file is opened under the original name;
// - an existing file is appended to at start, unless it is already full, in which case it is rotated first;
// - after a rotation (and at start) backups beyond maxBackups (newest kept) or older than maxAge days, going by
//   the time in their names, are deleted, and with compress the rest are gzipped; 0 disables each limit.
// Docs: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#log-backend
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { basename, dirname, extname, join } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;
const BACKUP_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

export interface RotatingFileOptions {
  path: string;
  /** Bytes; 0 = never rotate (kube-apiserver then opens the file plainly, without lumberjack). */
  maxSize: number;
  maxBackups: number;
  maxAgeDays: number;
  compress: boolean;
}

export class RotatingFile {
  readonly #opts: RotatingFileOptions;
  #file: FileHandle | undefined;
  #size = 0;
  #lastBackupMs = 0;

  /** Creates the directory (0700) and the file (0600) right away, as kube-apiserver does at start, so a bad path fails early. */
  constructor(opts: RotatingFileOptions) {
    this.#opts = opts;
    mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    closeSync(openSync(opts.path, 'a', 0o600));
  }

  /**
   * Appends whole records (each one line), rotating between records so no record is split across files.
   * A record larger than maxSize on its own is written alone into a fresh file: lumberjack would
   * refuse it, and losing an audit event is worse than an oversized file.
   */
  async write(records: Buffer[]): Promise<void> {
    if (records.length === 0) return;
    if (!this.#file) await this.#openExistingOrNew(records[0]!.length);
    const max = this.#opts.maxSize;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const record of records) {
      const pending = this.#size + chunkBytes;
      if (max > 0 && pending > 0 && pending + record.length > max) {
        await this.#append(chunk);
        chunk = [];
        chunkBytes = 0;
        await this.#rotate();
      }
      chunk.push(record);
      chunkBytes += record.length;
    }
    await this.#append(chunk);
  }

  async close(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
  }

  async #append(chunk: Buffer[]): Promise<void> {
    if (chunk.length === 0) return;
    const data = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk);
    await this.#file!.write(data);
    this.#size += data.length;
  }

  async #openExistingOrNew(firstWrite: number): Promise<void> {
    await this.#mill();
    const { path, maxSize } = this.#opts;
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!info) return this.#openNew();
    if (maxSize > 0 && info.size + firstWrite >= maxSize) return this.#rotate();
    this.#file = await open(path, 'a', 0o600);
    this.#size = info.size;
  }

  async #rotate(): Promise<void> {
    await this.close();
    await this.#openNew();
    await this.#mill();
  }

  /** Moves the current file aside (if any) and opens an empty one with the same mode. */
  async #openNew(): Promise<void> {
    const { path } = this.#opts;
    let mode = 0o600;
    try {
      const info = await stat(path);
      mode = info.mode & 0o777;
      await rename(path, this.#backupPath());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.#file = await open(path, 'w', mode);
    this.#size = 0;
  }

  /**
   * `<name>-<timestamp><ext>`. lumberjack would overwrite a backup made in the same millisecond (possible
   * with a tiny maxSize); we step the timestamp forward by a millisecond instead, so nothing is lost.
   */
  #backupPath(): string {
    const { prefix, ext } = this.#nameParts();
    const ms = Math.max(Date.now(), this.#lastBackupMs + 1);
    this.#lastBackupMs = ms;
    const stamp = new Date(ms).toISOString().slice(0, 23).replaceAll(':', '-');
    return join(dirname(this.#opts.path), `${prefix}${stamp}${ext}`);
  }

  #nameParts(): { prefix: string; ext: string } {
    const name = basename(this.#opts.path);
    const ext = extname(name);
    return { prefix: `${name.slice(0, name.length - ext.length)}-`, ext };
  }

  /** Deletes backups beyond maxBackups or older than maxAgeDays, then gzips the rest if asked to. */
  async #mill(): Promise<void> {
    const { maxBackups, maxAgeDays, compress } = this.#opts;
    if (maxBackups === 0 && maxAgeDays === 0 && !compress) return;
    let backups = await this.#backups();
    const remove: string[] = [];
    if (maxBackups > 0 && maxBackups < backups.length) {
      // A backup and its .gz count as one, as in lumberjack.
      const kept = new Set<string>();
      const remaining: Backup[] = [];
      for (const b of backups) {
        kept.add(b.name.replace(/\.gz$/, ''));
        if (kept.size > maxBackups) remove.push(b.name);
        else remaining.push(b);
      }
      backups = remaining;
    }
    if (maxAgeDays > 0) {
      const cutoff = Date.now() - maxAgeDays * DAY_MS;
      for (const b of backups) if (b.time < cutoff) remove.push(b.name);
      backups = backups.filter((b) => b.time >= cutoff);
    }
    const dir = dirname(this.#opts.path);
    for (const name of remove) await unlink(join(dir, name));
    if (compress) {
      for (const b of backups) if (!b.name.endsWith('.gz')) await gzipFile(join(dir, b.name));
    }
  }

  /** Backups in the log's directory, newest first by the time in their names. */
  async #backups(): Promise<Backup[]> {
    const { prefix, ext } = this.#nameParts();
    const found: Backup[] = [];
    for (const entry of await readdir(dirname(this.#opts.path), { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
      for (const suffix of [ext, `${ext}.gz`]) {
        if (!entry.name.endsWith(suffix)) continue;
        const time = parseBackupTime(entry.name.slice(prefix.length, entry.name.length - suffix.length));
        if (time !== undefined) {
          found.push({ name: entry.name, time });
          break;
        }
      }
    }
    return found.sort((a, b) => b.time - a.time);
  }
}

interface Backup {
  name: string;
  time: number;
}

function parseBackupTime(stamp: string): number | undefined {
  const m = BACKUP_TIME.exec(stamp);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

async function gzipFile(path: string): Promise<void> {
  const { mode } = await stat(path);
  await pipeline(createReadStream(path), createGzip(), createWriteStream(`${path}.gz`, { mode: mode & 0o777 }));
  await unlink(path);
}
