// The node agent's HTTPS server: the part of kubelet's API the API server proxies kubectl to.
//   GET  /containerLogs/{namespace}/{pod}/{container}      kubectl logs
//   *    /exec/{namespace}/{pod}[/{uid}]/{container}        kubectl exec / cp (upgrade)
//   *    /attach/{namespace}/{pod}[/{uid}]/{container}      kubectl attach (upgrade)
//   *    /portForward/{namespace}/{pod}[/{uid}]             kubectl port-forward (upgrade)
//   GET  /healthz
// Callers authenticate with a client certificate signed by the cluster CA (kubelet's
// --client-ca-file). https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../cri/client.ts';
import { handleContainerLogs } from './log-handler.ts';
import { handleStreamUpgrade, isStreamPath } from './stream-handler.ts';
import { clientIdentity, mayUseNodeApi } from './tls.ts';
import { HttpError, sendStatus, statusBody } from './http-errors.ts';
import { writeRawResponse } from './upgrade-proxy.ts';

/** What the agent knows about one of its pods, for the server. */
export interface KubeletPod {
  pod: Pod;
  /** The pod's log directory (the sandbox's CRI log_directory). */
  logDir: string;
  /** The current CRI container of each container (init containers included) that has one. */
  containers: { name: string; id: string }[];
}

/** Provided by the agent core: the pods this node runs, by namespace and name. */
export interface KubeletPodLookup {
  lookup(namespace: string, podName: string): KubeletPod | undefined | Promise<KubeletPod | undefined>;
}

export interface KubeletServerOptions {
  address: string;
  port: number;
  tls: { cert: string; key: string };
  /** PEM bundle of the CAs whose client certificates are accepted (the cluster CA). */
  clientCa: string;
  cri: CriClient;
  pods: KubeletPodLookup;
  log?: (line: string) => void;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export interface ServerContext {
  cri: CriClient;
  pods: KubeletPodLookup;
  log: (line: string) => void;
  /** Ends long-running requests (log follow) when the server closes. */
  shutdown: AbortSignal;
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const abort = new AbortController();
  const ctx: ServerContext = { cri: opts.cri, pods: opts.pods, log: opts.log ?? ((l) => console.error(l)), shutdown: abort.signal };
  const upgrades = new Set<Duplex>();
  const server = https.createServer({
    cert: opts.tls.cert,
    key: opts.tls.key,
    ca: opts.clientCa,
    requestCert: true,
    // Unauthenticated requests get an HTTP 401 rather than a failed handshake.
    rejectUnauthorized: false,
    shouldUpgradeCallback: (req) => isStreamPath(pathOf(req)),
  }, (req, res) => {
    handleRequest(ctx, req, res).catch((e: unknown) => {
      if (!(e instanceof HttpError)) ctx.log(`agent server: ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
      if (!res.headersSent) sendStatus(res, e);
      else res.destroy();
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
    socket.on('error', () => socket.destroy());
    const run = async () => {
      authorize(req);
      await handleStreamUpgrade(ctx, req, socket, head);
    };
    run().catch((e: unknown) => {
      if (!(e instanceof HttpError)) ctx.log(`agent server: upgrade ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
      if (socket.writable) {
        const { code, body } = statusBody(e);
        writeRawResponse(socket, code, body);
      } else socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      abort.abort();
      for (const s of upgrades) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'https://x').pathname;
}

function authorize(req: IncomingMessage): void {
  const id = clientIdentity(req.socket as TLSSocket);
  if (!id) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
  if (!mayUseNodeApi(id)) {
    throw new HttpError(403, 'Forbidden', `Forbidden (user=${id.user}, verb=get, resource=nodes, subresource(s)=[proxy])`);
  }
}

async function handleRequest(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req);
  if (path === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
    return;
  }
  authorize(req);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'containerLogs') {
    if (req.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on /containerLogs`);
    if (parts.length !== 4) throw new HttpError(404, 'NotFound', 'expected /containerLogs/{namespace}/{pod}/{container}');
    return handleContainerLogs(ctx, req, res, parts[1], parts[2], parts[3]);
  }
  if (isStreamPath(path)) throw new HttpError(400, 'BadRequest', 'Upgrade request required');
  throw new HttpError(404, 'NotFound', '404 page not found');
}
