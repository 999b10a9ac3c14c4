// kubectl port-forward over SPDY, as kubelet's portforward package serves it: per forwarded
// connection the client opens an error stream and a data stream (headers streamType, port,
// requestID); once both are there we connect to the port in the pod and copy bytes both ways.
// A failure is written to the error stream; both streams are closed when the connection ends.
// https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/cri/streaming/portforward/httpstream.go
import type { Duplex } from 'node:stream';
import { SpdyConnection, type SpdyStream, type SpdyTransport } from '../../spdy/connection.ts';

/** The port-forward protocol name (X-Stream-Protocol-Version, and in the tunneled WebSocket subprotocol). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/** kubelet's streamCreationTimeout: how long a half of a pair may wait for the other. */
const PAIR_TIMEOUT_MS = 30_000;

/** Opens a connection to a port inside the pod. */
export type PodPortDialer = (port: number) => Promise<Duplex>;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Runs port-forwarding on one SPDY session. `describe` names the pod in error messages
 * (kubelet: "error forwarding port 8080 to pod <name>, uid <uid>: ...").
 */
export function servePortForward(transport: SpdyTransport, dial: PodPortDialer, describe: string, log: (l: string) => void): SpdyConnection {
  const pairs = new Map<string, Pair>();
  const conn: SpdyConnection = new SpdyConnection(transport, {
    onStream(stream) {
      const type = stream.header('streamtype');
      if (type !== 'error' && type !== 'data') {
        log(`port-forward: stream ${stream.id} has streamType "${type ?? ''}", want error or data`);
        stream.reset();
        return;
      }
      // Old clients send no requestID: the data stream then follows its error stream by 2.
      const key = stream.header('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
      let pair = pairs.get(key);
      if (!pair) {
        pair = {
          timer: setTimeout(() => {
            pairs.delete(key);
            pair!.error?.reset();
            pair!.data?.reset();
            log(`port-forward: request ${key} timed out waiting for its ${pair!.error ? 'data' : 'error'} stream`);
          }, PAIR_TIMEOUT_MS),
        };
        pairs.set(key, pair);
      }
      if (pair[type]) {
        stream.reset();
        return;
      }
      pair[type] = stream;
      if (pair.error && pair.data) {
        clearTimeout(pair.timer);
        pairs.delete(key);
        forward(conn, pair.error, pair.data, dial, describe);
      }
    },
    onClose(error) {
      if (error) log(`port-forward to pod ${describe}: SPDY session failed: ${error.message}`);
      for (const p of pairs.values()) clearTimeout(p.timer);
      pairs.clear();
    },
  });
  return conn;
}

function forward(conn: SpdyConnection, errorStream: SpdyStream, dataStream: SpdyStream, dial: PodPortDialer, describe: string): void {
  const portText = dataStream.header('port') ?? '';
  const port = Number(portText);
  const fail = (message: string) => {
    errorStream.end(Buffer.from(message));
    dataStream.end();
  };
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    fail(`invalid port "${portText}": must be 1-65535`);
    return;
  }
  // What the client sends before the pod connection is up waits here.
  const early: Buffer[] = [];
  let clientEnded = false;
  let pod: Duplex | undefined;
  let over = false;
  dataStream.on('data', (d: Buffer) => (pod ? pod.write(d) : early.push(d)));
  dataStream.on('end', () => {
    clientEnded = true;
    pod?.end();
  });
  dataStream.on('reset', () => {
    over = true;
    pod?.destroy();
  });
  dial(port).then((p) => {
    if (over || conn.closed) {
      p.destroy();
      return;
    }
    pod = p;
    for (const d of early) p.write(d);
    if (clientEnded) p.end();
    p.on('data', (d: Buffer) => {
      if (!dataStream.write(d)) {
        p.pause();
        conn.onDrain(() => p.resume());
      }
    });
    // The pod's side finishing ends the forwarded connection (as kubelet's copy does): FIN on
    // the data stream, then the error stream, empty unless something failed.
    const finish = (failure?: Error) => {
      if (over) return;
      over = true;
      dataStream.end();
      errorStream.end(failure ? Buffer.from(`error forwarding port ${port} to pod ${describe}: ${failure.message}`) : undefined);
      p.destroy();
    };
    p.on('end', () => finish());
    p.on('error', (e) => finish(e));
    p.on('close', () => finish());
  }, (e: Error) => {
    over = true;
    fail(`error forwarding port ${port} to pod ${describe}: ${e.message}`);
  });
}
