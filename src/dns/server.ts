// Skiff's cluster DNS server (what CoreDNS with its kubernetes and forward plugins is to a
// kubeadm cluster): UDP and TCP on each listen address, records of the cluster zone from
// informers (zone.ts), everything else forwarded to upstream resolvers (forward.ts).
// `skiff dns` runs it alone; the node agent runs it in-process.
import { readFileSync } from 'node:fs';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import { SharedInformerFactory } from '../client/informer-factory.ts';
import type { RestClient } from '../client/rest.ts';
import { informerClusterView } from './cluster-view.ts';
import { parseUpstream, type Transport, type Upstream } from './forward.ts';
import { canonicalIp, ipFamily, normalizeName } from './names.ts';
import { answerMessage, type QueryContext } from './query.ts';
import { parseResolvConf } from './resolv-conf.ts';
import type { PodRecords } from './zone.ts';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
/** CoreDNS's kubernetes plugin answers with a TTL of 5 seconds by default. */
export const DEFAULT_TTL = 5;
/** A TCP connection with no query for this long is closed (RFC 7766 6.2.3 suggests seconds). */
const TCP_IDLE_MS = 10_000;

export interface ListenAddress {
  address: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
}

export interface DnsServerOptions {
  client: RestClient;
  /** Share informers with the rest of the process (the agent); by default the server makes its own. */
  informers?: SharedInformerFactory;
  listen: ListenAddress[];
  /** The cluster domain; default cluster.local. */
  domain?: string;
  /** Upstream resolvers (ADDRESS[:PORT]); default: the nameservers of /etc/resolv.conf. */
  upstreams?: string[];
  /** <a-b-c-d>.<ns>.pod.<zone>: for any address (default, as kubeadm's CoreDNS), only pods that exist, or none. */
  podRecords?: PodRecords;
  ttl?: number;
  /** How long one upstream gets to answer before the next is tried; default 2000 ms. */
  upstreamTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface DnsServer {
  /** The bound port of each listen address, in order (UDP and TCP share it). */
  ports: number[];
  upstreams: Upstream[];
  /** Resolves true once Services and EndpointSlices are listed (before that, cluster names get SERVFAIL). */
  synced(timeoutMs?: number): Promise<boolean>;
  stats: QueryContext['stats'];
  stop(): Promise<void>;
}

/** The nameservers of a resolv.conf as upstreams, less our own addresses (a loop otherwise). */
export function defaultUpstreams(resolvConf: string, listen: ListenAddress[]): Upstream[] {
  const own = new Set(listen.map((l) => `${canonicalIp(l.address)}:${l.port}`));
  return parseResolvConf(resolvConf).servers
    .filter((s) => ipFamily(s) !== 0)
    .map((s) => ({ host: s, port: 53 }))
    .filter((u) => !own.has(`${canonicalIp(u.host)}:${u.port}`));
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const log = opts.log ?? ((m: string) => console.error(`skiff dns: ${m}`));
  if (opts.listen.length === 0) throw new Error('the DNS server needs at least one listen address');
  for (const l of opts.listen) if (ipFamily(l.address) === 0) throw new Error(`listen address "${l.address}" is not an IP address`);
  const upstreams = opts.upstreams
    ? opts.upstreams.map(parseUpstream)
    : defaultUpstreams(readResolvConf(log), opts.listen);
  const domain = normalizeName(opts.domain ?? DEFAULT_CLUSTER_DOMAIN);
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
    throw new Error(`cluster domain "${opts.domain}" is not a DNS name`);
  }
  const podRecords = opts.podRecords ?? 'insecure';
  const ownFactory = !opts.informers;
  const factory = opts.informers ?? new SharedInformerFactory(opts.client, { freeze: false, log });
  const view = informerClusterView(factory, { watchPods: podRecords === 'verified' });
  factory.start();

  const ctx: QueryContext = {
    view, upstreams, upstreamTimeoutMs: opts.upstreamTimeoutMs ?? 2000, log, quietUntil: new Map(),
    zone: { domain, ttl: opts.ttl ?? DEFAULT_TTL, podRecords, serial: Math.floor(Date.now() / 1000) },
    stats: { queries: 0, answered: 0, forwarded: 0, failed: 0 },
  };
  const endpoints: { udp: UdpSocket; tcp: TcpServer }[] = [];
  const connections = new Set<Socket>();
  const ports: number[] = [];
  try {
    for (const l of opts.listen) {
      const ep = await bindPair(l, ctx, connections);
      endpoints.push(ep);
      ports.push((ep.udp.address()).port);
    }
  } catch (e) {
    await closeAll(endpoints, connections);
    if (ownFactory) await factory.stop();
    throw e;
  }
  return {
    ports, upstreams, stats: ctx.stats,
    async synced(timeoutMs = 30_000) {
      return await view.waitForSync(timeoutMs);
    },
    async stop() {
      await closeAll(endpoints, connections);
      if (ownFactory) await factory.stop();
    },
  };
}

function readResolvConf(log: (m: string) => void): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch (e) {
    log(`cannot read /etc/resolv.conf (${(e as Error).message}): names outside the cluster will get SERVFAIL; give upstreams`);
    return '';
  }
}

/** UDP and TCP on one address and port; with port 0, a port free for both. */
async function bindPair(l: ListenAddress, ctx: QueryContext, connections: Set<Socket>): Promise<{ udp: UdpSocket; tcp: TcpServer }> {
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUdp(l, ctx);
    const port = udp.address().port;
    try {
      return { udp, tcp: await listenTcp({ address: l.address, port }, ctx, connections) };
    } catch (e) {
      udp.close();
      // An ephemeral UDP port may be taken for TCP by someone else: pick another pair.
      if (l.port !== 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw e;
    }
  }
}

function bindUdp(l: ListenAddress, ctx: QueryContext): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: ipFamily(l.address) === 6 ? 'udp6' : 'udp4' });
    socket.once('error', reject);
    socket.bind(l.port, l.address, () => {
      socket.off('error', reject);
      socket.on('error', (e) => ctx.log(`UDP ${l.address}:${l.port}: ${e.message}`));
      socket.on('message', (msg, rinfo) => {
        void reply(msg, 'udp', ctx).then((out) => {
          if (out) socket.send(out, rinfo.port, rinfo.address, (e) => e && ctx.log(`UDP reply to ${rinfo.address}:${rinfo.port}: ${e.message}`));
        });
      });
      resolve(socket);
    });
  });
}

function listenTcp(l: ListenAddress, ctx: QueryContext, connections: Set<Socket>): Promise<TcpServer> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => serveTcp(socket, ctx, connections));
    server.once('error', reject);
    server.listen(l.port, l.address, () => {
      server.off('error', reject);
      server.on('error', (e) => ctx.log(`TCP ${l.address}:${l.port}: ${e.message}`));
      resolve(server);
    });
  });
}

/** Length-prefixed messages (RFC 1035 4.2.2), several per connection, answered as they complete (RFC 7766 6.2.1.1). */
function serveTcp(socket: Socket, ctx: QueryContext, connections: Set<Socket>): void {
  connections.add(socket);
  socket.setNoDelay(true);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      const msg = Buffer.from(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      void reply(msg, 'tcp', ctx).then((out) => {
        if (!out || socket.destroyed) return;
        const head = Buffer.alloc(2);
        head.writeUInt16BE(out.length, 0);
        socket.write(Buffer.concat([head, out]));
      });
    }
  });
  socket.on('close', () => connections.delete(socket));
  socket.on('error', (e: NodeJS.ErrnoException) => {
    // Clients hanging up mid-answer is ordinary; anything else is worth a line.
    if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') ctx.log(`TCP client ${socket.remoteAddress}: ${e.message}`);
  });
}

/** answerMessage, with a bug in it turned into a log line instead of a crashed server. */
async function reply(msg: Buffer, transport: Transport, ctx: QueryContext): Promise<Buffer | undefined> {
  try {
    return await answerMessage(msg, transport, ctx);
  } catch (e) {
    ctx.log(`answering a ${transport} query failed: ${(e as Error).stack ?? e}`);
    return undefined;
  }
}

async function closeAll(endpoints: { udp: UdpSocket; tcp: TcpServer }[], connections: Set<Socket>): Promise<void> {
  for (const c of connections) c.destroy();
  await Promise.all(endpoints.map(({ udp, tcp }) => Promise.all([
    new Promise<void>((r) => udp.close(() => r())),
    new Promise<void>((r) => tcp.close(() => r())),
  ])));
  endpoints.length = 0;
}
