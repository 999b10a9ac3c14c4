// One step of a DaemonSet RollingUpdate, once manage() has nothing to create or
// delete (kube's pkg/controller/daemon/update.go rollingUpdate):
//
// - maxSurge 0: old pods are deleted (the next manage() creates the new ones)
//   while at most maxUnavailable nodes lack an available daemon pod; old pods that
//   are not available go at once.
// - maxSurge > 0 (then maxUnavailable is 0): a new pod is created next to the old
//   one on at most maxSurge nodes at a time, and the old pod is deleted once the
//   new one is available (Ready for minReadySeconds), so no node goes without a
//   daemon pod. A node whose old pod is not available gets its new pod at once.
//
// Both counts scale percentages over the nodes that should run the pod, rounding up.
// https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/
import type { DaemonSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { NodePods, Plan } from './daemonset-plan.ts';
import { REVISION_HASH_LABEL } from './daemonset-revisions.ts';
import { isPodAvailable } from './pod-control.ts';
import { scaledValue } from '../api/int-or-string.ts';


function rollingUpdateOf(ds: DaemonSet) {
  const us = ds.spec?.updateStrategy;
  return (us?.type ?? 'RollingUpdate') === 'RollingUpdate' ? us?.rollingUpdate : undefined;
}

/** maxSurge as a number of nodes (0 unless a RollingUpdate asks for it). */
export function surgeCount(ds: DaemonSet, desired: number): number {
  return scaledValue(rollingUpdateOf(ds)?.maxSurge, desired);
}

/** maxUnavailable as a number of nodes (the API defaults it to 1). */
export function unavailableCount(ds: DaemonSet, desired: number): number {
  const ru = rollingUpdateOf(ds);
  return scaledValue(ru ? ru.maxUnavailable ?? 1 : 0, desired);
}

/** The update may run a new pod next to the old one on a node (util.AllowsSurge). */
export function allowsSurge(ds: DaemonSet): boolean {
  return surgeCount(ds, 1) > 0;
}

export interface RolloutStep {
  /** Nodes to get a pod of the current revision. */
  create: string[];
  delete: Pod[];
}

const isUpdated = (pod: Pod, hash: string) => pod.metadata?.labels?.[REVISION_HASH_LABEL] === hash;

/** The one new and one old pod of a node, or undefined if it has more of either (manage() prunes those first). */
function newAndOld(pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod } | undefined {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (isUpdated(pod, hash)) {
      if (newPod) return undefined;
      newPod = pod;
    } else {
      if (oldPod) return undefined;
      oldPod = pod;
    }
  }
  return { newPod, oldPod };
}

export function rollingUpdate(ds: DaemonSet, plan: Plan, hash: string, now = Date.now()): RolloutStep {
  // The nodes kube looks at: those that should run the pod, and those that still have one.
  const nodes = plan.nodes.filter((n) => n.verdict.shouldRun || n.pods.length > 0);
  const desired = plan.nodes.filter((n) => n.verdict.shouldRun).length;
  const maxSurge = surgeCount(ds, desired);
  let maxUnavailable = unavailableCount(ds, desired);
  // Validation forbids both 0; should it happen anyway, accept one unavailable node as kube does.
  if (desired > 0 && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: Pod) => isPodAvailable(p, minReady, now);
  return maxSurge === 0
    ? replaceWithinUnavailable(nodes, hash, maxUnavailable, available)
    : surge(nodes, hash, maxSurge, desired, available);
}

function replaceWithinUnavailable(nodes: NodePods[], hash: string, maxUnavailable: number, available: (p: Pod) => boolean): RolloutStep {
  let numUnavailable = 0;
  const replacements: Pod[] = [];
  const candidates: Pod[] = [];
  for (const { pods } of nodes) {
    const found = newAndOld(pods, hash);
    if (!found || (!found.newPod && !found.oldPod) || (found.newPod && found.oldPod)) {
      numUnavailable++; // manage() creates or prunes here first
      continue;
    }
    if (found.newPod) {
      if (!available(found.newPod)) numUnavailable++;
      continue;
    }
    const old = found.oldPod!;
    if (!available(old)) {
      replacements.push(old); // costs no availability
      numUnavailable++;
    } else if (numUnavailable < maxUnavailable) {
      candidates.push(old);
    }
  }
  const room = Math.max(0, Math.min(maxUnavailable - numUnavailable, candidates.length));
  return { create: [], delete: [...replacements, ...candidates.slice(0, room)] };
}

function surge(nodes: NodePods[], hash: string, maxSurge: number, desired: number, available: (p: Pod) => boolean): RolloutStep {
  const deletes: Pod[] = [];
  const shouldNotRun: Pod[] = []; // old pods on nodes the pod no longer fits: go only once enough others are available
  const replacements: string[] = [];
  const candidates: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  for (const { node, verdict, pods } of nodes) {
    const found = newAndOld(pods, hash);
    if (!found) {
      numSurge++; // more than one old or new pod: manage() prunes; counts as surging meanwhile
      continue;
    }
    const { newPod, oldPod } = found;
    const current = oldPod ?? newPod;
    if (current && available(current)) numAvailable++;
    if (!oldPod) continue; // up to date, or empty (manage() creates)
    if (!newPod) {
      if (!available(oldPod)) {
        if (!verdict.shouldRun) deletes.push(oldPod);
        else replacements.push(node.metadata!.name!); // nothing to lose: replace at once
      } else if (!verdict.shouldRun) {
        shouldNotRun.push(oldPod);
      } else if (numSurge < maxSurge) {
        candidates.push(node.metadata!.name!);
      }
      continue;
    }
    // Surged here already: the old pod goes once the new one is available.
    if (!available(newPod)) numSurge++;
    else deletes.push(oldPod);
  }
  // Pods on nodes the DaemonSet left are deleted only while more nodes than desired have an available pod.
  const deletable = Math.min(Math.max(0, numAvailable - desired), shouldNotRun.length);
  deletes.push(...shouldNotRun.slice(0, deletable));
  const room = Math.max(0, Math.min(maxSurge - numSurge, candidates.length));
  return { create: [...replacements, ...candidates.slice(0, room)], delete: deletes };
}
