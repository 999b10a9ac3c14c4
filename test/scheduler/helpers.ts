// Builders for realistic Nodes and Pods in scheduler tests.
import type { Affinity, Container, Node, Pod, Taint, Toleration, TopologySpreadConstraint } from 'kubernetes-types/core/v1.d.ts';
import { ClusterSnapshot } from '../../src/scheduler/snapshot.ts';
import { newCycleState, runPreFilters, type FilterPlugin, type Status } from '../../src/scheduler/framework.ts';
import { newPodInfo } from '../../src/scheduler/pod-info.ts';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  ephemeral?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
  extra?: Record<string, string>;
}

export function node(name: string, o: NodeOpts = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: {
        cpu: o.cpu ?? '4',
        memory: o.memory ?? '16Gi',
        pods: o.pods ?? '110',
        'ephemeral-storage': o.ephemeral ?? '100Gi',
        ...o.extra,
      },
      images: o.images,
    },
  };
}

export interface PodOpts {
  namespace?: string;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  hostPorts?: number[];
  priority?: number;
  preemptionPolicy?: string;
  startTime?: string;
  image?: string;
  initContainers?: Container[];
  overhead?: Record<string, string>;
  spread?: TopologySpreadConstraint[];
  requests?: Record<string, string>;
}

export function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = { ...o.requests };
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels },
    spec: {
      nodeName: o.nodeName,
      nodeSelector: o.nodeSelector,
      affinity: o.affinity,
      tolerations: o.tolerations,
      priority: o.priority,
      preemptionPolicy: o.preemptionPolicy,
      initContainers: o.initContainers,
      overhead: o.overhead,
      topologySpreadConstraints: o.spread,
      containers: [{
        name: 'app',
        image: o.image ?? 'registry.example.com/app:1.0',
        resources: Object.keys(requests).length > 0 ? { requests } : undefined,
        ports: o.hostPorts?.map((p) => ({ containerPort: p, hostPort: p })),
      }],
    },
    status: o.startTime ? { phase: 'Running', startTime: o.startTime } : undefined,
  };
}

/** Runs one filter plugin (after its PreFilter) for a pod against a node of the snapshot. */
export function filterWith(plugin: FilterPlugin, snapshot: ClusterSnapshot, p: Pod, nodeName: string): Status | null | 'skip' {
  const cycle = newCycleState(snapshot, newPodInfo(p));
  const active = runPreFilters(cycle, [plugin]);
  if (!Array.isArray(active)) return active;
  if (active.length === 0) return 'skip';
  const node = snapshot.nodesByName.get(nodeName)!;
  return plugin.filter(cycle, node, node.index);
}

/** A deterministic random source. */
export function seeded(seed = 1): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function zones(perZone: number, zoneNames = ['zone-a', 'zone-b', 'zone-c'], o: NodeOpts = {}): Node[] {
  return zoneNames.flatMap((z) =>
    Array.from({ length: perZone }, (_, i) => node(`${z}-node-${i}`, { ...o, labels: { 'topology.kubernetes.io/zone': z, ...o.labels } })));
}

export { ClusterSnapshot };
