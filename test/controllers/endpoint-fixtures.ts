// Shared by the Endpoints and EndpointSlice controller tests: pods made
// Running/Ready (or not) through pods/status, standing in for a kubelet, and
// nodes with zones. The server and controllers come from harness.ts.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import { R, type RestClient } from '../../src/client/index.ts';

export async function createNamespace(client: RestClient, name: string): Promise<void> {
  await client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function createNode(client: RestClient, name: string, zone?: string): Promise<Node> {
  return client.create<Node>(R.nodes, {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}) } },
  });
}

export interface PodOptions {
  labels?: Record<string, string>;
  node?: string;
  /** Named container ports. */
  ports?: Record<string, number>;
  hostname?: string;
  subdomain?: string;
}

/** A pod already bound to a node (spec.nodeName), so a graceful delete waits for its kubelet. */
export async function createPod(client: RestClient, namespace: string, name: string, o: PodOptions = {}): Promise<Pod> {
  return client.create<Pod>(R.pods, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace, labels: o.labels ?? { app: 'web' } },
    spec: {
      nodeName: o.node ?? 'node-a',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{
        name: 'app', image: 'busybox',
        ports: Object.entries(o.ports ?? { http: 8080 }).map(([pname, containerPort]) => ({ name: pname, containerPort })),
      }],
    },
  });
}

/** What a kubelet reports: the pod Running with an IP, Ready or not. */
export async function setPodStatus(client: RestClient, namespace: string, name: string, ip: string, ready: boolean): Promise<Pod> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now });
  return client.patch<Pod>(R.pods, name, {
    status: {
      phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '192.168.0.1', startTime: now,
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', ready), cond('Ready', ready)],
      containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready, started: true, restartCount: 0, state: { running: { startedAt: now } } }],
    },
  }, { namespace, subresource: 'status' });
}

export async function createService(client: RestClient, namespace: string, name: string, spec: Service['spec'], labels?: Record<string, string>): Promise<Service> {
  return client.create<Service>(R.services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec });
}

/** Runs fns with at most n in flight (creating hundreds of pods without hundreds of sockets). */
export async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}
