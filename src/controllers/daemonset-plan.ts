// What a DaemonSet sync should do, computed from cached nodes and pods without
// side effects: which pods to create and delete (kube's daemon controller manage /
// podsShouldBeOnNode), and the resulting status. The RollingUpdate step that
// follows is daemonset-rollout.ts.
// https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/
import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { nodeShouldRunDaemonPod, targetNodeOf, type NodeVerdict } from './daemonset-nodes.ts';
import { REVISION_HASH_LABEL } from './daemonset-revisions.ts';
import { allowsSurge } from './daemonset-rollout.ts';
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
export function planDaemonPods(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string, now = Date.now()): Plan {
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
      plan.delete.push(...excessPods(ds, running, hash, now));
    }
  }
  return plan;
}

/**
 * The pods beyond one per node (oldest first in `running`). Without surge the
 * oldest stays. With maxSurge an old and a new pod may share the node while the
 * new one comes up: the old one goes once it is not ready or the new one is
 * available; any further old or new pods go.
 */
function excessPods(ds: DaemonSet, running: Pod[], hash: string, now: number): Pod[] {
  if (!allowsSurge(ds)) return running.slice(1);
  const excess: Pod[] = [];
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  for (const pod of running) {
    const isNew = pod.metadata?.labels?.[REVISION_HASH_LABEL] === hash;
    if (isNew && !oldestNew) oldestNew = pod;
    else if (!isNew && !oldestOld) oldestOld = pod;
    else excess.push(pod);
  }
  if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))) {
    excess.push(oldestOld);
  }
  return excess;
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
