// The scheduler's view of the cluster (kube-scheduler's cache + Snapshot): every node with its
// allocatable and the running total of what its pods request, the pods per node, and indexes the
// plugins need (pods by label for inter-pod affinity and topology spread, pods with affinity,
// image sizes). Adding or removing a pod is O(1) in the number of nodes and pods.
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.d.ts';
import type { LabelSelector } from '../api/selectors/index.ts';
import { matchesLabels } from '../api/selectors/index.ts';
import { newPodInfo, podKey, type PodInfo } from './pod-info.ts';
import { emptyResource, nodeAllocatable, type Allocatable, type Resource } from './resources.ts';
import { normalizedImageName } from './plugins/image-locality.ts';
import { NodeTable } from './node-table.ts';

export interface NodeInfo {
  node: Node;
  name: string;
  labels: Record<string, string>;
  /** Taints with effect NoSchedule or NoExecute (the ones filters enforce). */
  hardTaints: Taint[];
  /** Taints with effect PreferNoSchedule (scored). */
  softTaints: Taint[];
  allocatable: Allocatable;
  /** Sum of the actual requests of the pods on the node. */
  requested: Resource;
  /** Sum of requests with the 100m / 200Mi defaults (NodeInfo.NonZeroRequested), for scoring. */
  nonZeroRequested: { milliCPU: number; memory: number };
  pods: Map<string, PodInfo>;
  /** "TCP/8080" → host IP → number of pods using it. */
  usedPorts: Map<string, Map<string, number>>;
  /** Normalized image name → size in bytes, from status.images. */
  images: Map<string, number>;
  /** Position in ClusterSnapshot.nodes and row of ClusterSnapshot.table. */
  index: number;
}

export interface ImageState {
  size: number;
  numNodes: number;
}

function addTo(into: Resource, r: Resource, sign: 1 | -1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  if (r.scalar.size > 0) for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + sign * v);
}

function newNodeInfo(node: Node, index: number): NodeInfo {
  const info: NodeInfo = {
    node,
    name: node.metadata?.name ?? '',
    labels: {},
    hardTaints: [],
    softTaints: [],
    allocatable: nodeAllocatable(node),
    requested: emptyResource(),
    nonZeroRequested: { milliCPU: 0, memory: 0 },
    pods: new Map(),
    usedPorts: new Map(),
    images: new Map(),
    index,
  };
  setNode(info, node);
  return info;
}

function setNode(info: NodeInfo, node: Node): void {
  info.node = node;
  info.labels = node.metadata?.labels ?? {};
  info.allocatable = nodeAllocatable(node);
  const taints = node.spec?.taints ?? [];
  info.hardTaints = taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  info.softTaints = taints.filter((t) => t.effect === 'PreferNoSchedule');
  info.images = new Map();
  for (const image of node.status?.images ?? []) {
    for (const name of image.names ?? []) info.images.set(normalizedImageName(name), image.sizeBytes ?? 0);
  }
}

export class ClusterSnapshot {
  /** All nodes, in a stable order the round-robin start index walks. */
  readonly nodes: NodeInfo[] = [];
  readonly nodesByName = new Map<string, NodeInfo>();
  /** The nodes' resource numbers and flags in columns, for the filters and scores that run on every node. */
  readonly table = new NodeTable();
  /** Assigned pods whose node is not (yet) in the snapshot, by node name. */
  private readonly orphans = new Map<string, Map<string, PodInfo>>();
  /** Every assigned pod on a known node, by namespace/name. */
  readonly pods = new Map<string, PodInfo>();
  /** label key → value → pods on known nodes carrying that label. */
  private readonly podsByLabel = new Map<string, Map<string, Set<PodInfo>>>();
  readonly podsWithAffinity = new Set<PodInfo>();
  readonly podsWithRequiredAntiAffinity = new Set<PodInfo>();
  /** Normalized image name → size and the number of nodes that have it. */
  readonly images = new Map<string, ImageState>();
  /** Namespace labels, for affinity terms with a namespaceSelector. */
  readonly namespaceLabels = new Map<string, Record<string, string>>();
  /** Where the next scheduling cycle starts looking (kube-scheduler's nextStartNodeIndex). */
  nextStartNodeIndex = 0;

  readonly nsLabels = (ns: string): Record<string, string> | undefined => this.namespaceLabels.get(ns);

  constructor(nodes: Node[] = [], pods: Pod[] = []) {
    for (const n of nodes) this.addNode(n);
    for (const p of pods) this.addPod(p);
  }

  addNode(node: Node): NodeInfo {
    const name = node.metadata?.name ?? '';
    const existing = this.nodesByName.get(name);
    if (existing) {
      this.updateNode(node);
      return existing;
    }
    const info = newNodeInfo(node, this.nodes.length);
    this.nodes.push(info);
    this.nodesByName.set(name, info);
    this.table.write(info);
    this.countImages(info, 1);
    const waiting = this.orphans.get(name);
    if (waiting) {
      this.orphans.delete(name);
      for (const p of waiting.values()) this.attach(p, info);
    }
    return info;
  }

  updateNode(node: Node): void {
    const info = this.nodesByName.get(node.metadata?.name ?? '');
    if (!info) {
      this.addNode(node);
      return;
    }
    this.countImages(info, -1);
    setNode(info, node);
    this.table.write(info);
    this.countImages(info, 1);
  }

  /** Removes a node; its pods wait (as kube-scheduler's cache keeps them) until the node comes back or they go. */
  removeNode(name: string): void {
    const info = this.nodesByName.get(name);
    if (!info) return;
    const pods = [...info.pods.values()];
    for (const p of pods) this.detach(p);
    if (pods.length > 0) this.orphans.set(name, new Map(pods.map((p) => [p.key, p])));
    this.countImages(info, -1);
    const last = this.nodes.pop()!;
    if (last !== info) {
      this.nodes[info.index] = last;
      last.index = info.index;
      this.table.write(last);
    }
    this.nodesByName.delete(name);
  }

  /**
   * Adds a pod bound to spec.nodeName. Pods that finished (Succeeded/Failed) hold no resources and
   * are ignored, as kube-scheduler's informer filters them out.
   */
  addPod(pod: Pod): PodInfo | undefined {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw new Error(`pod ${podKey(pod)} has no spec.nodeName: only assigned pods belong in the snapshot`);
    this.removePod(pod);
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
    const info = newPodInfo(pod);
    const node = this.nodesByName.get(nodeName);
    if (node) this.attach(info, node);
    else {
      let waiting = this.orphans.get(nodeName);
      if (!waiting) this.orphans.set(nodeName, (waiting = new Map()));
      waiting.set(info.key, info);
    }
    return info;
  }

  /** Records the scheduler's decision before the binding lands (kube-scheduler's "assume"). */
  assumePod(pod: Pod, nodeName: string): PodInfo | undefined {
    return this.addPod({ ...pod, spec: { ...pod.spec!, nodeName } });
  }

  updatePod(pod: Pod): void {
    this.removePod(pod);
    if (pod.spec?.nodeName) this.addPod(pod);
  }

  /** Removes a pod by object or namespace/name key; unknown pods are ignored. */
  removePod(pod: Pod | string): void {
    const key = typeof pod === 'string' ? pod : podKey(pod);
    const info = this.pods.get(key);
    if (info) {
      this.detach(info);
      return;
    }
    const nodeName = typeof pod === 'string' ? undefined : pod.spec?.nodeName;
    for (const [name, waiting] of this.orphans) {
      if (nodeName !== undefined && name !== nodeName) continue;
      if (waiting.delete(key) && waiting.size === 0) this.orphans.delete(name);
    }
  }

  /** Takes an assigned pod off its node, keeping its PodInfo to put back (preemption's dry runs). */
  removePodInfo(info: PodInfo): NodeInfo | undefined {
    const node = info.node;
    this.detach(info);
    return node;
  }

  /** Puts back a PodInfo taken off with removePodInfo. */
  restorePodInfo(info: PodInfo, node: NodeInfo): void {
    this.attach(info, node);
  }

  getPod(key: string): PodInfo | undefined {
    return this.pods.get(key);
  }

  /** Pods (on known nodes) in the given namespaces (null: any) whose labels match the selector, found through the label index. */
  *podsMatching(selector: LabelSelector, namespaces: Set<string> | null): Iterable<PodInfo> {
    if (selector.nothing) return;
    // Start from the smallest candidate set an equality / In requirement allows.
    let candidates: Iterable<PodInfo> = this.pods.values();
    let best = Infinity;
    for (const r of selector.requirements) {
      const byValue = this.podsByLabel.get(r.key);
      if (r.operator === '=' || r.operator === '==' || r.operator === 'in') {
        if (!byValue) return;
        const sets = r.values.map((v) => byValue.get(v)).filter((s): s is Set<PodInfo> => s !== undefined);
        const size = sets.reduce((n, s) => n + s.size, 0);
        if (size < best) {
          best = size;
          candidates = sets.length === 1 ? sets[0] : sets.flatMap((s) => [...s]);
        }
      } else if (r.operator === 'exists' && !byValue) {
        return;
      }
    }
    for (const p of candidates) {
      if (namespaces !== null && !namespaces.has(p.namespace)) continue;
      if (matchesLabels(selector, p.labels)) yield p;
    }
  }

  private attach(info: PodInfo, node: NodeInfo): void {
    info.node = node;
    node.pods.set(info.key, info);
    addTo(node.requested, info.requests, 1);
    node.nonZeroRequested.milliCPU += info.nonZero.milliCPU;
    node.nonZeroRequested.memory += info.nonZero.memory;
    this.table.write(node);
    for (const hp of info.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      let ips = node.usedPorts.get(k);
      if (!ips) node.usedPorts.set(k, (ips = new Map()));
      ips.set(hp.ip, (ips.get(hp.ip) ?? 0) + 1);
    }
    this.pods.set(info.key, info);
    for (const key in info.labels) {
      let byValue = this.podsByLabel.get(key);
      if (!byValue) this.podsByLabel.set(key, (byValue = new Map()));
      let set = byValue.get(info.labels[key]);
      if (!set) byValue.set(info.labels[key], (set = new Set()));
      set.add(info);
    }
    if (info.hasAffinity) this.podsWithAffinity.add(info);
    if (info.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.add(info);
  }

  private detach(info: PodInfo): void {
    const node = info.node;
    if (!node) return;
    node.pods.delete(info.key);
    addTo(node.requested, info.requests, -1);
    node.nonZeroRequested.milliCPU -= info.nonZero.milliCPU;
    node.nonZeroRequested.memory -= info.nonZero.memory;
    this.table.write(node);
    for (const hp of info.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      const ips = node.usedPorts.get(k);
      if (!ips) continue;
      const n = (ips.get(hp.ip) ?? 0) - 1;
      if (n > 0) ips.set(hp.ip, n);
      else ips.delete(hp.ip);
      if (ips.size === 0) node.usedPorts.delete(k);
    }
    this.pods.delete(info.key);
    for (const key in info.labels) {
      const byValue = this.podsByLabel.get(key);
      const set = byValue?.get(info.labels[key]);
      if (!set) continue;
      set.delete(info);
      if (set.size === 0) byValue!.delete(info.labels[key]);
      if (byValue!.size === 0) this.podsByLabel.delete(key);
    }
    this.podsWithAffinity.delete(info);
    this.podsWithRequiredAntiAffinity.delete(info);
    info.node = undefined;
  }

  private countImages(info: NodeInfo, sign: 1 | -1): void {
    for (const [name, size] of info.images) {
      const state = this.images.get(name);
      if (sign > 0) {
        if (state) state.numNodes++;
        else this.images.set(name, { size, numNodes: 1 });
      } else if (state && --state.numNodes <= 0) {
        this.images.delete(name);
      }
    }
  }
}
