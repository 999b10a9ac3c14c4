// Resource arithmetic the scheduler does on integers: milli-CPU and bytes, parsed once per pod
// and node. Requests follow the pod resource model kube-scheduler uses (component-helpers PodRequests):
// https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers
// https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#resource-sharing-within-containers
import type { Container, Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { parseQuantity } from '../api/validation/index.ts';

/** Requests or capacity: cpu in milli-cores, memory and ephemeral-storage in bytes, other resources (extended, hugepages) in units. */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended and hugepages resources; empty for most pods. */
  scalar: Map<string, number>;
}

/** What a node offers: its status.allocatable, plus the number of pods it accepts. */
export interface Allocatable extends Resource {
  pods: number;
}

/** The requests scoring assumes for a container that sets none (pkg/scheduler/util DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function emptyResource(): Resource {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: new Map() };
}

// Parsed quantities repeat a lot ("100m", "128Mi"): parse each string once.
const cache = new Map<string, number>();
function quantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return 0;
  let v = cache.get(q);
  if (v === undefined) {
    v = parseQuantity(q) ?? 0;
    if (cache.size > 10_000) cache.clear();
    cache.set(q, v);
  }
  return v;
}

/** Rounds up like Quantity.Value()/MilliValue(), tolerating the float error of e.g. 0.1 * 1000. */
function ceilExact(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, Math.abs(r)) ? r : Math.ceil(x);
}

/** Quantity.MilliValue(): "250m" → 250, "1.5" → 1500. */
export function milliValue(q: unknown): number {
  return ceilExact(quantity(q) * 1000);
}

/** Quantity.Value(): "128Mi" → 134217728. */
export function intValue(q: unknown): number {
  return ceilExact(quantity(q));
}

/** Adds a ResourceList (requests, overhead, allocatable) into `into`. */
function addList(into: Resource, list: Record<string, unknown> | undefined): void {
  if (!list) return;
  for (const name in list) {
    const q = list[name];
    switch (name) {
      case 'cpu': into.milliCPU += milliValue(q); break;
      case 'memory': into.memory += intValue(q); break;
      case 'ephemeral-storage': into.ephemeralStorage += intValue(q); break;
      case 'pods': break;
      default: into.scalar.set(name, (into.scalar.get(name) ?? 0) + intValue(q));
    }
  }
}

function addResource(into: Resource, r: Resource): void {
  into.milliCPU += r.milliCPU;
  into.memory += r.memory;
  into.ephemeralStorage += r.ephemeralStorage;
  for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v);
}

function maxResource(into: Resource, r: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

function cloneResource(r: Resource): Resource {
  return { milliCPU: r.milliCPU, memory: r.memory, ephemeralStorage: r.ephemeralStorage, scalar: new Map(r.scalar) };
}

type RequestsOf = (c: Container) => Resource;

const actualRequests: RequestsOf = (c) => {
  const r = emptyResource();
  addList(r, c.resources?.requests);
  return r;
};

/** GetNonzeroRequests: a container without a cpu or memory request counts as 100m / 200Mi for scoring. */
const nonZeroRequests: RequestsOf = (c) => {
  const r = actualRequests(c);
  const req = c.resources?.requests;
  if (req?.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
  if (req?.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  return r;
};

/**
 * The pod's effective requests: the larger of (sum of app containers + sidecars) and the
 * peak of any init container running next to the sidecars started before it; plus spec.overhead.
 */
function computeRequests(pod: Pod, requestsOf: RequestsOf): Resource {
  const total = emptyResource();
  for (const c of pod.spec?.containers ?? []) addResource(total, requestsOf(c));
  const sidecars = emptyResource();
  const initPeak = emptyResource();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = requestsOf(c);
    if (c.restartPolicy === 'Always') {
      addResource(total, r);
      addResource(sidecars, r);
      maxResource(initPeak, sidecars);
    } else {
      const running = cloneResource(r);
      addResource(running, sidecars);
      maxResource(initPeak, running);
    }
  }
  maxResource(total, initPeak);
  addList(total, pod.spec?.overhead);
  return total;
}

/** The requests NodeResourcesFit checks against a node's free allocatable. */
export function podRequests(pod: Pod): Resource {
  return computeRequests(pod, actualRequests);
}

/** The requests LeastAllocated scores with: missing cpu/memory requests count as 100m / 200Mi. */
export function podNonZeroRequests(pod: Pod): { milliCPU: number; memory: number } {
  const r = computeRequests(pod, nonZeroRequests);
  return { milliCPU: r.milliCPU, memory: r.memory };
}

/** A node's status.allocatable as integers. */
export function nodeAllocatable(node: Node): Allocatable {
  const r = emptyResource();
  const list = node.status?.allocatable;
  addList(r, list);
  return { ...r, pods: list?.pods === undefined ? 0 : intValue(list.pods) };
}
