// The records of the cluster zone, as the Kubernetes DNS specification lays them out:
// https://github.com/kubernetes/dns/blob/master/docs/specification.md
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/
//
//   <svc>.<ns>.svc.<zone>               A/AAAA: the ClusterIPs; headless: the ready endpoint IPs
//                                       (NXDOMAIN when there are none); ExternalName: CNAME
//   <hostname>.<svc>.<ns>.svc.<zone>    A/AAAA of a ready endpoint of a headless Service (its
//                                       hostname, or its dashed IP when it has none, as CoreDNS)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV per named port (headless: one per endpoint)
//   <a-b-c-d>.<ns>.pod.<zone>           A of a pod address (deprecated records, still required)
//   dns-version.<zone>                  TXT with the schema version
//   <reverse>.in-addr.arpa / ip6.arpa   PTR of ClusterIPs and of headless endpoints
//
// A name that exists without records of the asked type is NODATA (NOERROR, no answers, the
// SOA in the authority section); a name that does not exist is NXDOMAIN. Names on the way to
// records (svc.<zone>, <ns>.svc.<zone>, _tcp.<svc>...) exist, empty (RFC 8020).
import type { Answer, RecordType, SrvAnswer, StringAnswer } from 'dns-packet';
import type { EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import { type ClusterView, serviceIps } from './cluster-view.ts';
import { canonicalIp, dashedIp, ipFamily, ipFromDashed, ipFromReverseName, normalizeName } from './names.ts';

/** The version of the specification these records follow (dns-version.<zone> TXT). */
export const DNS_SCHEMA_VERSION = '1.1.0';

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'NOTIMP' | 'FORMERR';

/** How `<a-b-c-d>.<ns>.pod.<zone>` is answered, as CoreDNS's `pods` option. */
export type PodRecords = 'insecure' | 'verified' | 'disabled';

export interface ZoneConfig {
  /** The cluster domain, normalized (no trailing dot, lower case). */
  domain: string;
  ttl: number;
  podRecords: PodRecords;
  /** SOA serial. */
  serial: number;
}

export interface Resolution {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** An ExternalName's target still to resolve for the asked type (its answers follow the CNAME). */
  chase?: { name: string; type: RecordType };
}

/** What exists at one name: exists=false is NXDOMAIN; records may be empty (an empty non-terminal). */
interface NameRecords {
  exists: boolean;
  records: Answer[];
  /** Records for the additional section, by the type they go with (A/AAAA of SRV targets). */
  additionals?: Answer[];
}

const NXDOMAIN: NameRecords = { exists: false, records: [] };
const EMPTY: NameRecords = { exists: true, records: [] };

export function inZone(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

export function soaRecord(cfg: ZoneConfig): Answer {
  return {
    type: 'SOA', name: cfg.domain, ttl: cfg.ttl, class: 'IN',
    data: { mname: `ns.dns.${cfg.domain}`, rname: `hostmaster.${cfg.domain}`, serial: cfg.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: cfg.ttl },
  };
}

/** Answers a question for a name in the cluster zone (qname as asked; matching is case-insensitive). */
export function resolveInZone(qname: string, qtype: RecordType, view: ClusterView, cfg: ZoneConfig): Resolution {
  const name = normalizeName(qname);
  const rel = name === cfg.domain ? [] : name.slice(0, -(cfg.domain.length + 1)).split('.');
  const found = rel.some((l) => l === '') ? NXDOMAIN : lookup(rel, view, cfg);
  // Records are made with the normalized name; answer with the name as asked (0x20 case randomization).
  const named = found.records.map((r) => (r.name === name ? { ...r, name: qname } : r)) as Answer[];
  return select(named, found, qtype, cfg);
}

function select(records: Answer[], found: NameRecords, qtype: RecordType, cfg: ZoneConfig): Resolution {
  if (!found.exists) return { rcode: 'NXDOMAIN', answers: [], authorities: [soaRecord(cfg)], additionals: [] };
  const cname = records.find((r) => r.type === 'CNAME');
  if (cname && qtype !== 'CNAME' && (qtype as string) !== 'ANY') {
    return { rcode: 'NOERROR', answers: [cname], authorities: [], additionals: [], chase: { name: (cname as StringAnswer).data, type: qtype } };
  }
  const answers = (qtype as string) === 'ANY' ? records : records.filter((r) => r.type === qtype);
  if (answers.length === 0) return { rcode: 'NOERROR', answers: [], authorities: [soaRecord(cfg)], additionals: [] };
  return { rcode: 'NOERROR', answers, authorities: [], additionals: qtype === 'SRV' ? found.additionals ?? [] : [] };
}

function lookup(rel: string[], view: ClusterView, cfg: ZoneConfig): NameRecords {
  if (rel.length === 0) return { exists: true, records: [soaRecord(cfg)] };
  const top = rel[rel.length - 1];
  if (rel.length === 1 && top === 'dns-version') {
    return { exists: true, records: [{ type: 'TXT', name: `dns-version.${cfg.domain}`, ttl: cfg.ttl, class: 'IN', data: DNS_SCHEMA_VERSION }] };
  }
  if (top === 'svc') return serviceTree(rel.slice(0, -1), view, cfg);
  if (top === 'pod') return podTree(rel.slice(0, -1), view, cfg);
  return NXDOMAIN;
}

/** Names under svc.<zone>; rel is what comes before "svc", e.g. ["_http", "_tcp", "web", "default"]. */
function serviceTree(rel: string[], view: ClusterView, cfg: ZoneConfig): NameRecords {
  if (rel.length === 0) return EMPTY;
  const ns = rel[rel.length - 1];
  if (rel.length === 1) return view.hasServicesIn(ns) ? EMPTY : NXDOMAIN;
  const svc = view.service(ns, rel[rel.length - 2]);
  if (!svc) return NXDOMAIN;
  const ctx = new ServiceRecords(svc, view, cfg);
  const below = rel.slice(0, -2);
  // A headless Service without ready endpoints has no records at all (spec 2.4.1: NXDOMAIN).
  if (ctx.headless && ctx.endpoints().length === 0) return NXDOMAIN;
  if (below.length === 0) return { exists: true, records: ctx.serviceRecords() };
  if (below.length === 1 && below[0].startsWith('_')) return ctx.hasPortsFor(below[0].slice(1)) ? EMPTY : NXDOMAIN;
  if (below.length === 1) return ctx.endpointRecords(below[0]);
  if (below.length === 2 && below[0].startsWith('_') && below[1].startsWith('_')) return ctx.srvRecords(below[0].slice(1), below[1].slice(1));
  return NXDOMAIN;
}

interface ReadyEndpoint {
  hostname: string;
  ip: string;
  ports: EndpointPort[];
}

/** The records of one Service, computed on demand for one query. */
class ServiceRecords {
  readonly headless: boolean;
  private readonly svc: Service;
  private readonly view: ClusterView;
  private readonly cfg: ZoneConfig;
  private readonly fqdn: string;
  private ready: ReadyEndpoint[] | undefined;

  constructor(svc: Service, view: ClusterView, cfg: ZoneConfig) {
    this.svc = svc;
    this.view = view;
    this.cfg = cfg;
    this.fqdn = `${svc.metadata!.name}.${svc.metadata!.namespace}.svc.${cfg.domain}`;
    this.headless = svc.spec?.type !== 'ExternalName' && svc.spec?.clusterIP === 'None';
  }

  /** Ready endpoints of a headless Service, one per address (slices may overlap while they are rebalanced). */
  endpoints(): ReadyEndpoint[] {
    if (this.ready) return this.ready;
    const publishNotReady = this.svc.spec?.publishNotReadyAddresses === true;
    const byIp = new Map<string, ReadyEndpoint>();
    for (const slice of this.view.endpointSlices(this.svc.metadata!.namespace!, this.svc.metadata!.name!)) {
      if (slice.addressType === 'FQDN') continue;
      for (const e of slice.endpoints ?? []) {
        // An unknown ready condition counts as ready (EndpointConditions.ready's documentation).
        if (e.conditions?.ready === false && !publishNotReady) continue;
        for (const ip of e.addresses) {
          if (ipFamily(ip) === 0 || byIp.has(canonicalIp(ip))) continue;
          byIp.set(canonicalIp(ip), { hostname: (e.hostname || dashedIp(ip)).toLowerCase(), ip, ports: slice.ports ?? [] });
        }
      }
    }
    this.ready = [...byIp.values()];
    return this.ready;
  }

  serviceRecords(): Answer[] {
    if (this.svc.spec?.type === 'ExternalName') {
      const target = normalizeName(this.svc.spec.externalName ?? '');
      return target ? [{ type: 'CNAME', name: this.fqdn, ttl: this.cfg.ttl, class: 'IN', data: target }] : [];
    }
    const ips = this.headless ? this.endpoints().map((e) => e.ip) : serviceIps(this.svc);
    return addressRecords(this.fqdn, ips, this.cfg.ttl);
  }

  endpointRecords(hostname: string): NameRecords {
    if (!this.headless) return NXDOMAIN;
    const mine = this.endpoints().filter((e) => e.hostname === hostname);
    if (mine.length === 0) return NXDOMAIN;
    return { exists: true, records: addressRecords(`${hostname}.${this.fqdn}`, mine.map((e) => e.ip), this.cfg.ttl) };
  }

  private namedPorts(port: string | undefined, proto: string): { name: string; port: number; protocol: string }[] {
    return (this.svc.spec?.ports ?? [])
      .filter((p) => p.name && (port === undefined || p.name.toLowerCase() === port) && (p.protocol ?? 'TCP').toLowerCase() === proto)
      .map((p) => ({ name: p.name!, port: p.port, protocol: p.protocol ?? 'TCP' }));
  }

  hasPortsFor(proto: string): boolean {
    return this.namedPorts(undefined, proto).length > 0;
  }

  srvRecords(port: string, proto: string): NameRecords {
    const ports = this.namedPorts(port, proto);
    if (ports.length === 0) return NXDOMAIN;
    const name = `_${port}._${proto}.${this.fqdn}`;
    const srv = (target: string, portNumber: number, weight: number): SrvAnswer =>
      ({ type: 'SRV', name, ttl: this.cfg.ttl, class: 'IN', data: { priority: 0, weight, port: portNumber, target } });
    if (this.svc.spec?.type === 'ExternalName') {
      const target = normalizeName(this.svc.spec.externalName ?? '');
      return { exists: true, records: target ? ports.map((p) => srv(target, p.port, 100)) : [] };
    }
    if (!this.headless) {
      return { exists: true, records: ports.map((p) => srv(this.fqdn, p.port, 100)), additionals: this.serviceRecords() };
    }
    // Headless: one record per ready endpoint, with the endpoint's port of that name (the target port).
    const targets = new Map<string, { port: number; ips: string[] }>();
    for (const e of this.endpoints()) {
      for (const p of ports) {
        const ep = e.ports.find((x) => (x.name ?? '') === p.name && (x.protocol ?? 'TCP') === p.protocol);
        if (ep?.port === undefined || ep.port === null) continue;
        const key = `${e.hostname}:${ep.port}`;
        const t = targets.get(key) ?? { port: ep.port, ips: [] };
        t.ips.push(e.ip);
        targets.set(key, t);
      }
    }
    const weight = Math.max(1, Math.floor(100 / Math.max(1, targets.size)));
    const records: Answer[] = [];
    const additionals: Answer[] = [];
    const seenHost = new Set<string>();
    for (const [key, t] of targets) {
      const host = `${key.slice(0, key.lastIndexOf(':'))}.${this.fqdn}`;
      records.push(srv(host, t.port, weight));
      if (!seenHost.has(host)) additionals.push(...addressRecords(host, t.ips, this.cfg.ttl));
      seenHost.add(host);
    }
    return { exists: true, records, additionals };
  }
}

function addressRecords(name: string, ips: string[], ttl: number): Answer[] {
  return ips.map((ip) => ({ type: ipFamily(ip) === 6 ? 'AAAA' as const : 'A' as const, name, ttl, class: 'IN' as const, data: ip }));
}

/** Names under pod.<zone>: <dashed-ip>.<ns>.pod.<zone>. */
function podTree(rel: string[], view: ClusterView, cfg: ZoneConfig): NameRecords {
  if (cfg.podRecords === 'disabled') return NXDOMAIN;
  const verified = cfg.podRecords === 'verified' && view.podsByIp !== undefined;
  if (rel.length === 0) return EMPTY;
  const ns = rel[rel.length - 1];
  if (rel.length === 1) return !verified || view.hasPodsIn!(ns) ? EMPTY : NXDOMAIN;
  if (rel.length !== 2) return NXDOMAIN;
  const ip = ipFromDashed(rel[0]);
  if (!ip) return NXDOMAIN;
  if (verified && !view.podsByIp!(ip).some((p) => p.metadata?.namespace === ns)) return NXDOMAIN;
  return { exists: true, records: addressRecords(`${rel[0]}.${ns}.pod.${cfg.domain}`, [ip], cfg.ttl) };
}

/**
 * PTR records of an address the cluster knows: a Service's ClusterIP, or a ready endpoint of a
 * headless Service. undefined when the name is not one of ours (the server forwards it, as
 * CoreDNS's `fallthrough in-addr.arpa ip6.arpa`).
 */
export function resolveReverse(qname: string, qtype: RecordType, view: ClusterView, cfg: ZoneConfig): Resolution | undefined {
  const ip = ipFromReverseName(qname);
  if (!ip) return undefined;
  const targets = new Set<string>();
  for (const svc of view.servicesByIp(ip)) targets.add(`${svc.metadata!.name}.${svc.metadata!.namespace}.svc.${cfg.domain}`);
  for (const slice of view.endpointSlicesByIp(ip)) {
    for (const host of headlessEndpointNames(slice, ip, view, cfg)) targets.add(host);
  }
  if (targets.size === 0) return undefined;
  const records: Answer[] = [...targets].map((t) => ({ type: 'PTR', name: qname, ttl: cfg.ttl, class: 'IN', data: t }));
  const answers = qtype === 'PTR' || (qtype as string) === 'ANY' ? records : [];
  return { rcode: 'NOERROR', answers, authorities: [], additionals: [] };
}

function headlessEndpointNames(slice: EndpointSlice, ip: string, view: ClusterView, cfg: ZoneConfig): string[] {
  const ns = slice.metadata?.namespace ?? '';
  const svcName = slice.metadata?.labels?.['kubernetes.io/service-name'];
  const svc = svcName ? view.service(ns, svcName) : undefined;
  if (!svc || svc.spec?.type === 'ExternalName' || svc.spec?.clusterIP !== 'None') return [];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const want = canonicalIp(ip);
  const out: string[] = [];
  for (const e of slice.endpoints ?? []) {
    if (e.conditions?.ready === false && !publishNotReady) continue;
    const addr = e.addresses.find((a) => ipFamily(a) !== 0 && canonicalIp(a) === want);
    if (addr) out.push(`${(e.hostname || dashedIp(addr)).toLowerCase()}.${svcName}.${ns}.svc.${cfg.domain}`);
  }
  return out;
}
