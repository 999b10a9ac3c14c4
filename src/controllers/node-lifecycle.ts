// The node lifecycle controller (kube-controller-manager's nodelifecycle and
// taint-eviction controllers), in three loops:
//
// 1. Health, keyed by node: a node whose Lease in kube-node-lease (and Ready
//    heartbeat) has not moved for nodeMonitorGracePeriodMs gets its kubelet
//    conditions set to Unknown ("Kubelet stopped posting node status."), its
//    pods marked not Ready, and the NoSchedule taints its conditions call for
//    (not-ready / unreachable, the pressure taints, unschedulable), at once.
//    https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller
// 2. Zones, every nodeMonitorPeriodMs (and soon after a node's readiness
//    changes): not-Ready nodes get the not-ready / unreachable NoExecute taint
//    through their zone's rate limiter, whose rate follows the zone's health
//    (node-lifecycle-zones.ts); Ready nodes lose it.
//    https://kubernetes.io/docs/concepts/architecture/nodes/#rate-limits-on-eviction
// 3. Eviction, keyed by pod: a pod on a node with a NoExecute taint it does not
//    tolerate is deleted at once; one that tolerates it for tolerationSeconds is
//    deleted that long after the taint was added.
//    https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions
//
// Health is measured on our clock: we note when we last saw the lease's
// renewTime (or the Ready heartbeat) change, as the real controller does, so
// skew between the kubelet's clock and ours does not matter.
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.d.ts';
import { Controller } from '../client/controller.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import { sleep } from '../client/wait.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { rfc3339 } from '../api/time.ts';
import { condition, evictionTime, hasNoExecute, noScheduleTaints, reconcileNoScheduleTaints, swapNoExecuteTaints,
  TAINT_NOT_READY, TAINT_UNREACHABLE } from './node-lifecycle-taints.ts';
import { excludedFromDisruption, zoneKey, ZoneTainters } from './node-lifecycle-zones.ts';
import { cloneJson } from '../api/json-clone.ts';

export { evictionTime, noScheduleTaints, reconcileNoScheduleTaints, swapNoExecuteTaints, TAINT_NOT_READY, TAINT_UNREACHABLE,
  tolerates } from './node-lifecycle-taints.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const POD_NODE_INDEX = 'node-lifecycle:spec.nodeName';
/** How often the zones' queues are worked (NodeEvictionPeriod upstream). */
const NODE_EVICTION_PERIOD_MS = 100;

interface Health {
  /** When we (on our clock) last saw the node show signs of life. */
  probeMs: number;
  renewTime: string;
  heartbeat: string;
  readyStatus: string;
}

export function startNodeLifecycle(ctx: ControllerContext): RunningController {
  const o = ctx.options;
  const grace = o.nodeMonitorGracePeriodMs;
  const recorder = ctx.recorder('node-controller');
  const evictionRecorder = ctx.recorder('taint-eviction-controller');
  const nodes = ctx.informers.informerFor<Node>(R.nodes);
  const leases = ctx.informers.informerFor<Lease>(R.leases, { namespace: NODE_LEASE_NAMESPACE });
  const pods = ctx.informers.informerFor<Pod>(R.pods);
  addIndexerOnce(pods, POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  const health = new Map<string, Health>();
  const zones = new ZoneTainters(o, ctx.log);
  /** Nodes the zone pass has seen (upstream's knownNodeSet). */
  const known = new Set<string>();
  const pass = { requested: true, lastMs: 0, lastChangeMs: 0 };
  // Nodes that fall silent together cross their grace period within moments of each other: the zone
  // pass waits for that to settle, so that they are judged together (a whole zone or cluster gone at
  // once is a disruption, not a string of single failures).
  const settleMs = Math.min(500, o.nodeMonitorPeriodMs / 2);
  const noteChange = () => Object.assign(pass, { requested: true, lastChangeMs: Date.now() });

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

  /**
   * Writes the taints compute() derives from the node, re-reading it on conflicts (our cache often
   * lags behind our own writes). Returns the node as written (or unchanged); undefined when it is
   * gone or kept conflicting.
   */
  const updateTaints = async (start: Node, compute: (n: Node) => Taint[] | undefined): Promise<Node | undefined> => {
    let node: Node | undefined = start;
    for (let attempt = 0; node && attempt < 5; attempt++) {
      const taints = compute(node);
      if (!taints) return node;
      const next = cloneJson(node) as Node;
      next.spec = { ...next.spec, taints };
      if (taints.length === 0) delete next.spec.taints;
      try {
        return await ctx.client.update(R.nodes, next);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        if (!isConflict(e)) throw e;
      }
      node = await ctx.client.get<Node>(R.nodes, start.metadata!.name!).catch((e) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
    }
    return undefined;
  };

  const syncNode = async (name: string): Promise<void> => {
    let node = nodes.get(name);
    if (!node) {
      if (health.delete(name)) noteChange();
      return;
    }
    const now = Date.now();
    const renewTime = leases.getByName(name, NODE_LEASE_NAMESPACE)?.spec?.renewTime ?? '';
    const heartbeat = condition(node, 'Ready')?.lastHeartbeatTime ?? '';
    let h = health.get(name);
    if (!h) {
      health.set(name, (h = { probeMs: now, renewTime, heartbeat, readyStatus: condition(node, 'Ready')?.status ?? '' }));
      noteChange();
    } else if (h.renewTime !== renewTime || h.heartbeat !== heartbeat) Object.assign(h, { probeMs: now, renewTime, heartbeat });

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
    if (h.readyStatus !== readyStatus) noteChange();
    if (h.readyStatus === 'True' && readyStatus !== 'True') {
      recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    }
    h.readyStatus = readyStatus;
    if (readyStatus === 'False' || readyStatus === 'Unknown') await markPodsNotReady(name);

    // NoSchedule taints follow the conditions at once; NoExecute ones go through the zone pass.
    if (!(await updateTaints(node, (n) => reconcileNoScheduleTaints(n, noScheduleTaints(n)))) && nodes.get(name)) {
      nodeController.enqueueAfter(name, 100);
    }
  };

  /** Sets the kubelet's conditions to Unknown; returns the node as written. */
  const markUnknown = async (node: Node): Promise<Node> => {
    const t = rfc3339();
    const clone = cloneJson(node) as Node;
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

  /** The node's Ready status as of now: Unknown once it is silent past the grace period, even before we wrote so. */
  const readyNow = (node: Node, now: number): string | undefined => {
    const status = condition(node, 'Ready')?.status;
    const h = health.get(node.metadata!.name!);
    return status !== undefined && h && now - h.probeMs >= grace ? 'Unknown' : status;
  };

  /** Whether no node is about to cross, or just crossed, its grace period (and no readiness just changed). */
  const settled = (now: number): boolean =>
    now - pass.lastChangeMs >= settleMs && [...health.values()].every((h) => Math.abs(h.probeMs + grace - now) >= settleMs);

  /** Lifts the controller's NoExecute taints and drops the node from the tainting queues. */
  const markNodeAsReachable = async (node: Node): Promise<Node | undefined> => {
    zones.remove(node.metadata!.name!);
    return updateTaints(node, (n) => swapNoExecuteTaints(n, undefined, [TAINT_UNREACHABLE, TAINT_NOT_READY]));
  };

  /** processTaintBaseEviction: queue a not-Ready node for its NoExecute taint, or swap the one it has; untaint a Ready one. */
  const processTaintBasedEviction = async (node: Node, ready: string): Promise<void> => {
    if (ready === 'True') {
      await markNodeAsReachable(node);
      return;
    }
    const [add, opposite] = ready === 'False' ? [TAINT_NOT_READY, TAINT_UNREACHABLE] : [TAINT_UNREACHABLE, TAINT_NOT_READY];
    // A node already evicting keeps doing so: the taint changes kind at once, without waiting for the limiter.
    if (hasNoExecute(node, opposite)) await updateTaints(node, (n) => swapNoExecuteTaints(n, add, [opposite]));
    else if (!hasNoExecute(node, add)) zones.enqueue(zoneKey(node), node.metadata!.name!);
  };

  /** monitorNodeHealth's zone half: recompute the zones' states, then queue or untaint every node. */
  const monitorPass = async (now: number): Promise<void> => {
    Object.assign(pass, { requested: false, lastMs: now });
    const all = nodes.list();
    const fresh = new Map<string, Node>(); // nodes as we wrote them in this pass (the cache lags)
    const names = new Set(all.map((n) => n.metadata!.name!));
    for (const name of known) {
      if (!names.has(name)) {
        known.delete(name);
        zones.remove(name);
      }
    }
    for (const n of all) {
      if (known.has(n.metadata!.name!)) continue;
      // As upstream: a node seen for the first time (also after a restart) starts without our NoExecute
      // taints; a still not-Ready node gets them back through its zone's limiter.
      known.add(n.metadata!.name!);
      const written = await markNodeAsReachable(n);
      if (written) fresh.set(n.metadata!.name!, written);
    }
    const zoneReady = new Map<string, (string | undefined)[]>();
    for (const n of all) {
      if (excludedFromDisruption(n)) continue;
      const key = zoneKey(n);
      zoneReady.set(key, [...(zoneReady.get(key) ?? []), readyNow(n, now)]);
    }
    const action = zones.update(zoneReady);
    if (action === 'enter-master-disruption') {
      for (const n of all) {
        const written = await markNodeAsReachable(fresh.get(n.metadata!.name!) ?? n);
        if (written) fresh.set(n.metadata!.name!, written);
      }
    } else if (action === 'exit-master-disruption') {
      // Every node gets a fresh grace period, as upstream: their silence may have been ours.
      for (const h of health.values()) h.probeMs = now;
    }
    for (const n of all) {
      const ready = readyNow(n, now);
      if (ready !== undefined) await processTaintBasedEviction(fresh.get(n.metadata!.name!) ?? n, ready);
    }
  };

  /** doNoExecuteTaintingPass: each zone taints the nodes at the head of its queue while its limiter allows. */
  const taintingPass = async (): Promise<void> => {
    for (const queue of zones.queues.values()) {
      await queue.try(async (name) => {
        const node = nodes.get(name);
        if (!node) return true;
        const ready = readyNow(node, Date.now());
        if (ready === undefined) return 50;
        if (ready === 'True') return true; // Ready again: no taint
        const [add, opposite] = ready === 'False' ? [TAINT_NOT_READY, TAINT_UNREACHABLE] : [TAINT_UNREACHABLE, TAINT_NOT_READY];
        const written = await updateTaints(node, (n) => swapNoExecuteTaints(n, add, [opposite]));
        if (!written) return 50;
        ctx.log(`node-lifecycle: node ${name} is ${ready === 'False' ? 'not ready' : 'unreachable'}: tainted ${add}:NoExecute`);
        return true;
      });
    }
  };

  const stopZones = new AbortController();
  const runZones = async (): Promise<void> => {
    const signal = stopZones.signal;
    while (!signal.aborted && ![nodes, leases, pods].every((i) => i.hasSynced())) await sleep(50, signal);
    while (!signal.aborted) {
      const now = Date.now();
      const due = pass.requested || now - pass.lastMs >= o.nodeMonitorPeriodMs;
      try {
        // Never let a stream of changes hold the pass off for more than two periods.
        if (due && (settled(now) || now - pass.lastMs >= 2 * o.nodeMonitorPeriodMs)) await monitorPass(now);
        await taintingPass();
      } catch (e) {
        ctx.log(`node-lifecycle: zone pass failed (retrying): ${(e as Error).message}`);
      }
      await sleep(NODE_EVICTION_PERIOD_MS, signal);
    }
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

  let zonesLoop: Promise<void> | undefined;
  return {
    async run() {
      zonesLoop ??= runZones();
      await Promise.all([nodeController.run(), podController.run(), zonesLoop]);
    },
    async stop() {
      stopZones.abort();
      await Promise.all([nodeController.stop(), podController.stop(), zonesLoop]);
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
