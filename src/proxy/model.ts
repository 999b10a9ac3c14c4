// What the proxy needs to know about one Service port: its frontends (ClusterIPs,
// externalIPs, load-balancer IPs, NodePort) and its ready endpoints, read from the
// Service and its EndpointSlices. Pure functions; the nft layer (rules.ts) turns
// this into map elements.
// https://kubernetes.io/docs/reference/networking/virtual-ips/
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** Where the proxy runs: which endpoints are local, and what counts as "inside the cluster". */
export interface NodeConfig {
  nodeName: string;
  /** Addresses NodePorts answer on; empty means every local address (but not 127.0.0.0/8, as kube-proxy's nftables mode). */
  nodeAddresses: string[];
  /** Pod range; traffic to a Service from outside it is masqueraded (kube-proxy's --cluster-cidr). */
  clusterCidr: string;
}

export interface Endpoint {
  ip: string;
  port: number;
  /** The node the endpoint runs on; undefined when the slice does not say. */
  nodeName?: string;
}

export interface ServicePort {
  /** "namespace/name/portName" (portName "" for an unnamed port): stable while the Service keeps the port. */
  key: string;
  protocol: Protocol;
  port: number;
  /** IPv4 ClusterIPs. */
  clusterIPs: string[];
  /** spec.externalIPs and status.loadBalancer.ingress IPs: treated as external traffic. */
  externalIPs: string[];
  nodePort?: number;
  /** Set for sessionAffinity: ClientIP. */
  affinityTimeoutSeconds?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Ready endpoints, deduplicated, sorted by ip then port. */
  endpoints: Endpoint[];
}

// kube-proxy's default: sessionAffinityConfig.clientIP.timeoutSeconds defaults to 3 hours.
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/#ServiceSpec
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The namespace/name of the Service an EndpointSlice belongs to (its kubernetes.io/service-name label). */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.['kubernetes.io/service-name'];
  return name ? `${slice.metadata?.namespace ?? ''}/${name}` : undefined;
}

/** Whether the proxy programs the Service at all: headless and ExternalName Services are DNS-only. */
export function isProxied(svc: Service): boolean {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return false;
  if (!spec.clusterIP || spec.clusterIP === 'None') return false;
  return true;
}

function protocolOf(p: string | undefined): Protocol | undefined {
  switch (p ?? 'TCP') {
    case 'TCP': return 'tcp';
    case 'UDP': return 'udp';
    case 'SCTP': return 'sctp';
    default: return undefined;
  }
}

/**
 * The Service's ports with their ready endpoints. Only ready endpoints carry new connections:
 * serving-but-terminating ones keep the connections they have through conntrack.
 * https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions
 */
export function servicePorts(svc: Service, slices: readonly EndpointSlice[]): ServicePort[] {
  if (!isProxied(svc)) return [];
  const spec = svc.spec!;
  const ns = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const clusterIPs = unique((spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP!]).filter((ip) => IPV4.test(ip)));
  const externalIPs = unique([...(spec.externalIPs ?? []), ...((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''))].filter((ip) => IPV4.test(ip)));
  const affinity = spec.sessionAffinity === 'ClientIP'
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS)
    : undefined;
  const out: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = protocolOf(p.protocol);
    if (!protocol || !p.port) continue;
    const portName = p.name ?? '';
    out.push({
      key: `${ns}/${name}/${portName}`,
      protocol,
      port: p.port,
      clusterIPs,
      externalIPs,
      nodePort: (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort ? p.nodePort : undefined,
      affinityTimeoutSeconds: affinity,
      internalLocal: spec.internalTrafficPolicy === 'Local',
      externalLocal: spec.externalTrafficPolicy === 'Local',
      endpoints: readyEndpoints(slices, portName, protocol),
    });
  }
  return out;
}

/** Ready IPv4 endpoints of one named port across a Service's slices. */
export function readyEndpoints(slices: readonly EndpointSlice[], portName: string, protocol: Protocol): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((sp) => (sp.name ?? '') === portName && protocolOf(sp.protocol) === protocol);
    if (!port?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      // A nil ready condition means "ready" (the API's documented default for unknown state).
      if (ep.conditions?.ready === false) continue;
      for (const ip of ep.addresses ?? []) {
        if (!IPV4.test(ip)) continue;
        const key = `${ip}:${port.port}`;
        if (!seen.has(key)) seen.set(key, { ip, port: port.port, nodeName: ep.nodeName });
      }
    }
  }
  return [...seen.values()].sort((a, b) => compareIp(a.ip, b.ip) || a.port - b.port);
}

function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Endpoints on this node, for the Local traffic policies (as kube-proxy: the slice's nodeName says so). */
export function isLocal(ep: Endpoint, nodeName: string): boolean {
  return ep.nodeName === nodeName;
}
