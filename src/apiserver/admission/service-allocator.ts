// ClusterIP and NodePort allocation for Services, as kube-apiserver's service
// REST does it: empty clusterIP gets a free address from the service CIDR, a
// NodePort/LoadBalancer port without nodePort gets one from 30000-32767, and an
// update that leaves them out keeps the allocated ones.
import type { KubeObject, StatusCause } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import { errors } from '../errors.ts';

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

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

export class ServiceAllocator {
  #base: number;
  #size: number;
  #usedIps = new Set<string>();
  #usedPorts = new Set<string>();
  #loaded = false;
  #store: Store;

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

  async #load(): Promise<void> {
    if (this.#loaded) return;
    const { kvs } = await this.#store.list('/registry/core/services/');
    for (const kv of kvs) this.#remember(JSON.parse(kv.value) as KubeObject);
    this.#loaded = true;
  }

  #remember(svc: KubeObject): void {
    for (const ip of svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]) if (ip && ip !== 'None') this.#usedIps.add(ip);
    for (const p of (svc.spec?.ports ?? []) as ServicePort[]) if (p.nodePort) this.#usedPorts.add(`${p.protocol ?? 'TCP'}/${p.nodePort}`);
  }

  #inRange(ip: string): boolean {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
    const n = ipToInt(ip);
    return n > this.#base && n < this.#base + this.#size - 1;
  }

  /** Fills spec.clusterIP(s) and node ports of a Service being created or updated. */
  async allocate(svc: KubeObject, old?: KubeObject): Promise<void> {
    await this.#load();
    const spec = (svc.spec ??= {});
    const type = spec.type ?? 'ClusterIP';
    const name = svc.metadata?.name ?? '';
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
      spec.clusterIP = this.#freeIp();
      spec.clusterIPs = [spec.clusterIP];
    } else if (spec.clusterIP !== 'None' && spec.clusterIP !== old?.spec?.clusterIP) {
      if (!this.#inRange(spec.clusterIP)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ["${spec.clusterIP}"]: failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${intToIp(this.#base)}/${32 - Math.log2(this.#size)}` });
      } else if (this.#usedIps.has(spec.clusterIP)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ["${spec.clusterIP}"]: failed to allocate IP ${spec.clusterIP}: provided IP is already allocated` });
      }
      spec.clusterIPs = [spec.clusterIP];
    } else {
      spec.clusterIPs = spec.clusterIPs ?? [spec.clusterIP];
    }
    const oldNodePorts = new Set(((old?.spec?.ports ?? []) as ServicePort[]).map((p) => `${p.protocol ?? 'TCP'}/${p.nodePort}`));
    (spec.ports as ServicePort[] | undefined)?.forEach((p, i) => {
      const key = (n: number) => `${p.protocol ?? 'TCP'}/${n}`;
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        if (type === 'ClusterIP' && p.nodePort) delete p.nodePort;
        return;
      }
      if (!p.nodePort) p.nodePort = this.#freeNodePort(p.protocol ?? 'TCP');
      else if (!oldNodePorts.has(key(p.nodePort)) && this.#usedPorts.has(key(p.nodePort))) {
        causes.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
      }
    });
    if (causes.length > 0) throw errors.invalid('', 'Service', name, causes);
    this.#remember(svc);
  }

  #freeIp(): string {
    for (let tries = 0; tries < 1000; tries++) {
      const ip = intToIp(this.#base + 2 + Math.floor(Math.random() * (this.#size - 3)));
      if (!this.#usedIps.has(ip)) return ip;
    }
    for (let n = this.#base + 2; n < this.#base + this.#size - 1; n++) if (!this.#usedIps.has(intToIp(n))) return intToIp(n);
    throw errors.internal('failed to allocate a serviceIP: range is full');
  }

  #freeNodePort(protocol: string): number {
    for (let tries = 0; tries < 1000; tries++) {
      const port = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
      if (!this.#usedPorts.has(`${protocol}/${port}`)) return port;
    }
    throw errors.internal('failed to allocate a nodePort: range is full');
  }
}
