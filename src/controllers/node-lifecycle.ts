// The node lifecycle controller (kube-controller-manager's nodelifecycle and
// taint-eviction controllers), in two loops:
//
// 1. Health, keyed by node: a node whose Lease in kube-node-lease (and Ready
//    heartbeat) has not moved for nodeMonitorGracePeriodMs gets its kubelet
//    conditions set to Unknown ("Kubelet stopped posting node status."), and
//    every node carries the taints its conditions call for: unreachable /
//    not-ready with NoExecute and NoSchedule, the pressure taints, unschedulable.
//    When the kubelet posts Ready=True again the taints go away.
//    https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller
// 2. Eviction, keyed by pod: a pod on a node with a NoExecute taint it does not
//    tolerate is deleted at once; one that tolerates it for tolerationSeconds is
//    deleted that long after the taint was added.
//    https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
//
// Health is measured on our clock: we note when we last saw the lease's
// renewTime (or the Ready heartbeat) change, as the real controller does, so
// skew between the kubelet's clock and ours does not matter.
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node, NodeCondition, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import { Controller } from '../client/controller.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { rfc3339 } from '../api/time.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
/** Taints this controller owns; others' taints on a node are left alone. */
const MANAGED_TAINTS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY, 'node.kubernetes.io/memory-pressure',
  'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/pid-pressure', 'node.kubernetes.io/network-unavailable',
  'node.kubernetes.io/unschedulable']);
const POD_NODE_INDEX = 'node-lifecycle:spec.nodeName';


function condition(node: Node, type: string): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

/** The taints a node's conditions and spec call for (nodelifecycle's NoSchedule and NoExecute passes). */
export function desiredTaints(node: Node): Taint[] {
  const out: Taint[] = [];
  const ready = condition(node, 'Ready')?.status;
  if (ready === 'False') out.push({ key: TAINT_NOT_READY, effect: 'NoExecute' }, { key: TAINT_NOT_READY, effect: 'NoSchedule' });
  if (ready === 'Unknown') out.push({ key: TAINT_UNREACHABLE, effect: 'NoExecute' }, { key: TAINT_UNREACHABLE, effect: 'NoSchedule' });
  const pressure: [string, string][] = [['MemoryPressure', 'memory-pressure'], ['DiskPressure', 'disk-pressure'],
    ['PIDPressure', 'pid-pressure'], ['NetworkUnavailable', 'network-unavailable']];
  for (const [type, key] of pressure) if (condition(node, type)?.status === 'True') out.push({ key: `node.kubernetes.io/${key}`, effect: 'NoSchedule' });
  if (node.spec?.unschedulable) out.push({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' });
  return out;
}

/** node's taints with the managed ones replaced by desired; undefined when nothing changes. */
export function reconcileTaints(node: Node, desired: Taint[], now = new Date()): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const managed = current.filter((t) => MANAGED_TAINTS.has(t.key));
  if (managed.length === desired.length && desired.every((d) => managed.some((m) => same(m, d)))) return undefined;
  const kept = current.filter((t) => !MANAGED_TAINTS.has(t.key));
  // A NoExecute taint records when it was added: evictions count tolerationSeconds from then.
  const added = desired.map((d) => managed.find((m) => same(m, d)) ??
    (d.effect === 'NoExecute' ? { ...d, timeAdded: rfc3339(now) } : d));
  return [...kept, ...added];
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false; // an empty key only matches everything with Exists
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/**
 * When a pod on a node with these NoExecute taints must go, in ms since epoch:
 * now for an untolerated taint, never (undefined) when every toleration is
 * unbounded, else the earliest timeAdded + tolerationSeconds.
 */
export function evictionTime(pod: Pod, taints: Taint[], now: number): number | undefined {
  const tolerations = pod.spec?.tolerations ?? [];
  let at: number | undefined;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return now;
    // The taint is tolerated for as long as the most lenient matching toleration allows.
    const forever = matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null);
    if (forever) continue;
    const seconds = Math.max(0, ...matching.map((t) => t.tolerationSeconds!));
    const since = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    const due = (Number.isNaN(since) ? now : since) + seconds * 1000;
    at = at === undefined ? due : Math.min(at, due);
  }
  return at;
}

interface Health {
  /** When we (on our clock) last saw the node show signs of life. */
  probeMs: number;
  renewTime: string;
  heartbeat: string;
  readyStatus: string;
}

export function startNodeLifecycle(ctx: ControllerContext): RunningController {
  const grace = ctx.options.nodeMonitorGracePeriodMs;
  const recorder = ctx.recorder('node-controller');
  const evictionRecorder = ctx.recorder('taint-eviction-controller');
  const nodes = ctx.informers.informerFor<Node>(R.nodes);
  const leases = ctx.informers.informerFor<Lease>(R.leases, { namespace: NODE_LEASE_NAMESPACE });
  const pods = ctx.informers.informerFor<Pod>(R.pods);
  addIndexerOnce(pods, POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  const health = new Map<string, Health>();

  const markPodsNotReady = async (nodeName: string) => {
    // As the real controller does: nothing on an unreachable node can be trusted to be Ready.
    for (const pod of pods.byIndex(POD_NODE_INDEX, nodeName)) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False' || pod.metadata?.deletionTimestamp) continue;
      const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: rfc3339() } : c));
      try {
        await ctx.client.patch(R.pods, pod.metadata!.name!, { status: { conditions } }, { namespace: pod.metadata!.namespace, subresource: 'status', type: 'merge' });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  };

  const syncNode = async (name: string): Promise<void> => {
    let node = nodes.get(name);
    if (!node) {
      health.delete(name);
      return;
    }
    const now = Date.now();
    const renewTime = leases.getByName(name, NODE_LEASE_NAMESPACE)?.spec?.renewTime ?? '';
    const heartbeat = condition(node, 'Ready')?.lastHeartbeatTime ?? '';
    let h = health.get(name);
    if (!h) health.set(name, (h = { probeMs: now, renewTime, heartbeat, readyStatus: condition(node, 'Ready')?.status ?? '' }));
    else if (h.renewTime !== renewTime || h.heartbeat !== heartbeat) Object.assign(h, { probeMs: now, renewTime, heartbeat });

    const silentFor = now - h.probeMs;
    if (silentFor >= grace && KUBELET_CONDITIONS.some((t) => condition(node!, t)?.status !== 'Unknown')) {
      try {
        node = await markUnknown(node);
      } catch (e) {
        if (isNotFound(e)) return;
        if (isConflict(e)) return nodeController.enqueueAfter(name, 100); // the kubelet (or we) just wrote: look again
        throw e;
      }
    } else if (silentFor < grace) {
      nodeController.enqueueAfter(name, grace - silentFor + 10);
    }

    const readyStatus = condition(node, 'Ready')?.status ?? '';
    if (h.readyStatus === 'True' && readyStatus !== 'True') {
      recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    }
    h.readyStatus = readyStatus;
    if (readyStatus === 'False' || readyStatus === 'Unknown') await markPodsNotReady(name);

    const taints = reconcileTaints(node, desiredTaints(node));
    if (taints) {
      const next = structuredClone(node) as Node;
      next.spec = { ...next.spec, taints };
      if (taints.length === 0) delete next.spec.taints;
      try {
        await ctx.client.update(R.nodes, next);
      } catch (e) {
        if (isNotFound(e)) return;
        // Our cache lags behind a write (often our own status update): the newer node's event syncs again.
        if (isConflict(e)) return nodeController.enqueueAfter(name, 100);
        throw e;
      }
    }
  };

  /** Sets the kubelet's conditions to Unknown; returns the node as written. */
  const markUnknown = async (node: Node): Promise<Node> => {
    const t = rfc3339();
    const clone = structuredClone(node) as Node;
    const conditions = clone.status?.conditions ?? [];
    for (const type of KUBELET_CONDITIONS) {
      const c = conditions.find((x) => x.type === type);
      if (!c) {
        conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastTransitionTime: t, lastHeartbeatTime: node.metadata?.creationTimestamp });
      } else if (c.status !== 'Unknown') {
        Object.assign(c, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: t });
      }
    }
    const next: Node = { ...clone, status: { ...clone.status, conditions } };
    ctx.log(`node-lifecycle: node ${node.metadata!.name} has not renewed its lease for ${Math.round(grace / 1000)}s: marking it Unknown`);
    return ctx.client.updateStatus(R.nodes, next);
  };

  const syncPod = async (key: string): Promise<void> => {
    const pod = pods.get(key);
    if (!pod || pod.metadata?.deletionTimestamp || !pod.spec?.nodeName) return;
    const noExecute = (nodes.get(pod.spec.nodeName)?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0) return;
    const now = Date.now();
    const at = evictionTime(pod, noExecute, now);
    if (at === undefined) return;
    if (at > now) return podController.enqueueAfter(key, at - now + 10);
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    evictionRecorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${namespace}/${name}`);
    try {
      // Tell the pod's owner why it is going (the DisruptionTarget condition), then delete it.
      await ctx.client.patch(R.pods, name, { status: { conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager',
        message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: rfc3339() }] } },
        { namespace, subresource: 'status', type: 'strategic' });
      await ctx.client.delete(R.pods, name, { namespace, preconditions: { uid } });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  };

  const nodeController = new Controller('node-lifecycle', [nodes, leases, pods], syncNode, 2);
  nodeController.watch(leases, (l) => [l.metadata!.name!]);
  const podController = new Controller('taint-eviction', [pods, nodes], syncPod, 2);
  podController.watch(nodes, (n) => pods.indexKeys(POD_NODE_INDEX, n.metadata!.name!));

  return {
    async run() {
      await Promise.all([nodeController.run(), podController.run()]);
    },
    async stop() {
      await Promise.all([nodeController.stop(), podController.stop()]);
    },
  };
}

/** Informers are shared: the index may exist already if this controller was started before on the same factory. */
function addIndexerOnce<T extends Pod>(informer: SharedInformer<T>, name: string, fn: (obj: T) => string[]): void {
  try {
    informer.addIndexer(name, fn);
  } catch (e) {
    if (!/already exists/.test((e as Error).message)) throw e;
  }
}

export const definition: ControllerDefinition = {
  name: 'node-lifecycle',
  start: (ctx) => startNodeLifecycle(ctx),
};
