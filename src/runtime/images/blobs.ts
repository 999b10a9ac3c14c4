// Content-addressed blobs under <dir>/sha256/<hex>, as in an OCI image layout. Every write is
// hashed and checked against the digest it claims before it becomes visible (rename into place),
// so a blob's name always says what is in it.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export class DigestMismatchError extends Error {
  constructor(what: string, expected: string, actual: string) {
    super(`digest mismatch for ${what}: expected ${expected}, content hashes to ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hexOf(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new Error(`unsupported digest "${digest}" (only sha256:<64 hex> is supported)`);
  return m[1]!;
}

export class BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  path(digest: string): string {
    return join(this.dir, 'sha256', hexOf(digest));
  }

  async has(digest: string): Promise<boolean> {
    return (await stat(this.path(digest)).catch(() => undefined))?.isFile() ?? false;
  }

  async size(digest: string): Promise<number> {
    return (await stat(this.path(digest))).size;
  }

  async read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.read(digest)).toString('utf8')) as T;
  }

  stream(digest: string): Readable {
    return createReadStream(this.path(digest));
  }

  /** Stores bytes; when expected is given they must hash to it. Returns the digest. */
  async put(data: Uint8Array, expected?: string): Promise<string> {
    const actual = sha256Digest(data);
    if (expected !== undefined && expected !== actual) throw new DigestMismatchError('blob', expected, actual);
    if (await this.has(actual)) return actual;
    const tmp = await this.tempPath();
    await writeFile(tmp, data);
    await rename(tmp, this.path(actual));
    return actual;
  }

  /** Streams content into the store, verifying it hashes to expected (and has expectedSize if given). */
  async putStream(source: Readable | AsyncIterable<Uint8Array>, expected: string, what: string, expectedSize?: number): Promise<void> {
    hexOf(expected);
    const tmp = await this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, tap, createWriteStream(tmp));
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== expected) throw new DigestMismatchError(what, expected, actual);
      if (expectedSize !== undefined && expectedSize !== size) {
        throw new Error(`size mismatch for ${what}: descriptor says ${expectedSize} bytes, got ${size}`);
      }
      await rename(tmp, this.path(expected));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Moves a file (on the same filesystem) into the store, verifying expected if given. Returns the digest. */
  async putFile(file: string, expected?: string, what = file): Promise<string> {
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) hash.update(chunk);
    });
    const actual = `sha256:${hash.digest('hex')}`;
    if (expected !== undefined && expected !== actual) throw new DigestMismatchError(what, expected, actual);
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    if (await this.has(actual)) await rm(file, { force: true });
    else await rename(file, this.path(actual));
    return actual;
  }

  async delete(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'sha256')).catch(() => [] as string[]);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  private async tempPath(): Promise<string> {
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
    return join(this.dir, 'tmp', randomBytes(8).toString('hex'));
  }
}
