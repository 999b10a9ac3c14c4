// Forwarding of names outside the cluster zone to upstream resolvers, as CoreDNS's forward
// plugin: the query goes out unchanged (but for a fresh random ID, from a fresh random
// source port) over the transport the client used, and the upstream's answer is relayed
// with the client's ID. Upstreams are tried in order until one answers.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { canonicalIp, ipFamily } from './names.ts';

export interface Upstream {
  host: string;
  port: number;
}

export type Transport = 'udp' | 'tcp';

/** "10.0.0.2", "10.0.0.2:5353", "[fd00::2]:53" or "fd00::2" (port 53 unless given). */
export function parseUpstream(text: string): Upstream {
  const s = text.trim();
  let host = s;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (ipFamily(s) === 0) {
    const colon = s.lastIndexOf(':');
    if (colon > 0) {
      host = s.slice(0, colon);
      port = Number(s.slice(colon + 1));
    }
  }
  if (ipFamily(host) === 0) throw new Error(`upstream "${text}" is not an IP address (give ADDRESS, ADDRESS:PORT or [IPv6]:PORT)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`upstream "${text}" has a bad port (1-65535)`);
  return { host, port };
}

export function formatUpstream(u: Upstream): string {
  return ipFamily(u.host) === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

/** Sends query to the first upstream that answers; the reply carries the query's ID. Throws when none answers. */
export async function forwardQuery(query: Buffer, upstreams: Upstream[], transport: Transport, timeoutMs: number): Promise<Buffer> {
  if (upstreams.length === 0) throw new Error('no upstream resolvers configured');
  const errors: string[] = [];
  for (const u of upstreams) {
    try {
      return await exchange(query, u, transport, timeoutMs);
    } catch (e) {
      errors.push(`${formatUpstream(u)}/${transport}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no upstream answered: ${errors.join('; ')}`);
}

/** One query to one upstream; the reply is returned with the query's own ID. */
export async function exchange(query: Buffer, u: Upstream, transport: Transport, timeoutMs: number): Promise<Buffer> {
  if (query.length < 12) throw new Error('query shorter than a DNS header');
  const out = Buffer.from(query);
  const id = randomInt(65536);
  out.writeUInt16BE(id, 0);
  const reply = transport === 'udp' ? await udpExchange(out, id, u, timeoutMs) : await tcpExchange(out, id, u, timeoutMs);
  reply.writeUInt16BE(query.readUInt16BE(0), 0);
  return reply;
}

function udpExchange(msg: Buffer, id: number, u: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(ipFamily(u.host) === 6 ? 'udp6' : 'udp4');
    const want = canonicalIp(u.host);
    let settled = false;
    const finish = (err: Error | undefined, reply?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('message', (buf, rinfo) => {
      // Only the upstream's answer to this query counts; anything else on the port is ignored.
      if (buf.length >= 12 && buf.readUInt16BE(0) === id && (buf[2] & 0x80) !== 0 && canonicalIp(rinfo.address) === want && rinfo.port === u.port) {
        finish(undefined, buf);
      }
    });
    socket.on('error', (e) => finish(e));
    socket.send(msg, u.port, u.host, (e) => {
      if (e) finish(e);
    });
  });
}

function tcpExchange(msg: Buffer, id: number, u: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.host, port: u.port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, reply?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length, 0);
      socket.write(Buffer.concat([len, msg]));
    });
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) return;
      const reply = Buffer.from(buf.subarray(2, 2 + len));
      if (reply.length < 12 || reply.readUInt16BE(0) !== id) finish(new Error('answer does not match the query ID'));
      else finish(undefined, reply);
    });
    socket.on('error', (e) => finish(e));
    socket.on('end', () => finish(new Error('connection closed before an answer')));
  });
}
