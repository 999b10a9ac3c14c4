// The core/v1 Endpoints subsets of a Service: one address per pod (ready or
// not ready) for every set of resolved ports, packed so that pods exposing the
// same ports share a subset (pkg/api/v1/endpoints RepackSubsets), in a stable
// order so an unchanged world compares equal to what is stored.
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoints-v1/
import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import { findPort, podIPsOf, addressTypesOf, shouldPodBeInEndpoints, shouldSetHostname } from './endpoint-pods.ts';
import { isPodReady } from './pod-control.ts';

/** Endpoints hold at most this many addresses; more are truncated and annotated over-capacity. */
export const MAX_ENDPOINTS_CAPACITY = 1000;

interface Entry {
  address: EndpointAddress;
  ready: boolean;
  ports: EndpointPort[];
}

/** The subsets the Service's pods (already selected) should produce. */
export function subsetsFor(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const family = addressTypesOf(svc)[0];
  const entries: Entry[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const ip = podIPsOf(pod, family)[0];
    if (!ip) continue; // no IP of the Service's family (a single-stack pod of a dual-stack cluster)
    const address: EndpointAddress = {
      ip,
      ...(shouldSetHostname(pod, svc) ? { hostname: pod.spec!.hostname } : {}),
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
    };
    const ready = publishNotReady || isPodReady(pod);
    const svcPorts = svc.spec?.ports ?? [];
    if (svcPorts.length === 0) {
      // A headless Service may have no ports: its pods are listed without any.
      if (svc.spec?.clusterIP === 'None') entries.push({ address, ready, ports: [] });
      continue;
    }
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue; // this pod has no container port of that name
      entries.push({ address, ready, ports: [endpointPort(sp.name, port, sp.protocol, sp.appProtocol)] });
    }
  }
  return repack(entries);
}

function endpointPort(name: string | undefined, port: number, protocol: string | undefined, appProtocol: string | undefined): EndpointPort {
  return { ...(name ? { name } : {}), port, protocol: protocol ?? 'TCP', ...(appProtocol ? { appProtocol } : {}) };
}

/**
 * Groups addresses by the full set of ports each has: an address listed with
 * port a and port b ends up in one subset with ports [a, b]. An address that is
 * ready for a port set is not also listed as not ready there.
 */
function repack(entries: Entry[]): EndpointSubset[] {
  // address key -> (port key -> port) and readiness
  const byAddress = new Map<string, { address: EndpointAddress; ready: boolean; ports: Map<string, EndpointPort> }>();
  for (const e of entries) {
    const key = addressKey(e.address);
    let a = byAddress.get(key);
    if (!a) byAddress.set(key, (a = { address: e.address, ready: e.ready, ports: new Map() }));
    a.ready ||= e.ready;
    for (const p of e.ports) a.ports.set(portKey(p), p);
  }
  const bySet = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const a of byAddress.values()) {
    const ports = [...a.ports.values()].sort(comparePorts);
    const setKey = ports.map(portKey).join(';');
    let s = bySet.get(setKey);
    if (!s) bySet.set(setKey, (s = { ports, ready: [], notReady: [] }));
    (a.ready ? s.ready : s.notReady).push(a.address);
  }
  return [...bySet.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => ({
    ...(s.ready.length ? { addresses: s.ready.sort(compareAddresses) } : {}),
    ...(s.notReady.length ? { notReadyAddresses: s.notReady.sort(compareAddresses) } : {}),
    ...(s.ports.length ? { ports: s.ports } : {}),
  }));
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}|${a.targetRef?.uid ?? ''}`;
}

function portKey(p: EndpointPort): string {
  return `${p.name ?? ''}|${p.port}|${p.protocol ?? 'TCP'}|${p.appProtocol ?? ''}`;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  const ka = portKey(a);
  const kb = portKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  const ka = ipSortKey(a.ip) + (a.targetRef?.uid ?? '');
  const kb = ipSortKey(b.ip) + (b.targetRef?.uid ?? '');
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** IPv4 sorts numerically (10.0.0.9 before 10.0.0.10). */
function ipSortKey(ip: string): string {
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip.split('.').map((o) => o.padStart(3, '0')).join('.') : ip;
}

/**
 * Keeps at most MAX_ENDPOINTS_CAPACITY addresses, ready ones first, each subset
 * keeping its share (endpoints controller's truncateEndpoints). Returns whether
 * anything was cut.
 */
export function truncateSubsets(subsets: EndpointSubset[]): { subsets: EndpointSubset[]; truncated: boolean } {
  const ready = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
  const notReady = subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0);
  if (ready + notReady <= MAX_ENDPOINTS_CAPACITY) return { subsets, truncated: false };
  const cutReady = ready > MAX_ENDPOINTS_CAPACITY;
  const budget = cutReady ? MAX_ENDPOINTS_CAPACITY : MAX_ENDPOINTS_CAPACITY - ready;
  const total = cutReady ? ready : notReady;
  let left = budget;
  const out = subsets.map((s) => {
    const list = (cutReady ? s.addresses : s.notReadyAddresses) ?? [];
    const n = Math.min(Math.ceil((list.length / total) * budget), left);
    left -= n;
    const kept = list.slice(0, n);
    const { addresses: _a, notReadyAddresses: _n, ...rest } = s;
    const addresses = cutReady ? kept : (s.addresses ?? []);
    const notReadyAddresses = cutReady ? [] : kept;
    return { ...(addresses.length ? { addresses } : {}), ...(notReadyAddresses.length ? { notReadyAddresses } : {}), ...rest };
  });
  return { subsets: out, truncated: true };
}

/** Subsets compare equal ignoring targetRef.resourceVersion and empty lists. */
export function subsetsEqual(a: EndpointSubset[] | undefined, b: EndpointSubset[] | undefined): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(subsets: EndpointSubset[] | undefined): unknown {
  return (subsets ?? []).map((s) => ({
    addresses: (s.addresses ?? []).map(normalizeAddress),
    notReadyAddresses: (s.notReadyAddresses ?? []).map(normalizeAddress),
    ports: (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? '']),
  }));
}

function normalizeAddress(a: EndpointAddress): unknown {
  const r = a.targetRef;
  return [a.ip, a.hostname ?? '', a.nodeName ?? '', r ? [r.kind ?? '', r.namespace ?? '', r.name ?? '', r.uid ?? ''] : null];
}
