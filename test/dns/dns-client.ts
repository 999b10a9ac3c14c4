// A small DNS client for the tests (real UDP and TCP on loopback, dns-packet for the wire
// format) and a fake upstream resolver the tests start on loopback for forwarding.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';

export type Reply = DecodedPacket & { rcode: string };

export interface QueryOptions {
  tcp?: boolean;
  /** Add an EDNS(0) OPT record advertising this UDP payload size. */
  edns?: number;
  timeoutMs?: number;
  recursionDesired?: boolean;
  /** The server's address; default 127.0.0.1. */
  host?: string;
}

export function encodeQuery(name: string, type: RecordType, id: number, opts: QueryOptions = {}): Buffer {
  const packet: Packet = {
    type: 'query', id, flags: opts.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  };
  return dnsPacket.encode(packet);
}

/** Sends raw bytes and returns the raw answer (UDP datagram or one TCP message). */
export function exchangeRaw(port: number, msg: Buffer, opts: QueryOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    let done = false;
    const host = opts.host ?? '127.0.0.1';
    const timer = setTimeout(() => finish(new Error(`no DNS answer from ${host} port ${port}/${opts.tcp ? 'tcp' : 'udp'} within ${timeoutMs} ms`)), timeoutMs);
    let close = () => {};
    const finish = (err: Error | undefined, buf?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      if (err) reject(err);
      else resolve(buf!);
    };
    if (opts.tcp) {
      const socket = connect({ host, port });
      close = () => socket.destroy();
      let buf = Buffer.alloc(0);
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length, 0);
        socket.write(Buffer.concat([len, msg]));
      });
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      socket.on('error', (e) => finish(e));
    } else {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      close = () => socket.close();
      socket.on('message', (d) => finish(undefined, d));
      socket.on('error', (e) => finish(e));
      socket.send(msg, port, host);
    }
  });
}

let nextId = 1;

/** One question; the decoded answer, with its size on the wire. */
export async function query(port: number, name: string, type: RecordType, opts: QueryOptions = {}): Promise<Reply & { size: number }> {
  const id = nextId++ & 0xffff;
  const raw = await exchangeRaw(port, encodeQuery(name, type, id, opts), opts);
  const reply = dnsPacket.decode(raw) as Reply;
  if (reply.id !== id) throw new Error(`answer has ID ${reply.id}, the query ${id}`);
  return Object.assign(reply, { size: raw.length });
}

/** The data of the answers of one type, sorted (for order-free comparisons). */
export function data(reply: Packet, type: string): string[] {
  return (reply.answers ?? []).filter((a) => a.type === type).map((a) => {
    const d = (a as { data: unknown }).data;
    if (typeof d === 'string') return d;
    if (Array.isArray(d)) return d.map(String).join('');
    if (d && typeof d === 'object' && 'target' in d) {
      const s = d as { priority: number; weight: number; port: number; target: string };
      return `${s.port} ${s.target}`;
    }
    return JSON.stringify(d);
  }).sort();
}

export interface FakeUpstream {
  port: number;
  /** Questions received, as "name TYPE/transport". */
  seen: string[];
  stop(): Promise<void>;
}

/**
 * A resolver on 127.0.0.1 (UDP and TCP, one port) answering from records, NXDOMAIN for other
 * names. Over UDP it truncates (TC, no answers) anything over 512 bytes, like a real server.
 */
export async function startFakeUpstream(records: Record<string, Answer[]>, opts: { silent?: boolean } = {}): Promise<FakeUpstream> {
  const seen: string[] = [];
  const answer = (msg: Buffer, transport: string): Buffer | undefined => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0];
    seen.push(`${question.name} ${question.type}/${transport}`);
    if (opts.silent) return undefined;
    const all = records[question.name.toLowerCase()];
    const answers = (all ?? []).filter((a) => a.type === question.type || a.type === 'CNAME').map((a) => ({ ...a, name: question.name }));
    const reply: Packet = {
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | (all ? 0 : 3),
      questions: q.questions, answers,
    };
    let out = dnsPacket.encode(reply);
    if (transport === 'udp' && out.length > 512) out = dnsPacket.encode({ ...reply, answers: [], flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
    return out;
  };
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  for (let attempt = 0; ; attempt++) {
    udp = createSocket('udp4');
    await new Promise<void>((r) => udp!.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    tcp = createServer();
    const ok = await new Promise<boolean>((r) => {
      tcp!.once('error', () => r(false));
      tcp!.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) break;
    udp.close();
    if (attempt > 10) throw new Error('no free port pair for the fake upstream');
  }
  const conns = new Set<Socket>();
  udp.on('message', (msg, rinfo) => {
    const out = answer(msg, 'udp');
    if (out) udp!.send(out, rinfo.port, rinfo.address);
  });
  tcp.on('connection', (socket) => {
    conns.add(socket);
    socket.on('close', () => conns.delete(socket));
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = answer(msg, 'tcp');
        if (!out) continue;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length, 0);
        socket.write(Buffer.concat([len, out]));
      }
    });
    socket.on('error', () => socket.destroy());
  });
  return {
    port: udp.address().port, seen,
    async stop() {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => udp!.close(() => r()));
      await new Promise<void>((r) => tcp!.close(() => r()));
    },
  };
}
