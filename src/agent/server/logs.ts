// Streams a container's log to an HTTP response as kubelet's /containerLogs does: tailLines,
// sinceTime/sinceSeconds, timestamps, limitBytes, and follow (keep reading as the container
// writes, until it stops or the client goes away).
// https://kubernetes.io/docs/reference/generated/kubernetes-api/v1.32/#read-log-pod-v1-core
import { watch, type FSWatcher } from 'node:fs';
import type { Writable } from 'node:stream';
import { LineJoiner, LogFileReader, type LogLine } from './cri-log.ts';

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  /** Only lines at or after this time (sinceSeconds is turned into this). */
  sinceMs?: number;
  timestamps: boolean;
  limitBytes?: number;
}

export interface LogSource {
  path: string;
  /** Whether the container still runs (follow ends once it does not and the file is drained). */
  isRunning(): Promise<boolean>;
}

/** How often follow re-checks the file when no change notification came, and the container's state. */
const POLL_MS = 250;
const RUNNING_CHECK_MS = 1000;

/** Parses kubelet's /containerLogs query (the API server passed on PodLogOptions). */
export function logOptionsFrom(q: URLSearchParams, now = Date.now()): LogOptions {
  const bool = (name: string) => q.get(name) === 'true' || q.get(name) === '1';
  const int = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new LogOptionError(`invalid value for ${name}: ${v}`);
    return n;
  };
  const tailLines = int('tailLines');
  if (tailLines !== undefined && tailLines < 0) throw new LogOptionError('tailLines: Invalid value: must be greater than or equal to 0');
  const limitBytes = int('limitBytes');
  if (limitBytes !== undefined && limitBytes < 1) throw new LogOptionError('limitBytes: Invalid value: must be greater than 0');
  const sinceSeconds = int('sinceSeconds');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) throw new LogOptionError('at most one of `sinceTime` or `sinceSeconds` may be specified');
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) {
    if (sinceSeconds < 1) throw new LogOptionError('sinceSeconds: Invalid value: must be greater than 0');
    sinceMs = now - sinceSeconds * 1000;
  } else if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new LogOptionError(`sinceTime: Invalid value: "${sinceTime}": must be RFC 3339`);
  }
  return { follow: bool('follow'), tailLines, sinceMs, timestamps: bool('timestamps'), limitBytes };
}

export class LogOptionError extends Error {}

/**
 * Writes the log to out; resolves when done (not following, the followed container stopped, the
 * limit was reached, or signal aborted). Does not end `out`.
 */
export async function streamLog(source: LogSource, opts: LogOptions, out: Writable, signal: AbortSignal): Promise<void> {
  let reader = await LogFileReader.open(source.path, { tailLines: opts.tailLines });
  const joiner = new LineJoiner();
  let remaining = opts.limitBytes ?? Infinity;

  // Writes a batch; false once the byte limit is used up or the client left.
  const emit = async (lines: LogLine[]): Promise<boolean> => {
    for (const l of lines) {
      if (opts.sinceMs !== undefined && l.timeMs < opts.sinceMs) continue;
      let chunk = opts.timestamps ? Buffer.concat([Buffer.from(`${l.timestamp} `), l.text]) : l.text;
      if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
      remaining -= chunk.length;
      if (!out.write(chunk)) await drained(out, signal);
      if (remaining <= 0 || signal.aborted || out.destroyed) return false;
    }
    return true;
  };
  let first = true;
  const readAll = async (): Promise<boolean> => {
    let lines: LogLine[] = [];
    for (const e of await reader.read()) {
      const l = joiner.push(e);
      if (l) lines.push(l);
    }
    if (first && opts.tailLines !== undefined) {
      // The tail offset may start a little early (see tailOffset): keep the last tailLines.
      lines = opts.tailLines > 0 ? lines.slice(-opts.tailLines) : [];
    }
    first = false;
    return emit(lines);
  };

  let watcher: FSWatcher | undefined;
  try {
    if (!(await readAll()) || !opts.follow) return;
    let wake: (() => void) | undefined;
    const onChange = () => wake?.();
    watcher = watch(source.path, { persistent: false }, onChange);
    watcher.on('error', onChange); // the file went away (rotation): the poll below notices
    signal.addEventListener('abort', onChange, { once: true });
    let lastRunningCheck = Date.now();
    for (;;) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (signal.aborted || out.destroyed) return;
      if (!(await readAll())) return;
      if (await reader.replaced(source.path)) {
        // The file was rotated or truncated: read the rest of the old one, then follow the new.
        await reader.close();
        reader = await LogFileReader.open(source.path, {});
        watcher.close();
        watcher = watch(source.path, { persistent: false }, onChange);
        watcher.on('error', onChange);
        if (!(await readAll())) return;
      }
      if (Date.now() - lastRunningCheck >= RUNNING_CHECK_MS) {
        lastRunningCheck = Date.now();
        if (!(await source.isRunning())) {
          await readAll(); // what it wrote while exiting
          return;
        }
      }
    }
  } finally {
    watcher?.close();
    await reader.close();
  }
}

function drained(out: Writable, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
