// What the Endpoints and EndpointSlice controllers both need to know about a
// Service's pods: which pods a Service selects, whether a pod belongs in its
// endpoints, which port a Service port means on a pod, and which Services to
// revisit when a pod changes (pkg/controller/util/endpoint and
// k8s.io/endpointslice/util semantics).
// https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors
import type { Node, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.d.ts';
import { labelSelectorFromSet, matchesLabels } from '../api/selectors/index.ts';
import { keyOf } from '../client/cache.ts';
import type { Controller } from '../client/controller.ts';
import type { SharedInformer } from '../client/informer.ts';
import { isPodTerminating } from './pod-control.ts';

/** Set on Endpoints/EndpointSlices: when the change that caused this write happened. */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Endpoints and slices of a headless Service (clusterIP None) carry this label. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** Services whose endpoints this controller computes: a selector, and not ExternalName. */
export function hasSelector(svc: Service | undefined): svc is Service {
  return !!svc && !!svc.spec?.selector && svc.spec.type !== 'ExternalName';
}

export function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

/** The pods (from the cache) a Service's selector picks in its namespace. */
export function podsForService(pods: SharedInformer<Pod>, svc: Service): Pod[] {
  const sel = labelSelectorFromSet(svc.spec?.selector ?? {});
  return pods.list(svc.metadata?.namespace ?? '').filter((p) => matchesLabels(sel, p.metadata?.labels ?? {}));
}

/**
 * ShouldPodBeInEndpoints: terminal pods (Succeeded/Failed) and pods without an
 * IP never are; terminating pods only when includeTerminating.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.status?.podIP && !(pod.status?.podIPs ?? []).length) return false;
  if (!includeTerminating && isPodTerminating(pod)) return false;
  return true;
}

/** A pod gets a DNS hostname in a Service when its hostname is set and its subdomain names that Service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/**
 * podutil.FindPort: the container port a Service port's targetPort means on this
 * pod. A number is used as is; a name is looked up among the pod's container
 * ports with the same protocol (so it can differ per pod). undefined: no such port.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

export type AddressType = 'IPv4' | 'IPv6';

export function addressTypeOf(ip: string): AddressType {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

/** The pod's IPs of one family (status.podIPs, falling back to status.podIP). */
export function podIPsOf(pod: Pod, type: AddressType): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.filter((ip) => addressTypeOf(ip) === type);
}

/** The address families a Service's endpoints use: spec.ipFamilies, else the clusterIP's, else IPv4. */
export function addressTypesOf(svc: Service): AddressType[] {
  const fams = (svc.spec?.ipFamilies ?? []).filter((f): f is AddressType => f === 'IPv4' || f === 'IPv6');
  if (fams.length) return fams;
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None') return [addressTypeOf(ip)];
  return ['IPv4'];
}

/**
 * The time of the latest change among the Service and its pods (creation,
 * readiness transition, deletion): what the last-change-trigger-time annotation
 * reports. Kubernetes tracks the first unprocessed change; the latest known
 * change is the same instant whenever syncs keep up, and needs no state.
 */
export function lastChangeTriggerTime(svc: Service, pods: Pod[]): string {
  let latest = svc.metadata?.creationTimestamp ?? '';
  const consider = (t: string | undefined) => {
    if (t && Date.parse(t) > Date.parse(latest || '1970-01-01T00:00:00Z')) latest = t;
  };
  for (const p of pods) {
    consider(p.metadata?.creationTimestamp);
    consider(p.metadata?.deletionTimestamp);
    consider(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime);
  }
  return latest ? new Date(Date.parse(latest)).toISOString().replace('.000Z', 'Z') : new Date().toISOString();
}

/** Keys of the Services in the pod's namespace whose selector matches the pod. */
export function servicesForPod(services: SharedInformer<Service>, pod: Pod): string[] {
  const labels = pod.metadata?.labels ?? {};
  return services.list(pod.metadata?.namespace ?? '')
    .filter((s) => s.spec?.selector && matchesLabels(labelSelectorFromSet(s.spec.selector), labels))
    .map((s) => keyOf(s));
}

/**
 * Pod changes wake the Services that select the pod — before and after the
 * change, so a pod whose labels stop matching leaves its old Service. Returns
 * the function that unregisters the handler.
 */
export function enqueueServicesOfPods(c: Controller, services: SharedInformer<Service>, pods: SharedInformer<Pod>): () => void {
  const enqueue = (...ps: Pod[]) => {
    for (const key of new Set(ps.flatMap((p) => servicesForPod(services, p)))) c.enqueue(key);
  };
  return pods.addEventHandler({
    onAdd: (p) => enqueue(p),
    onUpdate: (old, p) => (sameLabels(old, p) ? enqueue(p) : enqueue(old, p)),
    onDelete: (p) => enqueue(p),
  });
}

/**
 * A node appearing (or its zone changing) changes the endpoints of the pods on
 * it: the EndpointSlice controller skips pods of unknown nodes and copies zones.
 */
export function enqueueServicesOfNodes(c: Controller, services: SharedInformer<Service>, pods: SharedInformer<Pod>, nodes: SharedInformer<Node>): () => void {
  const enqueue = (node: Node) => {
    const name = node.metadata?.name;
    const keys = new Set(pods.list().filter((p) => p.spec?.nodeName === name).flatMap((p) => servicesForPod(services, p)));
    for (const key of keys) c.enqueue(key);
  };
  return nodes.addEventHandler({
    onAdd: (n, initial) => {
      if (!initial) enqueue(n);
    },
    onUpdate: (old, n) => {
      if (old.metadata?.labels?.[ZONE_LABEL] !== n.metadata?.labels?.[ZONE_LABEL]) enqueue(n);
    },
    onDelete: (n) => enqueue(n),
  });
}

function sameLabels(a: Pod, b: Pod): boolean {
  const la = a.metadata?.labels ?? {};
  const lb = b.metadata?.labels ?? {};
  const ka = Object.keys(la);
  return ka.length === Object.keys(lb).length && ka.every((k) => la[k] === lb[k]);
}
