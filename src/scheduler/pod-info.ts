// What the scheduler precomputes once per pod (framework.PodInfo): requests as integers, host ports,
// and parsed inter-pod affinity terms, so filters and scores do no parsing per node.
import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.d.ts';
import { type LabelSelector, labelSelectorFromMeta, matchesLabels, newRequirement } from '../api/selectors/index.ts';
import { podNonZeroRequests, podRequests, type Resource } from './resources.ts';
import type { NodeInfo } from './snapshot.ts';

/** A parsed PodAffinityTerm (framework.AffinityTerm). */
export interface AffinityTerm {
  selector: LabelSelector;
  /** Namespaces the term applies to; null when an empty namespaceSelector selects all of them. */
  namespaces: Set<string> | null;
  /** A non-empty namespaceSelector, matched against the namespace labels the snapshot knows. */
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface PodInfo {
  pod: Pod;
  /** namespace/name */
  key: string;
  namespace: string;
  labels: Record<string, string>;
  priority: number;
  /** status.startTime in ms; +Infinity for a pod not started yet (GetPodStartTime uses "now"). */
  startTime: number;
  requests: Resource;
  /** cpu/memory with the 100m / 200Mi defaults for containers that request nothing (for scoring). */
  nonZero: { milliCPU: number; memory: number };
  hostPorts: HostPort[];
  requiredAffinityTerms: AffinityTerm[];
  requiredAntiAffinityTerms: AffinityTerm[];
  preferredAffinityTerms: WeightedAffinityTerm[];
  preferredAntiAffinityTerms: WeightedAffinityTerm[];
  /** Has any pod affinity or anti-affinity (NodeInfo.PodsWithAffinity). */
  hasAffinity: boolean;
  /** A selector that did not parse: the pod cannot be scheduled (kube-scheduler fails its PodInfo too). */
  parseError?: string;
  /** The node the pod is assigned to, once it is in a snapshot. */
  node?: NodeInfo;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}

/** corev1helpers.PodPriority: spec.priority, 0 when unset. */
export function podPriority(pod: Pod): number {
  return pod.spec?.priority ?? 0;
}

function parseTerm(t: PodAffinityTerm, pod: Pod, namespace: string): AffinityTerm {
  const selector = labelSelectorFromMeta(t.labelSelector);
  // matchLabelKeys / mismatchLabelKeys take their values from the incoming pod's labels (KEP-3633).
  if (t.labelSelector && !selector.nothing) {
    const labels = pod.metadata?.labels ?? {};
    for (const key of t.matchLabelKeys ?? []) {
      if (Object.hasOwn(labels, key)) selector.requirements.push(newRequirement(key, 'in', [labels[key]]));
    }
    for (const key of t.mismatchLabelKeys ?? []) {
      if (Object.hasOwn(labels, key)) selector.requirements.push(newRequirement(key, 'notin', [labels[key]]));
    }
  }
  const listed = t.namespaces ?? [];
  const nsSel = t.namespaceSelector;
  let namespaces: Set<string> | null;
  let namespaceSelector: LabelSelector | undefined;
  if (nsSel && !nsSel.matchLabels && !(nsSel.matchExpressions?.length)) {
    namespaces = null; // {} selects every namespace
  } else {
    namespaces = new Set(listed.length === 0 && !nsSel ? [namespace] : listed);
    if (nsSel) namespaceSelector = labelSelectorFromMeta(nsSel);
  }
  return { selector, namespaces, namespaceSelector, topologyKey: t.topologyKey };
}

function parseWeighted(ts: WeightedPodAffinityTerm[] | undefined, pod: Pod, ns: string): WeightedAffinityTerm[] {
  return (ts ?? []).map((w) => ({ ...parseTerm(w.podAffinityTerm, pod, ns), weight: w.weight }));
}

function hostPortsOf(pod: Pod): HostPort[] {
  const ports: HostPort[] = [];
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      ports.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return ports;
}

export function newPodInfo(pod: Pod): PodInfo {
  const namespace = pod.metadata?.namespace ?? 'default';
  const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  const info: PodInfo = {
    pod,
    key: `${namespace}/${pod.metadata?.name ?? ''}`,
    namespace,
    labels: pod.metadata?.labels ?? {},
    priority: podPriority(pod),
    startTime: Number.isNaN(start) ? Infinity : start,
    requests: podRequests(pod),
    nonZero: podNonZeroRequests(pod),
    hostPorts: hostPortsOf(pod),
    requiredAffinityTerms: [],
    requiredAntiAffinityTerms: [],
    preferredAffinityTerms: [],
    preferredAntiAffinityTerms: [],
    hasAffinity: false,
  };
  const aff = pod.spec?.affinity;
  if (aff?.podAffinity || aff?.podAntiAffinity) {
    info.hasAffinity = true;
    try {
      info.requiredAffinityTerms = (aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, pod, namespace));
      info.requiredAntiAffinityTerms = (aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, pod, namespace));
      info.preferredAffinityTerms = parseWeighted(aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, pod, namespace);
      info.preferredAntiAffinityTerms = parseWeighted(aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, pod, namespace);
    } catch (err) {
      // Keep the pod (it exists on its node) but make its terms match nothing, and say why.
      info.parseError = `invalid pod affinity of ${info.key}: ${(err as Error).message}`;
      info.requiredAffinityTerms = info.requiredAntiAffinityTerms = [];
      info.preferredAffinityTerms = info.preferredAntiAffinityTerms = [];
    }
  }
  return info;
}

/**
 * AffinityTerm.Matches: the pod is in one of the term's namespaces (or one its namespaceSelector
 * selects) and its labels match the term's selector.
 */
export function termMatches(term: AffinityTerm, pod: PodInfo, nsLabels: (ns: string) => Record<string, string> | undefined): boolean {
  if (term.namespaces !== null && !term.namespaces.has(pod.namespace)) {
    if (!term.namespaceSelector) return false;
    const labels = nsLabels(pod.namespace);
    if (!labels || !matchesLabels(term.namespaceSelector, labels)) return false;
  }
  return matchesLabels(term.selector, pod.labels);
}
