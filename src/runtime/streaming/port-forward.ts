// Port forwarding over WebSocket as kubelet's portforward package serves it: for the i-th
// requested port, channel 2i carries data both ways and channel 2i+1 errors from the server;
// the first frame on each starts with the port (2 bytes, little-endian). The connection to the
// port is made inside the pod's network namespace: Node cannot setns, so `nsenter --net` runs
// busybox's nc there, whose stdio is the TCP stream (it half-closes on our EOF).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, isBase64Protocol } from '../../cri/streaming-client.ts';

export const BUSYBOX = '/bin/busybox';

/** The pod's side of one forwarded connection. */
export interface PortDialer {
  /** Connects to 127.0.0.1:port in the pod: what is written to stream goes there, its replies come out of it. */
  (port: number, signal: AbortSignal): { stream: Duplex; done: Promise<void> };
}

/** Serves the ports on ws until every forwarded connection has ended, then closes it. */
export async function servePortForward(ws: WebSocket, ports: number[], dial: PortDialer, describe: string, log: (line: string) => void): Promise<void> {
  const base64 = isBase64Protocol(ws.protocol);
  const abort = new AbortController();
  const sendOn = (channel: number, data: Buffer) =>
    new Promise<void>((resolve) => {
      if (ws.readyState !== WebSocket.OPEN) return resolve();
      ws.send(encodeFrame(channel, data, base64), () => resolve());
    });
  const conns = ports.map((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    void sendOn(2 * i, prefix);
    void sendOn(2 * i + 1, prefix);
    return { port, ...dial(port, abort.signal) };
  });
  ws.on('message', (raw) => {
    const frame = decodeFrame(raw, base64);
    if (!frame || frame.channel % 2 !== 0) return;
    const c = conns[frame.channel / 2];
    if (c && frame.data.length && c.stream.writable) c.stream.write(frame.data);
  });
  ws.on('error', (err) => log(`streaming: port-forward connection error: ${err.message}`));
  ws.once('close', () => abort.abort(new Error('the streaming client disconnected')));

  await Promise.all(conns.map(async (c, i) => {
    c.stream.on('error', () => { /* the connection broke: c.done says why */ });
    c.stream.on('data', (d: Buffer) => {
      c.stream.pause();
      void sendOn(2 * i, d).then(() => c.stream.resume());
    });
    try {
      await c.done;
    } catch (err) {
      await sendOn(2 * i + 1, Buffer.from(`error forwarding port ${c.port} to pod ${describe}, uid : ${(err as Error).message}`));
    }
  }));
  if (ws.readyState === WebSocket.OPEN) ws.close(1000);
}

/** Dials 127.0.0.1:port inside netnsPath ('' = the host's network, for host-network pods). */
export function netnsDialer(netnsPath: string): PortDialer {
  return (port, signal) => {
    if (!netnsPath) return hostDial(port, signal);
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', BUSYBOX, 'nc', '127.0.0.1', String(port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const errText: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => errText.push(d));
    child.stdin.on('error', () => { /* nc ended; its exit says why */ });
    // Writes go to nc's stdin (the connection), reads come from its stdout.
    const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    const done = new Promise<void>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot run nsenter: ${err.message}`)));
      child.once('close', (code) => {
        signal.removeEventListener('abort', onAbort);
        if (code === 0 || signal.aborted) return resolve();
        const said = Buffer.concat(errText).toString().trim().replace(/^nc: /, '');
        reject(new Error(`connecting to 127.0.0.1:${port} in ${netnsPath}: ${said || `nc exited with ${code}`}`));
      });
    });
    return { stream, done };
  };
}

function hostDial(port: number, signal: AbortSignal): { stream: Duplex; done: Promise<void> } {
  const sock = connect({ host: '127.0.0.1', port });
  const onAbort = () => sock.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    sock.once('error', (err) => reject(new Error(`connecting to 127.0.0.1:${port}: ${err.message}`)));
    sock.once('close', (hadError) => { signal.removeEventListener('abort', onAbort); if (!hadError) resolve(); });
  });
  return { stream: sock, done };
}
