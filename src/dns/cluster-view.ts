// What the DNS server knows about the cluster: Services, their EndpointSlices
// (discovery.k8s.io/v1) and, for verified pod records, Pods — read straight from shared
// informer caches at query time, so an answer reflects a change as soon as the watch
// delivers it. Indexes make every lookup a map access: slices by their Service, and
// Services, slices and pods by address (for PTR and verified pod records).
import type { Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import type { IndexFunc } from '../client/cache.ts';
import type { SharedInformer } from '../client/informer.ts';
import type { SharedInformerFactory } from '../client/informer-factory.ts';
import { R } from '../client/resources.ts';
import { canonicalIp, ipFamily } from './names.ts';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface ClusterView {
  /** true once every informer has its first list (answers before that would be wrong). */
  synced(): boolean;
  /** Resolves true once synced, false after timeoutMs. */
  waitForSync(timeoutMs: number): Promise<boolean>;
  service(namespace: string, name: string): Service | undefined;
  hasServicesIn(namespace: string): boolean;
  endpointSlices(namespace: string, service: string): EndpointSlice[];
  servicesByIp(ip: string): Service[];
  endpointSlicesByIp(ip: string): EndpointSlice[];
  /** Pods by address; undefined when pods are not watched (pod records are not verified). */
  podsByIp?(ip: string): Pod[];
  hasPodsIn?(namespace: string): boolean;
}

const BY_SERVICE = 'skiff-dns/service';
const BY_IP = 'skiff-dns/ip';
/** Informers already indexed by a DNS server: several servers may share one factory. */
const indexed = new WeakSet<object>();

/** A Service's cluster IPs (all families); none for headless and ExternalName services. */
export function serviceIps(svc: Service): string[] {
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip) => ipFamily(ip) !== 0);
}

function addIndexers<T extends KubeObject>(informer: SharedInformer<T>, indexers: Record<string, IndexFunc<T>>): void {
  if (indexed.has(informer)) return;
  indexed.add(informer);
  for (const [name, fn] of Object.entries(indexers)) informer.addIndexer(name, fn);
}

/** A ClusterView over informers of the factory (created here if not there yet; the caller starts the factory). */
export function informerClusterView(factory: SharedInformerFactory, opts: { watchPods: boolean }): ClusterView {
  const services = factory.informerFor<Service>(R.services);
  const slices = factory.informerFor<EndpointSlice>(R.endpointslices);
  const pods = opts.watchPods ? factory.informerFor<Pod>(R.pods) : undefined;
  addIndexers(services, {
    [BY_IP]: (svc: Service) => serviceIps(svc).map(canonicalIp),
  });
  addIndexers(slices, {
    [BY_SERVICE]: (s: EndpointSlice) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      return svc ? [`${s.metadata?.namespace}/${svc}`] : [];
    },
    [BY_IP]: (s: EndpointSlice) =>
      s.addressType === 'FQDN' ? [] : s.endpoints.flatMap((e) => e.addresses.filter((a) => ipFamily(a) !== 0).map(canonicalIp)),
  });
  if (pods) {
    addIndexers(pods, {
      [BY_IP]: (p: Pod) => {
        if (p.spec?.hostNetwork) return [];
        const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
        return ips.filter((ip): ip is string => !!ip && ipFamily(ip) !== 0).map(canonicalIp);
      },
    });
  }
  return {
    synced: () => services.hasSynced() && slices.hasSynced() && (!pods || pods.hasSynced()),
    // Only our informers: a shared factory may hold others that are none of our business.
    waitForSync: async (timeoutMs) => (await Promise.all([services, slices, ...(pods ? [pods] : [])].map((i) => i.waitForSync(timeoutMs)))).every(Boolean),
    service: (namespace, name) => services.getByName(name, namespace),
    hasServicesIn: (namespace) => services.list(namespace).length > 0,
    endpointSlices: (namespace, service) => slices.byIndex(BY_SERVICE, `${namespace}/${service}`),
    servicesByIp: (ip) => services.byIndex(BY_IP, canonicalIp(ip)),
    endpointSlicesByIp: (ip) => slices.byIndex(BY_IP, canonicalIp(ip)),
    ...(pods ? {
      podsByIp: (ip: string) => pods.byIndex(BY_IP, canonicalIp(ip)),
      hasPodsIn: (namespace: string) => pods.list(namespace).length > 0,
    } : {}),
  };
}
