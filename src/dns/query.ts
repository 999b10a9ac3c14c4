// One DNS message in, one answer out: names in the cluster zone (and PTR names of cluster
// addresses) are answered from the cluster view, everything else is forwarded upstream.
// UDP answers fit the client's size (512 bytes, or its EDNS(0) payload size); what does not
// fit is cut at whole records with TC set, so the client retries over TCP (RFC 1035 4.2.1,
// RFC 6891 6.2.5).
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';
import type { ClusterView } from './cluster-view.ts';
import { compressOwnerNames } from './compress.ts';
import { forwardQuery, type Transport, type Upstream } from './forward.ts';
import { isReverseName, normalizeName } from './names.ts';
import { inZone, type Rcode, type Resolution, resolveInZone, resolveReverse, type ZoneConfig } from './zone.ts';

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const QR = 0x8000;
const OPCODE_QUERY = 0;
/** Our EDNS(0) UDP payload size (the DNS Flag Day 2020 value); clients' larger sizes are capped at 4096. */
const EDNS_PAYLOAD = 1232;
const MAX_UDP = 4096;
const MAX_TCP = 65535;
/** How many CNAMEs an answer follows (ExternalName to ExternalName ...). */
const MAX_CHASE = 8;
const LOG_EVERY_MS = 10_000;

export interface QueryContext {
  view: ClusterView;
  zone: ZoneConfig;
  upstreams: Upstream[];
  upstreamTimeoutMs: number;
  log: (message: string) => void;
  /** When a kind of failure may be logged again (one line per kind every LOG_EVERY_MS: an upstream outage is many queries). */
  quietUntil: Map<string, number>;
  stats: { queries: number; answered: number; forwarded: number; failed: number };
}

/** The answer to one message, or undefined when it deserves none (a response, or too short to reply to). */
export async function answerMessage(msg: Buffer, transport: Transport, ctx: QueryContext): Promise<Buffer | undefined> {
  ctx.stats.queries++;
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch (e) {
    return formErr(msg, (e as Error).message, ctx);
  }
  if (query.type === 'response') return undefined;
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  const questions = query.questions ?? [];
  if (opcode !== OPCODE_QUERY) return respond(query, failure('NOTIMP'), false, transport);
  if (questions.length !== 1) return respond(query, failure('FORMERR'), false, transport);
  const q = questions[0];
  const name = normalizeName(q.name);
  const domain = ctx.zone.domain;
  if (inZone(name, domain)) {
    if (q.class !== undefined && q.class !== 'IN' && q.class !== 'ANY') return respond(query, failure('REFUSED'), false, transport);
    // Before the first list an answer could deny a Service that exists; SERVFAIL makes clients retry.
    if (!ctx.view.synced()) return respond(query, failure('SERVFAIL'), false, transport);
    ctx.stats.answered++;
    return respond(query, await chase(resolveInZone(q.name, q.type, ctx.view, ctx.zone), transport, ctx), true, transport);
  }
  // PTR names of cluster addresses are ours; other reverse names go upstream (CoreDNS's fallthrough).
  if (isReverseName(name) && ctx.view.synced() && (q.class ?? 'IN') === 'IN') {
    const res = resolveReverse(q.name, q.type, ctx.view, ctx.zone);
    if (res) {
      ctx.stats.answered++;
      return respond(query, res, true, transport);
    }
  }
  ctx.stats.forwarded++;
  try {
    return await forwardQuery(msg, ctx.upstreams, transport, ctx.upstreamTimeoutMs);
  } catch (e) {
    ctx.stats.failed++;
    logSometimes(ctx, 'forward', `forwarding ${q.name} ${q.type}: ${(e as Error).message}`);
    return respond(query, failure('SERVFAIL'), false, transport);
  }
}

function logSometimes(ctx: QueryContext, kind: string, message: string): void {
  const now = Date.now();
  if ((ctx.quietUntil.get(kind) ?? 0) > now) return;
  ctx.quietUntil.set(kind, now + LOG_EVERY_MS);
  ctx.log(`${message} (more like this are not logged for ${LOG_EVERY_MS / 1000} s)`);
}

function failure(rcode: Rcode): Resolution {
  return { rcode, answers: [], authorities: [], additionals: [] };
}

/** Follows an ExternalName's CNAME: in the zone from the view, elsewhere through the upstreams. */
async function chase(first: Resolution, transport: Transport, ctx: QueryContext): Promise<Resolution> {
  let res = first;
  const answers = [...first.answers];
  for (let hops = 0; res.chase && hops < MAX_CHASE; hops++) {
    const { name, type } = res.chase;
    if (inZone(normalizeName(name), ctx.zone.domain)) {
      res = resolveInZone(name, type, ctx.view, ctx.zone);
      answers.push(...res.answers);
      continue;
    }
    try {
      const upstream = await resolveUpstream(name, type, transport, ctx);
      answers.push(...(upstream.answers ?? []));
      return { rcode: (upstream as { rcode?: Rcode }).rcode ?? 'NOERROR', answers, authorities: upstream.authorities ?? [], additionals: [] };
    } catch (e) {
      // The CNAME alone is still a true answer; the client's resolver may follow it itself.
      logSometimes(ctx, 'chase', `resolving ExternalName target ${name} ${type}: ${(e as Error).message}`);
      return { rcode: 'NOERROR', answers, authorities: [], additionals: [] };
    }
  }
  return { ...res, answers, chase: undefined };
}

async function resolveUpstream(name: string, type: RecordType, transport: Transport, ctx: QueryContext): Promise<DecodedPacket> {
  const query = dnsPacket.encode({ type: 'query', id: randomInt(65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
  let reply = dnsPacket.decode(await forwardQuery(query, ctx.upstreams, transport, ctx.upstreamTimeoutMs));
  if (reply.flag_tc && transport === 'udp') reply = dnsPacket.decode(await forwardQuery(query, ctx.upstreams, 'tcp', ctx.upstreamTimeoutMs));
  return reply;
}

function ednsOpt(query: DecodedPacket): { udpPayloadSize: number } | undefined {
  return query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
}

function respond(query: DecodedPacket, res: Resolution, authoritative: boolean, transport: Transport): Buffer {
  const opt = ednsOpt(query);
  const flags = (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
    dnsPacket.RECURSION_AVAILABLE | RCODES[res.rcode];
  const optRecord: Answer[] = opt ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const packet: Packet = {
    type: 'response', id: query.id, flags, questions: query.questions,
    answers: res.answers, authorities: res.authorities, additionals: [...res.additionals, ...optRecord],
  };
  const limit = transport === 'tcp' ? MAX_TCP : Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, MAX_UDP));
  return encodeWithin(packet, limit);
}

/**
 * The packet encoded in at most limit bytes: first without the additional section (which
 * needs no TC, RFC 2181 9), then with as many whole answers as fit and TC set.
 */
export function encodeWithin(packet: Packet, limit: number): Buffer {
  const encode = (p: Packet) => compressOwnerNames(dnsPacket.encode(p));
  const full = encode(packet);
  if (full.length <= limit) return full;
  const opt = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  const lean = { ...packet, additionals: opt };
  const leanBuf = encode(lean);
  if (leanBuf.length <= limit) return leanBuf;
  const answers = packet.answers ?? [];
  const cut = (n: number) => encode({ ...lean, flags: (lean.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: answers.slice(0, n), authorities: [] });
  let lo = 0;
  let hi = answers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cut(mid).length <= limit) lo = mid;
    else hi = mid - 1;
  }
  return cut(lo);
}

/** FORMERR for a message we could not decode, if it has a header to answer to. */
function formErr(msg: Buffer, why: string, ctx: QueryContext): Buffer | undefined {
  if (msg.length < 12 || (msg.readUInt16BE(2) & QR) !== 0) return undefined;
  logSometimes(ctx, 'malformed', `malformed query (${msg.length} bytes): ${why}`);
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(QR | (msg.readUInt16BE(2) & 0x7900) | RCODES.FORMERR, 2); // keep opcode and RD
  return out;
}
