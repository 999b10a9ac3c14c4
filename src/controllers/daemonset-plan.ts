// What a DaemonSet sync should do, computed from cached nodes and pods without
// side effects: which pods to create and delete (kube's daemon controller manage /
// podsShouldBeOnNode), which old-revision pods a RollingUpdate replaces next
// (update.go rollingUpdate with maxSurge 0), and the resulting status.
// https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/
import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { nodeShouldRunDaemonPod, targetNodeOf, type NodeVerdict } from './daemonset-nodes.ts';
import { REVISION_HASH_LABEL } from './daemonset-revisions.ts';
import { isPodAvailable, isPodReady } from './pod-control.ts';

export interface NodePods {
  node: Node;
  verdict: NodeVerdict;
  /** The DaemonSet's pods on (or bound for) the node that are not being deleted, oldest first. */
  pods: Pod[];
}

export interface Plan {
  nodes: NodePods[];
  /** Node names that need a daemon pod. */
  create: string[];
  /** Pods to delete (wrong node, failed, duplicates, nodes gone). */
  delete: Pod[];
}

const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0;

/** Groups the pods by node and decides the creates and deletes of manage(). */
export function planDaemonPods(ds: DaemonSet, nodes: Node[], pods: Pod[]): Plan {
  const byNode = new Map<string, Pod[]>();
  const orphaned: Pod[] = []; // bound for a node that does not exist (any more)
  const names = new Set(nodes.map((n) => n.metadata!.name!));
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const target = targetNodeOf(pod);
    if (!target || !names.has(target)) {
      orphaned.push(pod);
      continue;
    }
    byNode.set(target, [...(byNode.get(target) ?? []), pod]);
  }
  const plan: Plan = { nodes: [], create: [], delete: [...orphaned] };
  for (const node of nodes) {
    const name = node.metadata!.name!;
    const verdict = nodeShouldRunDaemonPod(ds, node);
    const here = (byNode.get(name) ?? []).sort((a, b) => created(a) - created(b));
    plan.nodes.push({ node, verdict, pods: here });
    if (!verdict.shouldContinueRunning) {
      plan.delete.push(...here);
      continue;
    }
    // A failed daemon pod is deleted so a new one replaces it.
    const failed = here.filter((p) => p.status?.phase === 'Failed');
    plan.delete.push(...failed);
    const running = here.filter((p) => p.status?.phase !== 'Failed');
    if (running.length === 0) {
      if (verdict.shouldRun) plan.create.push(name);
    } else if (running.length > 1) {
      plan.delete.push(...running.slice(1)); // one pod per node: keep the oldest
    }
  }
  return plan;
}

/** maxUnavailable as a number of nodes (percentages round up over desiredNumberScheduled); at least 1. */
export function maxUnavailableOf(ds: DaemonSet, desired: number): number {
  const v = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  const n = typeof v === 'number' ? v : Math.ceil((Number.parseInt(v, 10) / 100) * desired);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

/**
 * The old-revision pods to delete now so new ones replace them, keeping at most
 * maxUnavailable nodes without an available daemon pod: old pods that are not
 * available go at once (replacing them costs nothing), available ones only while
 * fewer than maxUnavailable nodes are unavailable.
 */
export function rollingUpdateDeletes(ds: DaemonSet, plan: Plan, hash: string, now = Date.now()): Pod[] {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const wanted = plan.nodes.filter((n) => n.verdict.shouldRun || (n.verdict.shouldContinueRunning && n.pods.length > 0));
  const maxUnavailable = maxUnavailableOf(ds, plan.nodes.filter((n) => n.verdict.shouldRun).length);
  let unavailable = 0;
  const freeReplacements: Pod[] = [];
  const candidates: Pod[] = [];
  for (const { pods } of wanted) {
    if (pods.length !== 1) {
      unavailable++; // none yet or duplicates: manage() is on it
      continue;
    }
    const pod = pods[0];
    const available = isPodAvailable(pod, minReady, now);
    if (pod.metadata?.labels?.[REVISION_HASH_LABEL] === hash) {
      if (!available) unavailable++;
    } else if (!available) {
      freeReplacements.push(pod);
    } else {
      candidates.push(pod);
    }
  }
  const room = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
  return [...freeReplacements, ...candidates.slice(0, room)];
}

/** The DaemonSet's status for this plan (kube's updateDaemonSetStatus). */
export function daemonSetStatus(ds: DaemonSet, plan: Plan, hash: string, now = Date.now()): DaemonSetStatus {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const s = {
    desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0,
    numberReady: 0, numberAvailable: 0, updatedNumberScheduled: 0,
  };
  for (const { verdict, pods } of plan.nodes) {
    // As kube counts: a pod left on a node tainted NoSchedule after it started is misscheduled.
    if (!verdict.shouldRun) {
      if (pods.length > 0) s.numberMisscheduled++;
      continue;
    }
    s.desiredNumberScheduled++;
    if (pods.length === 0) continue;
    s.currentNumberScheduled++;
    const pod = pods[0];
    if (isPodReady(pod)) s.numberReady++;
    if (isPodAvailable(pod, minReady, now)) s.numberAvailable++;
    if (pod.metadata?.labels?.[REVISION_HASH_LABEL] === hash) s.updatedNumberScheduled++;
  }
  const status: DaemonSetStatus = {
    ...s,
    observedGeneration: ds.metadata?.generation,
    numberUnavailable: s.desiredNumberScheduled - s.numberAvailable,
  };
  if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
  if (ds.status?.conditions) status.conditions = ds.status.conditions;
  // omitempty in the API
  for (const k of ['numberAvailable', 'numberUnavailable', 'updatedNumberScheduled'] as const) if (status[k] === 0) delete status[k];
  return status;
}
