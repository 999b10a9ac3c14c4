// The runtime's streaming HTTP server, as kubelet's streaming library runs one for a CRI
// runtime: Exec/Attach/PortForward answer a one-time URL on it (/exec|/attach|/portforward/
// <token>), and the client upgrades that URL to a WebSocket speaking the channel protocols.
// Only WebSocket: SPDY upgrades are refused with a message saying so.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AttachRequest, DeepPartial, ExecRequest, PortForwardRequest } from '../../cri/types.ts';
import { PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS } from '../../cri/streaming-client.ts';
import { servePortForward, type PortDialer } from './port-forward.ts';
import { serveRemoteCommand, type StreamIO } from './remote-command.ts';
import { RequestCache, type StreamRequest } from './request-cache.ts';

/** What the streams run against (the Runtime's containers and sandboxes). */
export interface StreamingBackend {
  exec(req: DeepPartial<ExecRequest>, io: StreamIO): Promise<void>;
  attach(req: DeepPartial<AttachRequest>, io: StreamIO): Promise<void>;
  /** How to reach ports in the pod; throws when the sandbox is gone. */
  portForward(podSandboxId: string): { dial: PortDialer; describe: string };
}

export interface StreamingServerOptions {
  /** host:port to listen on; default 127.0.0.1:0 (loopback, an ephemeral port). */
  address?: string;
  tokenTtlMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_STREAM_ADDRESS = '127.0.0.1:0';

/** 'host:port', '[v6]:port' or 'host' as host and port. */
export function parseStreamAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(address.trim());
  const port = Number(m?.[3] ?? 0);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`stream address "${address}" must be HOST:PORT, e.g. 127.0.0.1:0 (0 = any free port)`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/;

export class StreamingServer {
  readonly baseUrl: string;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly cache: RequestCache;
  private readonly backend: StreamingBackend;
  private readonly log: (line: string) => void;

  private constructor(http: Server, baseUrl: string, backend: StreamingBackend, o: StreamingServerOptions) {
    this.http = http;
    this.baseUrl = baseUrl;
    this.backend = backend;
    this.cache = new RequestCache(o.tokenTtlMs);
    this.log = o.log ?? ((line) => console.error(line));
    this.wss = new WebSocketServer({
      noServer: true, perMessageDeflate: false,
      handleProtocols: (_offered, req) => (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol || false,
    });
    http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    http.on('request', (req, res) => {
      const m = PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
      const found = m && this.cache.consume(m[2])?.kind === m[1];
      res.writeHead(found ? 400 : 404, { 'content-type': 'text/plain' })
        .end(found ? 'this streaming URL must be opened with a WebSocket upgrade\n' : '404 page not found\n');
    });
  }

  static async start(backend: StreamingBackend, o: StreamingServerOptions = {}): Promise<StreamingServer> {
    const { host, port } = parseStreamAddress(o.address ?? DEFAULT_STREAM_ADDRESS);
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err: NodeJS.ErrnoException) => reject(new Error(
        `streaming server cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another with --stream-address' : err.message}`)));
      http.listen(port, host, () => resolve());
    });
    // Streams in progress keep the process alive; an idle listener alone does not.
    http.unref();
    const bound = (http.address() as { port: number }).port;
    const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return new StreamingServer(http, `http://${urlHost}:${bound}`, backend, o);
  }

  getExec(request: DeepPartial<ExecRequest>): { url: string } { return this.urlFor({ kind: 'exec', request }); }
  getAttach(request: DeepPartial<AttachRequest>): { url: string } { return this.urlFor({ kind: 'attach', request }); }
  getPortForward(request: DeepPartial<PortForwardRequest>): { url: string } { return this.urlFor({ kind: 'portforward', request }); }

  private urlFor(r: StreamRequest): { url: string } {
    return { url: `${this.baseUrl}/${r.kind}/${this.cache.insert(r)}` };
  }

  /** Stops listening and cuts the streams in progress. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.wss.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.log(`streaming: ${req.url}: ${err.message}`));
    const url = new URL(req.url ?? '/', 'http://x');
    const m = PATH.exec(url.pathname);
    const entry = m ? this.cache.consume(m[2]) : undefined;
    if (!m || !entry || entry.kind !== m[1]) return refuse(socket, 404, '404 page not found');
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return refuse(socket, 400, `this runtime streams over WebSocket only, not "${req.headers.upgrade}"`);
    }
    const supported: readonly string[] = entry.kind === 'portforward'
      ? [...PORT_FORWARD_PROTOCOLS, 'portforward.k8s.io'] : REMOTE_COMMAND_PROTOCOLS;
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    // Like kubelet: the first protocol the client offers that we speak; none offered means binary.
    const chosen = offered.length ? offered.find((p) => supported.includes(p)) : '';
    if (chosen === undefined) {
      return refuse(socket, 400, `requested protocol(s) are not supported: ${offered.join(', ')}; supports ${supported.join(', ')}`);
    }
    let ports: number[] = [];
    if (entry.kind === 'portforward') {
      const query = url.searchParams.getAll('port');
      ports = query.length ? query.map(Number) : (entry.request.port ?? []).map(Number);
      const bad = query.length ? query.find((p) => !isPort(Number(p))) : undefined;
      if (bad !== undefined) return refuse(socket, 400, `invalid port "${bad}": ports must be 1-65535`);
      if (!ports.length) return refuse(socket, 400, 'query parameter "port" is required');
    }
    (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = chosen;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.wss.emit('connection', ws, req);
      void this.serve(ws, entry, ports).catch((err: Error) => {
        this.log(`streaming: ${entry.kind} failed: ${err.stack ?? err.message}`);
        ws.terminate();
      });
    });
  }

  private async serve(ws: WebSocket, entry: StreamRequest, ports: number[]): Promise<void> {
    if (entry.kind === 'portforward') {
      let target: { dial: PortDialer; describe: string };
      try {
        target = this.backend.portForward(entry.request.pod_sandbox_id ?? '');
      } catch (err) {
        ws.close(1011, (err as Error).message.slice(0, 120));
        return;
      }
      return servePortForward(ws, ports, target.dial, target.describe, this.log);
    }
    const r = entry.request;
    const opts = { stdin: !!r.stdin, stdout: !!r.stdout, stderr: !!r.stderr, tty: !!r.tty };
    if (entry.kind === 'exec') {
      const req = entry.request;
      return serveRemoteCommand(ws, opts, (io) => this.backend.exec(req, io), this.log);
    }
    const req = entry.request;
    return serveRemoteCommand(ws, opts, (io) => this.backend.attach(req, io), this.log);
  }
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 65535;
}

function refuse(socket: Duplex, code: number, message: string): void {
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: text/plain; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
