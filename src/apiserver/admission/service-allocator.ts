// ClusterIP and NodePort allocation for Services, as kube-apiserver's service
// REST does it: empty clusterIP gets a free address from the service CIDR, a
// NodePort/LoadBalancer port without nodePort gets one from 30000-32767, and an
// update that leaves them out keeps the allocated ones.
//
// Several API servers may share one store (etcd), so what is taken lives in the store, not in
// memory: every address and node port is reserved with a create of its own key, which fails
// when another server took it first (the idea of Kubernetes' IPAddress objects,
// https://kubernetes.io/docs/reference/networking/virtual-ips/#ip-address-objects).
// A reservation names its Service; it is removed when the Service is deleted (release), and
// one whose Service no longer holds it (a failed create, a changed spec, a server killed
// between delete and release) is taken over once it is older than RECLAIM_AFTER_MS, the way
// kube-apiserver's repair loop frees leaked addresses after a few passes.
import type { KubeObject, StatusCause } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import { errors } from '../errors.ts';

import { DEFAULT_SERVICE_CIDR } from '../../network/cidr.ts';

export { DEFAULT_SERVICE_CIDR };
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;
export const SERVICE_IP_KEYS = '/registry/ranges/serviceips/';
export const NODE_PORT_KEYS = '/registry/ranges/servicenodeports/';
/** Longer than any create can take between reserving and storing its Service. */
const RECLAIM_AFTER_MS = 5 * 60_000;
const RANDOM_TRIES = 32;

/**
 * The size of the static band at the bottom of a range, which dynamic allocation uses only when
 * the rest is full, so that a value asked for by number is rarely taken by chance: 16 to 256
 * addresses (size / 16) for service IPs (KEP-3070), 16 to 128 ports (size / 32) for node ports
 * (KEP-3668), as kube-apiserver computes them.
 */
function staticBandSize(size: number, step: number, max: number): number {
  if (size < 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / step)), max);
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

interface ServicePort {
  port: number;
  protocol?: string;
  nodePort?: number;
}

/** The value of a reservation key. */
interface Reservation {
  namespace: string;
  name: string;
  /** When it was reserved (RFC 3339), for reclaiming leaks. */
  reservedAt: string;
}

function clusterIPsOf(svc: KubeObject | undefined): string[] {
  const ips = (svc?.spec?.clusterIPs as string[] | undefined) ?? [svc?.spec?.clusterIP];
  return ips.filter((ip): ip is string => !!ip && ip !== 'None');
}

/** Node ports are unique by number across protocols (one Service may use a number for TCP and UDP). */
function nodePortsOf(svc: KubeObject | undefined): number[] {
  return [...new Set(((svc?.spec?.ports ?? []) as ServicePort[]).map((p) => p.nodePort).filter((p): p is number => !!p))];
}

export class ServiceAllocator {
  #base: number;
  #size: number;
  #store: Store;
  #backfilled = false;

  constructor(store: Store, cidr = DEFAULT_SERVICE_CIDR) {
    this.#store = store;
    const [ip, bits] = cidr.split('/');
    this.#base = ipToInt(ip);
    this.#size = 2 ** (32 - Number(bits));
  }

  /** The first address of the range is kept for the `kubernetes` service, as in Kubernetes. */
  get apiServiceIp(): string {
    return intToIp(this.#base + 1);
  }

  /** Services stored before reservations existed (or migrated without them) get theirs, once per process. */
  async #backfill(): Promise<void> {
    if (this.#backfilled) return;
    const { kvs } = await this.#store.list('/registry/core/services/');
    for (const kv of kvs) {
      const svc = JSON.parse(kv.value) as KubeObject;
      const owner = this.#owner(svc);
      for (const ip of clusterIPsOf(svc)) await this.#store.create(SERVICE_IP_KEYS + ip, JSON.stringify(owner));
      for (const port of nodePortsOf(svc)) await this.#store.create(NODE_PORT_KEYS + port, JSON.stringify(owner));
    }
    this.#backfilled = true;
  }

  #owner(svc: KubeObject): Reservation {
    return { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', reservedAt: new Date().toISOString() };
  }

  #inRange(ip: string): boolean {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
    const n = ipToInt(ip);
    return n > this.#base && n < this.#base + this.#size - 1;
  }

  /** Fills spec.clusterIP(s) and node ports of a Service being created or updated, reserving them in the store. */
  async allocate(svc: KubeObject, old?: KubeObject): Promise<void> {
    await this.#backfill();
    const spec = (svc.spec ??= {});
    const type = spec.type ?? 'ClusterIP';
    const name = svc.metadata?.name ?? '';
    if (!old) {
      // A duplicate create answers AlreadyExists before anything is reserved for it.
      const { kv } = await this.#store.get(`/registry/core/services/${svc.metadata?.namespace ?? ''}/${name}`);
      if (kv) throw errors.alreadyExists('', 'services', name);
    }
    const owner = this.#owner(svc);
    const causes: StatusCause[] = [];
    if (old) {
      // Unset fields keep what was allocated (kube-apiserver's patchAllocatedValues).
      if (!spec.clusterIP && old.spec?.clusterIP && type !== 'ExternalName') {
        spec.clusterIP = old.spec.clusterIP;
        spec.clusterIPs = old.spec.clusterIPs;
      }
      const oldPorts = (old.spec?.ports ?? []) as ServicePort[];
      for (const p of (spec.ports ?? []) as ServicePort[]) {
        if (p.nodePort) continue;
        const same = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (same?.nodePort && type !== 'ClusterIP') p.nodePort = same.nodePort;
      }
    }
    if (type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else if (!spec.clusterIP) {
      spec.clusterIP = await this.#freeIp(owner);
      spec.clusterIPs = [spec.clusterIP];
    } else if (spec.clusterIP !== 'None' && spec.clusterIP !== old?.spec?.clusterIP) {
      if (!this.#inRange(spec.clusterIP)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ["${spec.clusterIP}"]: failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${intToIp(this.#base)}/${32 - Math.log2(this.#size)}` });
      } else if (!(await this.#reserve(SERVICE_IP_KEYS + spec.clusterIP, owner, true))) {
        causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ["${spec.clusterIP}"]: failed to allocate IP ${spec.clusterIP}: provided IP is already allocated` });
      }
      spec.clusterIPs = [spec.clusterIP];
    } else {
      spec.clusterIPs = spec.clusterIPs ?? [spec.clusterIP];
    }
    const oldNodePorts = new Set(nodePortsOf(old));
    const ports = (spec.ports ?? []) as ServicePort[];
    for (const [i, p] of ports.entries()) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        if (type === 'ClusterIP' && p.nodePort) delete p.nodePort;
        continue;
      }
      if (!p.nodePort) {
        // Not one another port of this Service already uses (with a different protocol, that would be allowed, but is surprising).
        const taken = new Set(ports.map((o) => o.nodePort).filter(Boolean));
        p.nodePort = await this.#freeNodePort(owner, taken as Set<number>);
      } else if (!oldNodePorts.has(p.nodePort) && !(await this.#reserve(NODE_PORT_KEYS + p.nodePort, owner, true))) {
        causes.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
      }
    }
    if (causes.length > 0) throw errors.invalid('', 'Service', name, causes);
  }

  /** Frees what a deleted Service held (only reservations that name it). */
  async release(svc: KubeObject): Promise<void> {
    const keys = [...clusterIPsOf(svc).map((ip) => SERVICE_IP_KEYS + ip), ...nodePortsOf(svc).map((p) => NODE_PORT_KEYS + p)];
    for (const key of keys) {
      const { kv } = await this.#store.get(key);
      if (!kv) continue;
      const held = JSON.parse(kv.value) as Reservation;
      if (held.namespace === (svc.metadata?.namespace ?? '') && held.name === svc.metadata?.name) await this.#store.delete(key, kv.modRevision);
    }
  }

  /**
   * Creates the reservation key; true when this Service now holds it. One held under the same
   * namespace/name counts as its own (an update, or a create retried after a lost answer).
   */
  async #reserve(key: string, owner: Reservation, reclaim: boolean): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.#store.create(key, JSON.stringify(owner));
      if (res.ok) return true;
      if (!res.kv) continue; // released in between
      const held = JSON.parse(res.kv.value) as Reservation;
      if (held.namespace === owner.namespace && held.name === owner.name) return true;
      if (!reclaim || !(await this.#leaked(key, held))) return false;
      // Compare-and-swap: whoever else reclaims it at the same time loses.
      if ((await this.#store.update(key, JSON.stringify(owner), res.kv.modRevision)).ok) return true;
    }
    return false;
  }

  /** An old reservation whose Service does not hold the value any more. */
  async #leaked(key: string, held: Reservation): Promise<boolean> {
    if (Date.now() - Date.parse(held.reservedAt) < RECLAIM_AFTER_MS) return false;
    const { kv: svcKv } = await this.#store.get(`/registry/core/services/${held.namespace}/${held.name}`);
    if (!svcKv) return true;
    const svc = JSON.parse(svcKv.value) as KubeObject;
    const value = key.slice(key.lastIndexOf('/') + 1);
    return key.startsWith(SERVICE_IP_KEYS) ? !clusterIPsOf(svc).includes(value) : !nodePortsOf(svc).includes(Number(value));
  }

  async #freeIp(owner: Reservation): Promise<string> {
    // Index 0 of the range is the `kubernetes` service's address, never handed out.
    const first = this.#base + 2;
    const count = this.#size - 3;
    const band = Math.max(0, staticBandSize(this.#size - 2, 16, 256) - 1);
    const n = await this.#allocate(SERVICE_IP_KEYS, first, count, band, owner, intToIp, () => false);
    if (n === undefined) throw errors.internal('failed to allocate a serviceIP: range is full');
    return intToIp(n);
  }

  async #freeNodePort(owner: Reservation, inService: Set<number>): Promise<number> {
    const count = NODE_PORT_MAX - NODE_PORT_MIN + 1;
    const band = staticBandSize(count, 32, 128);
    const port = await this.#allocate(NODE_PORT_KEYS, NODE_PORT_MIN, count, band, owner, String, (p) => inService.has(p));
    if (port === undefined) throw errors.internal('failed to allocate a nodePort: range is full');
    return port;
  }

  /**
   * Picks a free value of [first, first + count): at random from above the static band, then
   * the first free one above it, then in it, then a leaked one.
   */
  async #allocate(prefix: string, first: number, count: number, band: number, owner: Reservation,
    name: (n: number) => string, skip: (n: number) => boolean): Promise<number | undefined> {
    const dynamic = count - band;
    for (let tries = 0; dynamic > 0 && tries < RANDOM_TRIES; tries++) {
      const n = first + band + Math.floor(Math.random() * dynamic);
      if (!skip(n) && (await this.#reserve(prefix + name(n), owner, false))) return n;
    }
    const used = new Set((await this.#store.list(prefix)).kvs.map((kv) => kv.key.slice(prefix.length)));
    const order = [...range(first + band, first + count), ...range(first, first + band)];
    for (const n of order) {
      if (!used.has(name(n)) && !skip(n) && (await this.#reserve(prefix + name(n), owner, false))) return n;
    }
    for (const n of order) {
      if (used.has(name(n)) && !skip(n) && (await this.#reserve(prefix + name(n), owner, true))) return n;
    }
    return undefined;
  }
}

function* range(from: number, to: number): Generator<number> {
  for (let n = from; n < to; n++) yield n;
}
