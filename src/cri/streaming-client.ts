// A client for the URLs that CRI Exec, Attach and PortForward hand back: the WebSocket channel
// protocols of the kubelet streaming library (k8s.io/kubelet/pkg/cri/streaming), so the same
// code drives Skiff's runtime and containerd's CRI plugin. The wire helpers at the top are
// shared with Skiff's streaming server (src/runtime/streaming/).
// https://github.com/kubernetes/enhancements/tree/master/keps/sig-api-machinery/4006-transition-spdy-to-websockets
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Status } from 'kubernetes-types/meta/v1.d.ts';
import WebSocket from 'ws';

/** Remote command (exec/attach) subprotocols, newest first. */
export const REMOTE_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io', 'v5.base64.channel.k8s.io',
  'v4.channel.k8s.io', 'v4.base64.channel.k8s.io',
  'channel.k8s.io', 'base64.channel.k8s.io',
] as const;

/** Port-forward subprotocols over WebSocket ('' = none offered: binary). */
export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'] as const;

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
/** v5: a frame [255, n] closes channel n (the client's way to send EOF on stdin). */
export const CLOSE_CHANNEL = 255;

export interface TerminalSize { Width: number; Height: number }

export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes('base64.');
}

/** v4 and v5 carry a metav1.Status on the error channel; older ones a plain message. */
export function protocolVersion(protocol: string): number {
  const m = /^v(\d+)\./.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/** One frame: the channel byte, then the data (base64 protocols: ASCII digit + base64, as text). */
export function encodeFrame(channel: number, data: Buffer, base64: boolean): Buffer | string {
  if (base64) return String.fromCharCode(48 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

export function decodeFrame(raw: WebSocket.RawData, base64: boolean): { channel: number; data: Buffer } | undefined {
  const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  if (buf.length === 0) return undefined;
  if (buf[0] === CLOSE_CHANNEL) return { channel: CLOSE_CHANNEL, data: buf.subarray(1) };
  if (base64) return { channel: buf[0] - 48, data: Buffer.from(buf.subarray(1).toString('latin1'), 'base64') };
  return { channel: buf[0], data: buf.subarray(1) };
}

/** The HTTP answer when the streaming server refused the upgrade (e.g. 404 for a used token). */
export class StreamingError extends Error {
  readonly statusCode: number;
  constructor(message: string, statusCode: number) {
    super(message);
    this.name = 'StreamingError';
    this.statusCode = statusCode;
  }
}

export interface StreamingConnectOptions {
  /** Subprotocols to offer, in preference order. */
  protocols?: readonly string[];
  /** Give up connecting after this long (default 30 s). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/**
 * Opens the WebSocket. onMessage is installed before the handshake ends: frames the server sends
 * right after its 101 answer (the port prefixes, the first output) arrive in the same read.
 */
function connect(url: string, protocols: readonly string[], o: StreamingConnectOptions,
  onMessage: (raw: WebSocket.RawData, ws: WebSocket) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [...protocols], { headers: o.headers, handshakeTimeout: o.timeoutMs ?? 30_000 });
    ws.binaryType = 'nodebuffer';
    ws.on('message', (raw) => onMessage(raw, ws));
    ws.once('open', () => { ws.removeAllListeners('error'); resolve(ws); });
    ws.once('error', (err) => reject(new Error(`streaming connection to ${url} failed: ${err.message}`)));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => reject(new StreamingError(
        `streaming server answered ${res.statusCode} ${res.statusMessage ?? ''} for ${url}${body.trim() ? `: ${body.trim()}` : ''}`,
        res.statusCode ?? 0)));
      res.on('error', reject);
    });
  });
}

function send(ws: WebSocket, frame: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ws.readyState !== WebSocket.OPEN) return reject(new Error('the streaming connection is closed'));
    ws.send(frame, (err) => (err ? reject(err) : resolve()));
  });
}

export interface ExitStatus {
  /** 0 on Success, else the code from the NonZeroExitCode status. */
  exitCode: number;
  /** The metav1.Status the server sent (v4+), when it sent one. */
  status?: Status;
}

export interface RemoteCommandSession {
  /** The negotiated subprotocol. */
  readonly protocol: string;
  /** Write to the process's stdin; end() closes it (needs v5; older protocols cannot). */
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  resize(width: number, height: number): Promise<void>;
  /** Resolves once the server ends the stream; rejects when it failed for another reason than an exit code. */
  readonly exit: Promise<ExitStatus>;
  close(): void;
}

/** The exit code in a v4 Status: the ExitCode cause of a NonZeroExitCode failure. */
export function exitCodeOf(status: Status): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return cause && Number.isInteger(code) ? code : undefined;
}

/** Connects to an Exec or Attach URL (preferring v5, then v4) and exposes the process's stdio. */
export async function connectRemoteCommand(url: string, options: StreamingConnectOptions = {}): Promise<RemoteCommandSession> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const errorData: Buffer[] = [];
  const ws = await connect(url, options.protocols ?? REMOTE_COMMAND_PROTOCOLS, options, (raw, sock) => {
    const frame = decodeFrame(raw, isBase64Protocol(sock.protocol));
    if (!frame) return;
    if (frame.channel === CHANNEL.stdout) stdout.write(frame.data);
    else if (frame.channel === CHANNEL.stderr) stderr.write(frame.data);
    else if (frame.channel === CHANNEL.error) errorData.push(frame.data);
  });
  const protocol = ws.protocol;
  const base64 = isBase64Protocol(protocol);
  const version = protocolVersion(protocol);
  const exit = new Promise<ExitStatus>((resolve, reject) => {
    ws.once('close', (code, reason) => {
      stdout.end();
      stderr.end();
      const text = Buffer.concat(errorData).toString();
      if (version >= 4 && text) {
        let status: Status;
        try {
          status = JSON.parse(text) as Status;
        } catch {
          return reject(new Error(`the streaming server sent an unreadable status: ${text.slice(0, 200)}`));
        }
        const exitCode = exitCodeOf(status);
        if (exitCode === undefined) return reject(new Error(status.message || `stream failed: ${status.reason ?? 'unknown reason'}`));
        return resolve({ exitCode, status });
      }
      if (text) {
        // Before v4 the error channel carries only a message; kubelet's wording holds the code.
        const m = /non-zero exit code.*?(\d+)\s*$/.exec(text);
        return m ? resolve({ exitCode: Number(m[1]) }) : reject(new Error(text));
      }
      // No status: the server ended normally (kubelet's v4 decoder treats that as success too),
      // unless the connection itself broke.
      if (code === 1000 || code === 1005) return resolve({ exitCode: 0 });
      reject(new Error(`the streaming connection broke (close code ${code}${reason.length ? `: ${reason.toString()}` : ''})`));
    });
  });
  ws.on('error', () => { /* 'close' follows and settles exit */ });
  const stdin = new Writable({
    write(chunk: Buffer, _enc, cb) { send(ws, encodeFrame(CHANNEL.stdin, chunk, base64)).then(() => cb(), cb); },
    final(cb) {
      if (version < 5 || ws.readyState !== WebSocket.OPEN) return cb();
      send(ws, Buffer.from([CLOSE_CHANNEL, CHANNEL.stdin])).then(() => cb(), cb);
    },
  });
  stdin.on('error', () => { /* writing after the server closed: the exit promise says why */ });
  return {
    protocol, stdin, stdout, stderr, exit,
    resize: (width, height) => send(ws, encodeFrame(CHANNEL.resize, Buffer.from(JSON.stringify({ Width: width, Height: height })), base64)),
    close: () => ws.close(1000),
  };
}

/** Collects a whole exec stream: stdin (optional) in, stdout/stderr and the exit code out. */
export async function runRemoteCommand(url: string, input?: string | Buffer, options: StreamingConnectOptions = {}):
  Promise<{ stdout: string; stderr: string; exitCode: number; protocol: string }> {
  const s = await connectRemoteCommand(url, options);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  s.stdout.on('data', (d: Buffer) => out.push(d));
  s.stderr.on('data', (d: Buffer) => err.push(d));
  if (input !== undefined) s.stdin.end(input);
  const { exitCode } = await s.exit;
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exitCode, protocol: s.protocol };
}

/**
 * Opens a TCP-like stream to one port of a PortForward URL (v4 WebSocket protocol: data on
 * channel 0, errors on channel 1, each channel's first frame is the port, little-endian).
 * The stream ends when the pod's side closes; an error the server reports destroys it.
 */
export async function openPortForward(url: string, port: number, options: StreamingConnectOptions = {}): Promise<Duplex> {
  const u = new URL(url);
  u.searchParams.append('port', String(port));
  const seenPort = [false, false];
  let errorText = '';
  let ws: WebSocket | undefined;
  const stream = new Duplex({
    read() { ws?.resume(); },
    write(chunk: Buffer, _enc, cb) {
      if (!ws) return cb(new Error('the port-forward connection is not open'));
      send(ws, encodeFrame(0, chunk, isBase64Protocol(ws.protocol))).then(() => cb(), cb);
    },
    final(cb) { cb(); /* v4 has no half-close: the pod's side ends the stream */ },
    destroy(err, cb) { if (ws?.readyState === WebSocket.OPEN) ws.close(1000); cb(err); },
  });
  ws = await connect(u.toString(), options.protocols ?? PORT_FORWARD_PROTOCOLS, options, (raw, sock) => {
    const frame = decodeFrame(raw, isBase64Protocol(sock.protocol));
    if (!frame || frame.channel > 1) return;
    let data = frame.data;
    if (!seenPort[frame.channel]) {
      // The first frame of each channel names the port it belongs to.
      seenPort[frame.channel] = true;
      data = data.subarray(2);
    }
    if (frame.channel === 0) {
      if (data.length && !stream.push(data)) sock.pause();
    } else {
      errorText += data.toString();
    }
  });
  ws.on('error', () => { /* 'close' follows */ });
  ws.once('close', () => {
    if (errorText) stream.destroy(new Error(errorText));
    else stream.push(null);
  });
  return stream;
}
