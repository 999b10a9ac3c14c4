// The server side of an exec or attach WebSocket, as kubelet's remotecommand package serves it:
// channel 0 stdin, 1 stdout, 2 stderr, 3 the final status, 4 terminal resizes; v5 lets the
// client close stdin with [255, 0]. v4+ put a metav1.Status on channel 3 (Success, or Failure
// with reason NonZeroExitCode and the code as an ExitCode cause); older ones only a message.
import { PassThrough, Writable, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Status } from 'kubernetes-types/meta/v1.d.ts';
import WebSocket from 'ws';
import {
  CHANNEL, CLOSE_CHANNEL, decodeFrame, encodeFrame, isBase64Protocol, protocolVersion, type TerminalSize,
} from '../../cri/streaming-client.ts';

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** What an exec or attach implementation gets: streams for the channels the request asked for. */
export interface StreamIO {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  tty: boolean;
  /** Called with each resize the client sends (tty only). */
  onResize(fn: (size: TerminalSize) => void): void;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** An exec whose command exited non-zero; any other error becomes an InternalError status. */
export class ExitCodeError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`command terminated with non-zero exit code: exit status ${exitCode}`);
    this.name = 'ExitCodeError';
    this.exitCode = exitCode;
  }
}

function channelWriter(ws: WebSocket, channel: number, base64: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      // A client that left gets nothing more; the signal stops the process feeding us.
      if (ws.readyState !== WebSocket.OPEN) return cb();
      ws.send(encodeFrame(channel, chunk, base64), () => cb());
    },
  });
}

export function statusFor(err: unknown): Status {
  if (err === undefined) return { metadata: {}, status: 'Success' };
  if (err instanceof ExitCodeError) {
    return {
      metadata: {}, status: 'Failure', message: err.message, reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(err.exitCode) }] },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError',
    details: { causes: [{ message }] }, code: 500,
  };
}

/** Runs fn with the connection's streams, then sends the status and closes the WebSocket. */
export async function serveRemoteCommand(
  ws: WebSocket, opts: StreamOptions, fn: (io: StreamIO) => Promise<void>, log: (line: string) => void,
): Promise<void> {
  const base64 = isBase64Protocol(ws.protocol);
  const version = protocolVersion(ws.protocol);
  const abort = new AbortController();
  const stdin = opts.stdin ? new PassThrough() : null;
  const stdout = opts.stdout ? channelWriter(ws, CHANNEL.stdout, base64) : null;
  const stderr = opts.stderr ? channelWriter(ws, CHANNEL.stderr, base64) : null;
  const resizers: Array<(size: TerminalSize) => void> = [];

  ws.on('message', (raw) => {
    const frame = decodeFrame(raw, base64);
    if (!frame) return;
    if (frame.channel === CHANNEL.stdin && stdin && !stdin.writableEnded) stdin.write(frame.data);
    else if (frame.channel === CHANNEL.resize && opts.tty) {
      let size: TerminalSize;
      try {
        size = JSON.parse(frame.data.toString()) as TerminalSize;
      } catch (err) {
        log(`streaming: ignoring an unreadable resize message: ${(err as Error).message}`);
        return;
      }
      for (const fn of resizers) fn(size);
    } else if (frame.channel === CLOSE_CHANNEL && version >= 5 && frame.data[0] === CHANNEL.stdin) stdin?.end();
  });
  ws.on('error', (err) => log(`streaming: connection error: ${err.message}`));
  ws.once('close', () => { abort.abort(new Error('the streaming client disconnected')); stdin?.end(); });

  // An empty frame on the lowest writable channel tells the client the streams are ready.
  ws.send(encodeFrame(opts.stdout ? CHANNEL.stdout : opts.stderr ? CHANNEL.stderr : CHANNEL.error, Buffer.alloc(0), base64));

  let failure: unknown;
  try {
    await fn({ stdin, stdout, stderr, tty: opts.tty, onResize: (f) => resizers.push(f), signal: abort.signal });
  } catch (err) {
    failure = err;
  }
  // Everything the process wrote goes out before the status.
  for (const w of [stdout, stderr]) {
    if (!w) continue;
    if (!w.writableEnded) w.end();
    await finished(w).catch(() => undefined);
  }
  if (ws.readyState !== WebSocket.OPEN) return;
  const status = statusFor(failure);
  if (version >= 4) ws.send(encodeFrame(CHANNEL.error, Buffer.from(JSON.stringify(status)), base64));
  else if (failure !== undefined) ws.send(encodeFrame(CHANNEL.error, Buffer.from(status.message ?? ''), base64));
  ws.close(1000);
}
