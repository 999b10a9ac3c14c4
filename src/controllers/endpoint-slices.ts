// What the EndpointSlice controller computes for one Service and address type:
// the endpoints each pod should have (grouped by the ports resolved on it) and
// the slice creates/updates/deletes that get there with little churn — the
// reconciler of k8s.io/endpointslice: keep endpoints where they are, update
// changed ones in place, fill slices being written anyway before touching
// others, and only then add to the fullest unchanged slice that fits or create.
// https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import {
  type AddressType, HEADLESS_LABEL, ZONE_LABEL, findPort, podIPsOf, shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpoint-pods.ts';
import { isPodReady, isPodTerminating } from './pod-control.ts';
import { cloneJson } from '../api/json-clone.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** kube-controller-manager --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** Endpoints that share one set of ports (they go into the same slices). */
export interface EndpointGroup {
  ports: EndpointPort[];
  /** endpoint key (the pod) -> endpoint; insertion order is the order new ones are placed. */
  endpoints: Map<string, Endpoint>;
}

export interface DesiredEndpoints {
  /** port key -> group */
  groups: Map<string, EndpointGroup>;
  /** Pods left out because their node is not (yet) known; the sync retries later. */
  podsOnUnknownNodes: string[];
}

export function desiredEndpoints(svc: Service, pods: Pod[], nodeOf: (name: string) => Node | undefined, type: AddressType): DesiredEndpoints {
  const groups = new Map<string, EndpointGroup>();
  const podsOnUnknownNodes: string[] = [];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  for (const pod of pods) {
    // Terminating pods stay, marked terminating, so proxies can drain them.
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const addresses = podIPsOf(pod, type);
    if (addresses.length === 0) continue;
    const nodeName = pod.spec?.nodeName ?? '';
    const node = nodeName ? nodeOf(nodeName) : undefined;
    if (!node && !publishNotReady) {
      // A pod bound to a node that doesn't exist would otherwise stay forever; wait for the node instead.
      podsOnUnknownNodes.push(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
      continue;
    }
    const ports = endpointPorts(svc, pod);
    const key = portsKey(ports);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ports, endpoints: new Map() }));
    const serving = isPodReady(pod);
    const terminating = isPodTerminating(pod);
    const zone = node?.metadata?.labels?.[ZONE_LABEL];
    const endpoint: Endpoint = {
      addresses,
      // ready is never true for a terminating endpoint unless the Service publishes not-ready addresses.
      conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
      ...(shouldSetHostname(pod, svc) ? { hostname: pod.spec!.hostname } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
      ...(nodeName ? { nodeName } : {}),
      ...(zone ? { zone } : {}),
    };
    group.endpoints.set(endpointKey(endpoint), endpoint);
  }
  return { groups, podsOnUnknownNodes };
}

/** The Service's ports as resolved on this pod (ports the pod lacks are left out). */
function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({ name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

export function portsKey(ports: readonly EndpointPort[] | undefined): string {
  return (ports ?? []).map((p) => `${p.name ?? ''}|${p.port ?? ''}|${p.protocol ?? 'TCP'}|${p.appProtocol ?? ''}`).sort().join(';');
}

/** An endpoint is identified by the pod it stands for (or its first address). */
export function endpointKey(ep: Endpoint): string {
  const r = ep.targetRef;
  return r ? `${r.kind}/${r.namespace}/${r.name}` : `addr/${ep.addresses[0] ?? ''}`;
}

function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  const norm = (e: Endpoint) => JSON.stringify([
    e.addresses, e.conditions?.ready ?? null, e.conditions?.serving ?? null, e.conditions?.terminating ?? null,
    e.hostname ?? '', e.nodeName ?? '', e.zone ?? '', e.hints ?? null,
    e.targetRef ? [e.targetRef.kind, e.targetRef.namespace, e.targetRef.name, e.targetRef.uid] : null,
  ]);
  return norm(a) === norm(b);
}

/** Labels of a Service's slices: the Service's own, plus ownership and the headless marker. */
export function sliceLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  delete labels[HEADLESS_LABEL];
  if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  labels[SERVICE_NAME_LABEL] = svc.metadata?.name ?? '';
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
  return labels;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a![k] === b[k]);
}

export function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Service' && r.uid === svc.metadata?.uid);
}

export function newSlice(svc: Service, type: AddressType, ports: EndpointPort[]): EndpointSlice {
  const name = svc.metadata?.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      // Service names are at most 63 characters, so "<name>-" plus 5 random ones is always a valid name.
      generateName: `${name}-`,
      namespace: svc.metadata?.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType: type,
    endpoints: [],
    ports,
  };
}

export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/** The writes that make existing slices (one address type, this Service's) hold exactly the desired endpoints. */
export function planSlices(svc: Service, type: AddressType, existing: EndpointSlice[], desired: Map<string, EndpointGroup>, max = MAX_ENDPOINTS_PER_SLICE): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const existingByPorts = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    if (!ownedBy(s, svc)) {
      plan.delete.push(s); // left by an older Service of the same name
      continue;
    }
    const key = portsKey(s.ports);
    existingByPorts.set(key, [...(existingByPorts.get(key) ?? []), s]);
  }
  for (const [key, group] of desired) {
    const p = planPortGroup(svc, type, existingByPorts.get(key) ?? [], group, max);
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
  }
  for (const [key, slices] of existingByPorts) if (!desired.has(key)) plan.delete.push(...slices);

  // A Service with no endpoints still gets one empty slice, so consumers can tell "none" from "not computed yet".
  if (plan.delete.length === existing.length && plan.create.length === 0) {
    const placeholder = newSlice(svc, type, []);
    const keep = plan.delete.length === 1 && isPlaceholderFor(plan.delete[0], placeholder, svc);
    if (keep) plan.delete = [];
    else plan.create.push(placeholder);
  }

  // Rather than deleting one slice and creating another, rewrite the one being deleted.
  while (plan.create.length && plan.delete.some((d) => ownedBy(d, svc))) {
    const i = plan.delete.findIndex((d) => ownedBy(d, svc));
    const reuse = plan.delete.splice(i, 1)[0];
    const fresh = plan.create.pop()!;
    const { generateName: _g, ...meta } = fresh.metadata ?? {};
    plan.update.push({ ...fresh, metadata: { ...reuse.metadata, ...meta, name: reuse.metadata?.name } });
  }
  return plan;
}

function isPlaceholderFor(s: EndpointSlice, placeholder: EndpointSlice, svc: Service): boolean {
  return ownedBy(s, svc) && (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0 &&
    sameLabels(s.metadata?.labels, placeholder.metadata!.labels!);
}

function planPortGroup(svc: Service, type: AddressType, existing: EndpointSlice[], group: EndpointGroup, max: number): SlicePlan {
  const wanted = new Map(group.endpoints);
  const labels = sliceLabels(svc);
  const toUpdate = new Map<string, EndpointSlice>();
  const unchanged = new Map<string, EndpointSlice>();
  const toDelete: EndpointSlice[] = [];

  // 1. Keep wanted endpoints where they are (updated in place), drop the rest.
  for (const s of existing) {
    const kept: Endpoint[] = [];
    let changed = false;
    for (const ep of s.endpoints ?? []) {
      const want = wanted.get(endpointKey(ep));
      if (!want) continue;
      kept.push(want);
      if (!endpointsEqual(want, ep)) changed = true;
      wanted.delete(endpointKey(ep));
    }
    const name = s.metadata!.name!;
    if (changed || kept.length !== (s.endpoints ?? []).length) {
      if (kept.length === 0) toDelete.push(s);
      else toUpdate.set(name, { ...withLabels(s, labels), endpoints: kept });
    } else if (!sameLabels(s.metadata?.labels, labels)) {
      toUpdate.set(name, withLabels(s, labels));
    } else {
      unchanged.set(name, s);
    }
  }

  // 2. Fill the slices written anyway, fullest first.
  const remaining = [...wanted.values()];
  const fullestFirst = [...toUpdate.values()].sort((a, b) => b.endpoints.length - a.endpoints.length);
  for (const s of fullestFirst) while (remaining.length && s.endpoints.length < max) s.endpoints.push(remaining.shift()!);

  // 3. The rest: into the fullest unchanged slice that takes them all, else new slices.
  const create: EndpointSlice[] = [];
  while (remaining.length) {
    let target: EndpointSlice | undefined;
    if (remaining.length < max) {
      const fits = [...unchanged.values()].filter((s) => s.endpoints.length + remaining.length <= max)
        .sort((a, b) => b.endpoints.length - a.endpoints.length)[0];
      if (fits) {
        unchanged.delete(fits.metadata!.name!);
        target = cloneJson(fits);
        toUpdate.set(target.metadata!.name!, target);
      }
    }
    if (!target) create.push((target = newSlice(svc, type, group.ports)));
    while (remaining.length && target.endpoints.length < max) target.endpoints.push(remaining.shift()!);
  }
  return { create, update: [...toUpdate.values()], delete: toDelete };
}

/** A copy of the slice carrying labels. */
function withLabels(s: EndpointSlice, labels: Record<string, string>): EndpointSlice {
  const next = cloneJson(s);
  next.metadata = { ...next.metadata, labels };
  return next;
}
