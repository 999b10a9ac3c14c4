// The CRI container log format and reading it as kubelet does for `kubectl logs`:
// each line is `<RFC3339Nano timestamp> <stdout|stderr> <tag> <content>`, where the tag is F for
// a full line and P for a piece of a longer one (the runtime split it; the next lines carry the
// rest up to an F). https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md
import { open, stat, type FileHandle } from 'node:fs/promises';

export interface CriLogEntry {
  /** The timestamp as the runtime wrote it. */
  timestamp: string;
  /** Milliseconds since the epoch, for --since / sinceTime. */
  timeMs: number;
  stream: 'stdout' | 'stderr';
  /** The content without the line's newline. */
  content: Buffer;
  partial: boolean;
}

/** One line of a CRI log file (without its newline); undefined when it is not in the format. */
export function parseCriLogLine(line: Buffer): CriLogEntry | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  // The tag may be followed by more tags after ':'; only the first (P or F) matters. An empty
  // line of output ends right after the tag, with no separating space.
  let s3 = line.indexOf(0x20, s2 + 1);
  if (s3 < 0) s3 = line.length;
  const tag = line.subarray(s2 + 1, s3).toString('latin1').split(':')[0];
  if (tag !== 'P' && tag !== 'F') return undefined;
  const timestamp = line.subarray(0, s1).toString('latin1');
  const timeMs = Date.parse(timestamp);
  if (Number.isNaN(timeMs)) return undefined;
  return { timestamp, timeMs, stream, content: line.subarray(Math.min(s3 + 1, line.length)), partial: tag === 'P' };
}

/** A log line as kubectl shows it: pieces joined, timestamp of the first piece. */
export interface LogLine {
  timestamp: string;
  timeMs: number;
  stream: 'stdout' | 'stderr';
  /** Content with its newline. */
  text: Buffer;
}

/** Joins P pieces (per stream) into whole lines. */
export class LineJoiner {
  #pending = new Map<string, { first: CriLogEntry; parts: Buffer[] }>();

  push(e: CriLogEntry): LogLine | undefined {
    const p = this.#pending.get(e.stream);
    if (e.partial) {
      if (p) p.parts.push(e.content);
      else this.#pending.set(e.stream, { first: e, parts: [e.content] });
      return undefined;
    }
    const first = p?.first ?? e;
    this.#pending.delete(e.stream);
    const text = Buffer.concat([...(p?.parts ?? []), e.content, Buffer.from('\n')]);
    return { timestamp: first.timestamp, timeMs: first.timeMs, stream: e.stream, text };
  }
}

const CHUNK = 64 * 1024;

/**
 * An offset from which reading yields (at least) the last `lines` whole lines of the file, every
 * piece of them included: a line's P pieces may come before lines of the other stream, so the
 * offset can be earlier than the oldest wanted line's F, and the caller keeps only the last
 * `lines` joined lines of what it reads from there. Reads backwards a chunk at a time, so
 * tailing a large file costs about what the tail is.
 */
export async function tailOffset(fh: FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  let seen = 0; // F lines counted, from the end
  let earliest = size; // where the earliest piece of a counted line starts
  const collecting = new Map<string, boolean>(); // stream → its earlier P pieces belong to a counted line
  let end = size;
  let carry = Buffer.alloc(0); // the start of a line cut by the chunk boundary
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const buf = Buffer.alloc(end - start);
    await fh.read(buf, 0, buf.length, start);
    const data = Buffer.concat([buf, carry]);
    // Walk the complete lines of data from the last one back.
    let lineEnd = data.length;
    if (start + data.length === size && data[data.length - 1] !== 0x0a) {
      // An unterminated last line is still being written: it is not a whole line yet.
      lineEnd = data.lastIndexOf(0x0a) + 1;
    }
    while (lineEnd > 0) {
      const nl = lineEnd >= 2 ? data.lastIndexOf(0x0a, lineEnd - 2) : -1;
      if (nl < 0 && start > 0) break; // the line's start is in an earlier chunk
      const lineStart = nl + 1;
      const entry = parseCriLogLine(data.subarray(lineStart, lineEnd - 1));
      if (entry) {
        if (entry.partial) {
          if (collecting.get(entry.stream)) earliest = start + lineStart;
        } else if (seen < lines) {
          seen++;
          collecting.set(entry.stream, true);
          earliest = start + lineStart;
        } else {
          collecting.set(entry.stream, false); // pieces before this F belong to an older line
        }
        if (seen >= lines && ![...collecting.values()].some(Boolean)) return earliest;
      }
      lineEnd = lineStart;
    }
    carry = data.subarray(0, lineEnd);
    end = start;
  }
  return seen < lines ? 0 : earliest;
}

/** Reads complete lines from an offset; keeps the unterminated rest for the next read. */
export class LogFileReader {
  #fh: FileHandle;
  #offset: number;
  #rest = Buffer.alloc(0);

  private constructor(fh: FileHandle, offset: number) {
    this.#fh = fh;
    this.#offset = offset;
  }

  static async open(path: string, opts: { tailLines?: number }): Promise<LogFileReader> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const offset = opts.tailLines !== undefined ? await tailOffset(fh, size, opts.tailLines) : 0;
      return new LogFileReader(fh, offset);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** The entries appended since the last call (whole lines only). */
  async read(): Promise<CriLogEntry[]> {
    const out: CriLogEntry[] = [];
    for (;;) {
      const buf = Buffer.alloc(CHUNK);
      const { bytesRead } = await this.#fh.read(buf, 0, CHUNK, this.#offset);
      if (bytesRead === 0) break;
      this.#offset += bytesRead;
      const data = Buffer.concat([this.#rest, buf.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, start)) {
        const e = parseCriLogLine(data.subarray(start, nl));
        if (e) out.push({ ...e, content: Buffer.from(e.content) });
        start = nl + 1;
      }
      this.#rest = Buffer.from(data.subarray(start));
      if (bytesRead < CHUNK) break;
    }
    return out;
  }

  /** True when the file at path is no longer the one we read (rotated) or was truncated. */
  async replaced(path: string): Promise<boolean> {
    const [mine, now] = await Promise.all([this.#fh.stat(), stat(path).catch(() => undefined)]);
    if (!now) return false;
    return now.ino !== mine.ino || now.size < this.#offset;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}
