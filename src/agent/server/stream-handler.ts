// Upgrade requests for exec, attach and port-forward.
// Exec and attach: ask the runtime (CRI Exec/Attach) for a streaming URL and proxy the client's
// upgrade to it, as kubelet does; the client and the runtime's streaming server negotiate the
// protocol between them (kubectl 1.32: WebSocket v5.channel.k8s.io).
// Port-forward: kubectl speaks SPDY (tunneled in a WebSocket with subprotocol
// SPDY/3.1+portforward.k8s.io, or a plain SPDY/3.1 upgrade); we terminate that here and
// reach each port through CRI PortForward (the runtime's v4 WebSocket protocol). A client
// already speaking the v4 WebSocket protocol is proxied to the runtime directly.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isCriError, Code } from '../../cri/errors.ts';
import { openPortForward } from '../../cri/streaming-client.ts';
import type { KubeletPod, ServerContext } from './index.ts';
import { containerIdOf, findPod } from './containers.ts';
import { badRequest, HttpError, notFound } from './http-errors.ts';
import { PORT_FORWARD_PROTOCOL, servePortForward } from './port-forward.ts';
import { forwardedHeaders, proxyUpgrade } from './upgrade-proxy.ts';
import type { SpdyTransport } from '../../spdy/connection.ts';

const STREAM_PATH = /^\/(exec|attach|portForward)\//;

/** The WebSocket subprotocol under which kubectl tunnels SPDY port-forwarding. */
export const TUNNELED_SPDY_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

export function isStreamPath(path: string): boolean {
  return STREAM_PATH.test(path);
}

// `SPDY/3.1+portforward.k8s.io` is not an RFC 7230 token ('/'), which the ws library insists on
// when it parses the offer; the handler swaps in this stand-in before ws sees the header and
// answers with the real name.
const TUNNELED_SPDY_STAND_IN = 'skiff-tunneled-spdy-portforward';
const wss = new WebSocketServer({
  noServer: true, perMessageDeflate: false,
  handleProtocols: (offered) => (offered.has(TUNNELED_SPDY_STAND_IN) ? TUNNELED_SPDY_PROTOCOL : false),
});

export async function handleStreamUpgrade(ctx: ServerContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://x');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const q = url.searchParams;
  const kind = parts[0];
  if (kind === 'portForward') {
    if (parts.length !== 3 && parts.length !== 4) throw notFound('expected /portForward/{namespace}/{pod}[/{uid}]');
    const kp = await findPodWithUid(ctx, parts[1], parts[2], parts[3]);
    return portForward(ctx, kp, req, socket, head, q);
  }
  if (parts.length !== 4 && parts.length !== 5) throw notFound(`expected /${kind}/{namespace}/{pod}[/{uid}]/{container}`);
  const kp = await findPodWithUid(ctx, parts[1], parts[2], parts.length === 5 ? parts[3] : undefined);
  const containerId = containerIdOf(kp, parts.at(-1)!);
  // kubelet's parameter names (input/output/error), and kubectl's (stdin/stdout/stderr) as well.
  const flag = (...names: string[]) => names.some((n) => q.get(n) === '1' || q.get(n) === 'true');
  const io = { stdin: flag('input', 'stdin'), stdout: flag('output', 'stdout'), stderr: flag('error', 'stderr'), tty: flag('tty') };
  if (!io.stdin && !io.stdout && !io.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  let streamUrl: string;
  if (kind === 'exec') {
    const cmd = q.getAll('command');
    if (cmd.length === 0) throw badRequest('you must specify at least 1 command');
    ({ url: streamUrl } = await criCall(() => ctx.cri.exec({ container_id: containerId, cmd, ...io })));
  } else {
    ({ url: streamUrl } = await criCall(() => ctx.cri.attach({ container_id: containerId, ...io })));
  }
  await proxyToRuntime(req, socket, head, streamUrl);
}

async function findPodWithUid(ctx: ServerContext, namespace: string, name: string, uid: string | undefined): Promise<KubeletPod> {
  const kp = await findPod(ctx, namespace, name);
  if (uid && kp.pod.metadata?.uid !== uid) throw notFound(`pod "${name}" with uid ${uid} is not on this node`);
  return kp;
}

async function proxyToRuntime(req: IncomingMessage, socket: Duplex, head: Buffer, streamUrl: string, extraQuery?: URLSearchParams): Promise<void> {
  const target = new URL(streamUrl);
  for (const [k, v] of extraQuery ?? []) target.searchParams.append(k, v);
  try {
    await proxyUpgrade(req, socket, head, { url: target, headers: forwardedHeaders(req.headers) });
  } catch (e) {
    throw new HttpError(502, 'InternalError', `cannot reach the runtime's streaming server at ${target.host}: ${(e as Error).message}`);
  }
}

/** CRI failures as HTTP errors: a missing container is the client's problem, the rest the node's. */
async function criCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (isCriError(e, Code.NOT_FOUND)) throw notFound((e as Error).message);
    if (isCriError(e, Code.FAILED_PRECONDITION) || isCriError(e, Code.INVALID_ARGUMENT)) throw badRequest((e as Error).message);
    if (isCriError(e, Code.UNIMPLEMENTED)) throw new HttpError(501, 'NotImplemented', `the container runtime does not support streaming: ${(e as Error).message}`);
    throw e;
  }
}

async function sandboxIdOf(ctx: ServerContext, kp: KubeletPod): Promise<string> {
  const uid = kp.pod.metadata?.uid ?? '';
  const { items } = await ctx.cri.listPodSandbox({ filter: { label_selector: { 'io.kubernetes.pod.uid': uid }, state: { state: 'SANDBOX_READY' } } });
  const sandbox = items.sort((a, b) => Number(b.created_at) - Number(a.created_at))[0];
  if (!sandbox) throw badRequest(`pod "${kp.pod.metadata?.name}" has no running sandbox to forward ports into`);
  return sandbox.id;
}

async function portForward(ctx: ServerContext, kp: KubeletPod, req: IncomingMessage, socket: Duplex, head: Buffer, q: URLSearchParams): Promise<void> {
  const sandboxId = await sandboxIdOf(ctx, kp);
  const describe = `${kp.pod.metadata?.name}, uid ${kp.pod.metadata?.uid}`;
  const dial = async (port: number) => {
    const { url } = await criCall(() => ctx.cri.portForward({ pod_sandbox_id: sandboxId, port: [port] }));
    return openPortForward(url, port);
  };
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'websocket') {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(TUNNELED_SPDY_PROTOCOL)) {
      // The v4 WebSocket port-forward protocol: the runtime serves it; ports come from ?port=.
      const ports = q.getAll('port').map(Number);
      if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
        throw badRequest('query parameter "port" is required: one or more ports 1-65535');
      }
      const { url } = await criCall(() => ctx.cri.portForward({ pod_sandbox_id: sandboxId, port: ports }));
      return proxyToRuntime(req, socket, head, url, new URLSearchParams(ports.map((p): [string, string] => ['port', String(p)])));
    }
    req.headers['sec-websocket-protocol'] = TUNNELED_SPDY_STAND_IN;
    await new Promise<void>((resolve) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = servePortForward(wsTransport(ws), dial, describe, ctx.log);
        ws.on('message', (data) => conn.receive(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)));
        ws.on('close', () => conn.transportClosed());
        ws.on('error', (e) => ctx.log(`port-forward to ${describe}: ${e.message}`));
        resolve();
      });
    });
    return;
  }
  if (upgrade !== 'spdy/3.1') throw badRequest(`unable to upgrade: unsupported protocol "${req.headers.upgrade ?? ''}" (want websocket or SPDY/3.1)`);
  const versions = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
  if (!versions.includes(PORT_FORWARD_PROTOCOL)) {
    throw new HttpError(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${versions.join(' ')}], server supports [${PORT_FORWARD_PROTOCOL}]`);
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`);
  const conn = servePortForward(socketTransport(socket), dial, describe, ctx.log);
  socket.on('data', (d: Buffer) => conn.receive(d));
  socket.on('close', () => conn.transportClosed());
  if (head.length > 0) conn.receive(head);
}

function socketTransport(socket: Duplex): SpdyTransport {
  return {
    write: (b) => socket.write(b),
    onDrain: (cb) => socket.once('drain', cb),
    close: () => socket.end(),
  };
}

/** Tunneled SPDY: every binary WebSocket message carries SPDY bytes. */
function wsTransport(ws: WebSocket): SpdyTransport {
  const full = () => ws.bufferedAmount >= 1 << 20;
  return {
    write: (b) => {
      ws.send(b, { binary: true });
      return !full();
    },
    // ws has no 'drain' of its own: check its buffer until it has room again.
    onDrain: (cb) => {
      const check = () => (!full() || ws.readyState !== ws.OPEN ? cb() : setTimeout(check, 10));
      check();
    },
    close: () => ws.close(1000),
  };
}
