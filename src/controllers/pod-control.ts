// Pods as workload controllers see them: which count (active, ready, available),
// how one is made from a template for an owner, how creates are batched, and
// which to delete first when there are too many (kube's pkg/controller/controller_utils.go).
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { isPodReady, readyCondition } from '../api/pod-status.ts';
import { cloneJson } from '../api/json-clone.ts';

/** Not finished and not being deleted: the pods that count toward replicas (controller.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** Being deleted: it has a deletionTimestamp (whatever its phase). */
export function isPodTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp;
}

export { isPodReady };

/**
 * Ready for at least minReadySeconds (podutil.IsPodAvailable).
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#min-ready-seconds
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now = Date.now()): boolean {
  const c = readyCondition(pod);
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= now;
}

/** The ms until a ready pod becomes available, or undefined if it is not ready or already available. */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now = Date.now()): number | undefined {
  const c = readyCondition(pod);
  if (c?.status !== 'True' || minReadySeconds <= 0 || !c.lastTransitionTime) return undefined;
  const left = Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

/** The controller ownerReference an owner puts on what it makes (metav1.NewControllerRef). */
export function controllerRefTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata!.name!, uid: owner.metadata!.uid!,
    controller: true, blockOwnerDeletion: true,
  };
}

/**
 * A pod for owner from its template (controller.GetPodFromTemplate): the template's
 * labels, annotations, finalizers and spec, a generated name `<owner>-<5 random>`
 * (the API server fills the suffix) and a controller ownerReference.
 */
export function podFromTemplate(template: PodTemplateSpec, owner: KubeObject): Pod {
  const tm = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      generateName: `${owner.metadata!.name}-`,
      namespace: owner.metadata!.namespace,
      ownerReferences: [controllerRefTo(owner)],
    },
    spec: cloneJson(template.spec!),
  };
  if (tm.labels) pod.metadata!.labels = { ...tm.labels };
  if (tm.annotations) pod.metadata!.annotations = { ...tm.annotations };
  if (tm.finalizers) pod.metadata!.finalizers = [...tm.finalizers];
  return pod;
}

/** kube's SlowStartInitialBatchSize. */
export const SLOW_START_INITIAL_BATCH = 1;

/**
 * Calls fn count times in batches of 1, 2, 4, ... (controller.slowStartBatch):
 * when a quota or admission error rejects every create, we find out after one
 * call instead of after hundreds. Stops after the first batch with a failure.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: () => Promise<void>): Promise<{ successes: number; error?: Error }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length > 0) return { successes, error: failed[0].reason as Error };
    remaining -= batch;
  }
  return { successes };
}

function phaseOrdinal(pod: Pod): number {
  switch (pod.status?.phase) {
    case 'Pending': return 0;
    case 'Unknown': return 1;
    case 'Running': return 2;
    default: return 3;
  }
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

function restarts(pod: Pod): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((s) => s.restartCount ?? 0));
}

function time(s: string | undefined): number {
  return s ? Date.parse(s) : 0;
}

/**
 * With LogarithmicScaleDown (on by default) pods are compared by the power of two
 * of their age, so pods of about the same age count as equally old and the other
 * criteria (and randomness of the name) decide.
 */
function logBucket(t: number, now: number): number {
  const age = now - t;
  return age <= 0 ? 0 : Math.floor(Math.log2(age / 1000 + 1));
}

/**
 * The n pods to delete first (controller.ActivePodsWithRanks):
 * unscheduled before scheduled, Pending before Unknown before Running, not-ready
 * before ready, pods on nodes crowded with related pods first, lower
 * pod-deletion-cost first, more recently ready first, more restarts first, newer first.
 * related: the pods of this owner and its siblings (other ReplicaSets of the same Deployment).
 * https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#scaling-a-replicaset
 */
export function podsToDelete(pods: Pod[], related: Pod[], n: number, now = Date.now()): Pod[] {
  if (n >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const node = p.spec?.nodeName ?? '';
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  const rank = (p: Pod) => onNode.get(p.spec?.nodeName ?? '') ?? 0;
  const readyTime = (p: Pod) => time(readyCondition(p)?.lastTransitionTime);
  const order = (a: Pod, b: Pod): number => {
    const aAssigned = a.spec?.nodeName ? 1 : 0;
    const bAssigned = b.spec?.nodeName ? 1 : 0;
    if (aAssigned !== bAssigned) return aAssigned - bAssigned;
    if (phaseOrdinal(a) !== phaseOrdinal(b)) return phaseOrdinal(a) - phaseOrdinal(b);
    const aReady = isPodReady(a) ? 1 : 0;
    const bReady = isPodReady(b) ? 1 : 0;
    if (aReady !== bReady) return aReady - bReady;
    if (rank(a) !== rank(b)) return rank(b) - rank(a);
    if (deletionCost(a) !== deletionCost(b)) return deletionCost(a) - deletionCost(b);
    if (aReady && bReady) {
      const d = logBucket(readyTime(a), now) - logBucket(readyTime(b), now);
      if (d !== 0) return d; // smaller age bucket = more recently ready = first
    }
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    const d = logBucket(time(a.metadata?.creationTimestamp), now) - logBucket(time(b.metadata?.creationTimestamp), now);
    if (d !== 0) return d;
    return time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp);
  };
  return [...pods].sort(order).slice(0, n);
}
