// A small tar (POSIX ustar + pax) reader and writer: enough for image layers, `docker save` and
// OCI-layout archives. Format: https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html
// (ustar header, pax extended headers) plus GNU long names ('L'/'K'), which older tools emit.

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeader {
  /** Path inside the archive as written (may start with './'). */
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Target of a hardlink or symlink. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (pax SCHILY.xattr.*), values as raw bytes. */
  xattrs: Record<string, Buffer>;
}

export interface TarEntry extends TarHeader {
  /** The entry's content; consume it before asking for the next entry (or it is skipped). */
  body: AsyncIterable<Buffer>;
}

const BLOCK = 512;
const TYPE_FLAGS: Record<string, TarType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo',
};
const FLAG_OF: Record<TarType, string> = {
  file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6',
};

// ---------------------------------------------------------------- writing

export type TarWriteEntry = Partial<Omit<TarHeader, 'name' | 'xattrs'>> & { name: string; data?: Uint8Array };

/** Serializes entries into a complete archive in memory (for small, generated archives). */
export function writeTar(entries: TarWriteEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    const type = entry.type ?? 'file';
    const size = type === 'file' ? data.length : 0;
    const linkname = entry.linkname ?? '';
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(entry.name) > 100) pax.path = entry.name;
    if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
    if (Object.keys(pax).length > 0) {
      const body = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(''));
      parts.push(header({ name: 'PaxHeader', flag: 'x', size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: entry.mtime ?? 0, linkname: '' }));
      parts.push(body, padding(body.length));
    }
    parts.push(header({
      name: entry.name, flag: FLAG_OF[type], size, mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: entry.uid ?? 0, gid: entry.gid ?? 0, mtime: entry.mtime ?? 0, linkname,
      devmajor: entry.devmajor, devminor: entry.devminor,
    }));
    if (size > 0) parts.push(Buffer.from(data), padding(size));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself, so grow it until it is stable.
  const rest = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rest);
  while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
  return `${len}${rest}`;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

interface RawHeader {
  name: string; flag: string; size: number; mode: number; uid: number; gid: number; mtime: number; linkname: string;
  devmajor?: number; devminor?: number;
}

function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name.slice(0, 100), 0, 100, 'utf8');
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.write(h.flag, 156, 1, 'latin1');
  b.write(h.linkname.slice(0, 100), 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write('root', 265, 32);
  b.write('root', 297, 32);
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, offset: number, length: number, value: number): void {
  b.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'latin1');
}

// ---------------------------------------------------------------- reading

/** Pulls exact byte counts out of a chunked stream. */
class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
  }

  /** Exactly n bytes, or fewer only at end of stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Up to max bytes of whatever is available next (at least one byte unless at end). */
  async readSome(max: number): Promise<Buffer> {
    if (this.buffered === 0) await this.fill(1);
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    if (first.length <= max) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.buffered -= max;
    return first.subarray(0, max);
  }

  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.done) if ((await this.it.next()).done) this.done = true;
  }
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(`malformed tar archive: ${message}`);
    this.name = 'TarFormatError';
  }
}

/**
 * Iterates an archive's entries. The whole source is consumed (trailing bytes after the end
 * marker too), so a hash taken over the source covers all of it.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source);
  let globalPax: Record<string, string> = {};
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await src.read(BLOCK);
    if (block.length === 0) break; // some writers omit the end-of-archive blocks
    if (block.length < BLOCK) throw new TarFormatError('truncated header');
    if (block.every((byte) => byte === 0)) break;
    verifyChecksum(block);
    const flag = String.fromCharCode(block[156]!);
    let size = readNumber(block, 124, 12);
    const paxSize = pax.size ?? globalPax.size;
    if (paxSize !== undefined) size = Number(paxSize);

    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = await src.read(size);
      if (data.length < size) throw new TarFormatError('truncated extended header');
      await src.read((BLOCK - (size % BLOCK)) % BLOCK);
      if (flag === 'x') pax = { ...pax, ...parsePax(data) };
      else if (flag === 'g') globalPax = { ...globalPax, ...parsePax(data) };
      else if (flag === 'L') longName = cString(data, 0, data.length);
      else longLink = cString(data, 0, data.length);
      continue;
    }

    const type = TYPE_FLAGS[flag];
    const fields = { ...globalPax, ...pax };
    let name = cString(block, 0, 100);
    if (block.toString('latin1', 257, 262) === 'ustar') {
      const prefix = cString(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = fields.path ?? longName ?? name;
    const linkname = fields.linkpath ?? longLink ?? cString(block, 157, 100);
    const xattrs: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (key.startsWith('SCHILY.xattr.')) xattrs[key.slice('SCHILY.xattr.'.length)] = Buffer.from(value, 'latin1');
    }
    pax = {};
    longName = longLink = undefined;
    if (type === undefined) {
      // Unknown entry kinds (e.g. GNU sparse, volume labels) carry nothing a rootfs needs.
      await skip(src, size);
      continue;
    }

    let remaining = type === 'file' ? size : 0;
    if (type !== 'file') await skip(src, size);
    const body: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        while (remaining > 0) {
          const chunk = await src.readSome(Math.min(remaining, 1 << 20));
          if (chunk.length === 0) throw new TarFormatError(`truncated content of ${name}`);
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield {
      name, type, linkname, size: type === 'file' ? size : 0, xattrs,
      mode: readNumber(block, 100, 8) & 0o7777,
      uid: fields.uid !== undefined ? Number(fields.uid) : readNumber(block, 108, 8),
      gid: fields.gid !== undefined ? Number(fields.gid) : readNumber(block, 116, 8),
      mtime: fields.mtime !== undefined ? Math.floor(Number(fields.mtime)) : readNumber(block, 136, 12),
      devmajor: readNumber(block, 329, 8),
      devminor: readNumber(block, 337, 8),
      body,
    };
    if (type === 'file') await skip(src, remaining, size);
  }
  await src.drain();
}

/** Skips `left` content bytes and then the padding of an entry of `size` bytes. */
async function skip(src: ByteSource, left: number, size = left): Promise<void> {
  left += (BLOCK - (size % BLOCK)) % BLOCK;
  while (left > 0) {
    const chunk = await src.readSome(Math.min(left, 1 << 20));
    if (chunk.length === 0) throw new TarFormatError('truncated entry');
    left -= chunk.length;
  }
}

function verifyChecksum(block: Buffer): void {
  const stored = readNumber(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (sum !== stored) throw new TarFormatError(`header checksum ${stored} does not match ${sum}`);
}

function cString(b: Buffer, offset: number, length: number): string {
  const end = b.indexOf(0, offset);
  return b.toString('utf8', offset, end >= 0 && end < offset + length ? end : offset + length);
}

/** Octal (NUL/space terminated) or GNU base-256 (high bit set) numbers. */
function readNumber(b: Buffer, offset: number, length: number): number {
  if (b[offset]! & 0x80) {
    let value = b[offset]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + b[offset + i]!;
    return value;
  }
  const text = b.toString('latin1', offset, offset + length).replace(/[\0 ].*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.toString('latin1', pos, space), 10);
    if (!(len > 0)) throw new TarFormatError('bad pax record length');
    const record = data.subarray(space + 1, pos + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    const key = record.toString('utf8', 0, eq);
    // xattr values are binary; keep their bytes (latin1 round-trips them).
    out[key] = record.toString(key.startsWith('SCHILY.xattr.') ? 'latin1' : 'utf8', eq + 1);
    pos += len;
  }
  return out;
}
