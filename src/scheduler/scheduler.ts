// The scheduler process: informers keep a ClusterSnapshot current and feed pending pods into
// the SchedulingQueue; one loop pops a pod, runs schedulePod on the snapshot, assumes the pod
// onto the chosen node (so the next pod sees it at once) and binds it through pods/binding in
// the background, many binds at a time. A pod that fits nowhere gets PodScheduled=False with the
// FitError text and a FailedScheduling event, and waits for a cluster event that may help.
// https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.d.ts';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.d.ts';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import type { SharedInformer } from '../client/informer.ts';
import type { SharedInformerFactory } from '../client/informer-factory.ts';
import { builtin, R, resourcePath } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { sleep } from '../client/wait.ts';
import { podKey, type PodInfo } from './pod-info.ts';
import { type QueuedPod, SchedulingQueue, type SchedulingQueueOptions } from './queue-runtime.ts';
import { schedulePod, type Unschedulable } from './schedule.ts';
import { ClusterSnapshot } from './snapshot.ts';
import {
  assignedPodChangeMatters, DEFAULT_SCHEDULER_NAME, isAssigned, isResponsibleFor, isTerminal, nodeSchedulingPropertiesChanged,
  podSchedulingRelevantChange,
} from './wiring-events.ts';
import { evictVictims } from './wiring-preemption.ts';
import { PriorityResolver } from './wiring-priority.ts';
import { PodStatusWriter } from './wiring-status.ts';

export interface SchedulerOptions {
  client: RestClient;
  /** Shared informers (pods, nodes, namespaces, priorityclasses, poddisruptionbudgets are taken from it). */
  informers: SharedInformerFactory;
  /** Reports as 'default-scheduler'. */
  recorder: EventRecorder;
  /** Pods with this spec.schedulerName (unset counts as default-scheduler) are ours. */
  schedulerName?: string;
  /** Bindings in flight at once (default 64). */
  bindConcurrency?: number;
  /** Status patches in flight at once (default 16). */
  statusConcurrency?: number;
  percentageOfNodesToScore?: number;
  queue?: SchedulingQueueOptions;
  /** A Normal "Scheduled" event per bound pod, as kube-scheduler records (default true). */
  recordScheduledEvents?: boolean;
  log?: (message: string) => void;
}

export interface SchedulerStats {
  /** Scheduling cycles run. */
  attempts: number;
  /** Pods bound (binding accepted by the API). */
  bound: number;
  /** Cycles that found no node. */
  unschedulable: number;
  bindErrors: number;
  /** Cycles that evicted victims. */
  preemptions: number;
  /** Time spent in the scheduling algorithm (ms). */
  algorithmMs: number;
}

export class Scheduler {
  readonly snapshot = new ClusterSnapshot();
  readonly queue: SchedulingQueue;
  readonly stats: SchedulerStats = { attempts: 0, bound: 0, unschedulable: 0, bindErrors: 0, preemptions: 0, algorithmMs: 0 };
  private readonly opts: SchedulerOptions;
  private readonly schedulerName: string;
  private readonly bindConcurrency: number;
  private readonly log: (message: string) => void;
  private readonly status: PodStatusWriter;
  private readonly pods: SharedInformer<Pod>;
  private readonly nodes: SharedInformer<Node>;
  private readonly namespaces: SharedInformer<Namespace>;
  private readonly priorityClasses: SharedInformer<PriorityClass>;
  /** What preemption weighs its victims against. */
  private readonly pdbs: SharedInformer<PodDisruptionBudget>;
  private readonly priorities: PriorityResolver;
  /** Pods assumed onto a node whose binding the informer has not shown yet. */
  private readonly assumed = new Map<string, PodInfo>();
  /**
   * Pods that preempted and wait for their victims to go (the nominator): while they wait, the
   * room they were promised counts as taken for pods of lower or equal priority.
   */
  private readonly nominated = new Map<string, { pod: Pod; node: string }>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly unregister: (() => void)[] = [];
  private readonly stopController = new AbortController();
  private bindSlotFree: (() => void) | undefined;
  private affinityMovePending = false;
  private running: Promise<void> | undefined;

  constructor(opts: SchedulerOptions) {
    this.opts = opts;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.bindConcurrency = opts.bindConcurrency ?? 64;
    this.log = opts.log ?? ((m) => console.error(`scheduler: ${m}`));
    this.queue = new SchedulingQueue(opts.queue);
    this.status = new PodStatusWriter(opts.client, { concurrency: opts.statusConcurrency, log: this.log });
    this.pods = opts.informers.informerFor<Pod>(R.pods);
    this.nodes = opts.informers.informerFor<Node>(R.nodes);
    this.namespaces = opts.informers.informerFor<Namespace>(R.namespaces);
    this.priorityClasses = opts.informers.informerFor<PriorityClass>(R.priorityclasses);
    this.priorities = new PriorityResolver(this.priorityClasses);
    this.pdbs = opts.informers.informerFor<PodDisruptionBudget>(builtin('poddisruptionbudgets.policy'));
  }

  /** Waits for the caches, then schedules until stop(). */
  run(): Promise<void> {
    this.running ??= this.runInner();
    return this.running;
  }

  /** Stops scheduling and waits for bindings and writes in flight. Shared informers keep running. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.queue.close();
    this.bindSlotFree?.();
    for (const u of this.unregister.splice(0)) u();
    await this.running;
    await Promise.all([...this.inFlight]);
    await this.status.flush();
    await this.opts.recorder.flush();
  }

  private async runInner(): Promise<void> {
    const stop = this.stopController.signal;
    const informers = [this.priorityClasses, this.namespaces, this.nodes, this.pods, this.pdbs];
    for (const i of informers) i.start();
    while (!stop.aborted && !informers.every((i) => i.hasSynced())) await sleep(50, stop);
    if (stop.aborted) return;
    // Handlers first get every cached object (priority classes are known before any pod).
    this.unregister.push(this.namespaces.addEventHandler({
      onAdd: (ns) => this.snapshot.namespaceLabels.set(ns.metadata!.name!, ns.metadata?.labels ?? {}),
      onUpdate: (_old, ns) => this.snapshot.namespaceLabels.set(ns.metadata!.name!, ns.metadata?.labels ?? {}),
      onDelete: (ns) => this.snapshot.namespaceLabels.delete(ns.metadata!.name!),
    }));
    this.unregister.push(this.nodes.addEventHandler({
      onAdd: (node) => {
        this.snapshot.addNode(node);
        this.queue.moveAllToActiveOrBackoff();
      },
      onUpdate: (old, node) => {
        this.snapshot.updateNode(node);
        if (nodeSchedulingPropertiesChanged(old, node)) this.queue.moveAllToActiveOrBackoff();
      },
      onDelete: (node) => this.snapshot.removeNode(node.metadata!.name!),
    }));
    this.unregister.push(this.pods.addEventHandler({
      onAdd: (pod) => this.onPod(undefined, pod),
      onUpdate: (old, pod) => this.onPod(old, pod),
      onDelete: (pod) => this.onPodDelete(pod),
    }));
    this.queue.start();
    await this.loop();
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    const key = podKey(pod);
    if (isAssigned(pod)) {
      const wasAssigned = old !== undefined && isAssigned(old);
      this.assumed.delete(key); // the binding landed (ours or anyone's): the real pod replaces the assumed one
      this.nominated.delete(key);
      this.queue.delete(key);
      this.status.forget(key);
      this.snapshot.updatePod(this.priorities.resolve(pod));
      if (wasAssigned) {
        if (assignedPodChangeMatters(old!, pod)) this.queue.moveAllToActiveOrBackoff();
      } else if (!this.affinityMovePending) {
        // AssignedPodAdd can only help pods that want to be near other pods; one pass per burst of bindings.
        this.affinityMovePending = true;
        setImmediate(() => {
          this.affinityMovePending = false;
          this.queue.moveAllToActiveOrBackoff((q) => !!q.pod.spec?.affinity?.podAffinity);
        });
      }
      return;
    }
    if (!isResponsibleFor(pod, this.schedulerName)) return;
    if (isTerminal(pod) || pod.metadata?.deletionTimestamp) {
      this.queue.delete(key);
      return;
    }
    const resolved = this.priorities.resolve(pod);
    const nominatedNode = pod.status?.nominatedNodeName;
    if (nominatedNode) this.nominated.set(key, { pod: resolved, node: nominatedNode });
    if (this.assumed.has(key)) {
      // Being bound: keep the latest object for a retry, but don't schedule it again.
      if (this.queue.get(key)) this.queue.update(resolved, false);
      return;
    }
    if (!old) this.queue.add(resolved);
    else this.queue.update(resolved, podSchedulingRelevantChange(old, pod));
  }

  private onPodDelete(pod: Pod): void {
    const key = podKey(pod);
    this.queue.delete(key);
    this.status.forget(key);
    this.assumed.delete(key);
    this.nominated.delete(key);
    if (this.snapshot.getPod(key) || isAssigned(pod)) {
      this.snapshot.removePod(key);
      this.queue.moveAllToActiveOrBackoff(); // AssignedPodDelete: its room is free
    }
  }

  private async loop(): Promise<void> {
    let slice = performance.now();
    for (;;) {
      let next = this.queue.pop();
      if (next instanceof Promise) {
        next = await next;
        slice = performance.now();
      }
      if (!next || this.stopController.signal.aborted) return;
      this.scheduleOne(next);
      if (this.inFlight.size >= this.bindConcurrency) {
        await new Promise<void>((r) => (this.bindSlotFree = r));
        slice = performance.now();
      } else if (performance.now() - slice > 20) {
        // Let informer events and binding responses in between scheduling cycles.
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
  }

  /** One scheduling cycle (scheduleOne); the binding runs on in the background. */
  private scheduleOne(q: QueuedPod): void {
    const pod = q.pod;
    if (pod.metadata?.deletionTimestamp || this.snapshot.getPod(q.key)) {
      this.queue.delete(q.key); // being deleted, or already assumed/bound
      return;
    }
    this.stats.attempts++;
    let result: ReturnType<typeof schedulePod>;
    const started = performance.now();
    const reserved = this.reserveNominated(pod, q.key);
    try {
      result = schedulePod(this.snapshot, pod, { percentageOfNodesToScore: this.opts.percentageOfNodesToScore, pdbs: () => this.pdbs.list() });
    } catch (e) {
      this.log(`scheduling pod ${q.key}: ${(e as Error).stack ?? e}`);
      this.queue.requeueAfterError(q);
      return;
    } finally {
      for (const key of reserved) this.snapshot.removePod(key);
      this.stats.algorithmMs += performance.now() - started;
    }
    if (!('node' in result)) {
      this.onUnschedulable(q, result.unschedulable);
      return;
    }
    const info = this.snapshot.assumePod(pod, result.node);
    if (!info) {
      this.queue.delete(q.key);
      return;
    }
    this.assumed.set(q.key, info);
    this.nominated.delete(q.key);
    const binding = this.bind(q, result.node, info);
    this.inFlight.add(binding);
    void binding.finally(() => {
      this.inFlight.delete(binding);
      const free = this.bindSlotFree;
      this.bindSlotFree = undefined;
      free?.();
    });
  }

  /**
   * Puts pods nominated to a node, of at least this pod's priority, onto their nodes for this
   * cycle (addNominatedPods, the conservative pass), so a lower-priority pod does not take the room
   * a preemption freed. Returns their keys, to take them off again.
   */
  private reserveNominated(pod: Pod, key: string): string[] {
    if (this.nominated.size === 0) return [];
    const priority = pod.spec?.priority ?? 0;
    const reserved: string[] = [];
    for (const [k, n] of this.nominated) {
      if (k === key || (n.pod.spec?.priority ?? 0) < priority || this.snapshot.getPod(k)) continue;
      this.snapshot.assumePod(n.pod, n.node);
      reserved.push(k);
    }
    return reserved;
  }

  private async bind(q: QueuedPod, nodeName: string, info: PodInfo): Promise<void> {
    const pod = q.pod;
    const { name, namespace, uid } = pod.metadata!;
    try {
      await this.opts.client.call('POST', resourcePath(R.pods, namespace, name, 'binding'), {
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
      });
      this.stats.bound++;
      if (this.queue.get(q.key) === q) this.queue.delete(q.key);
      this.status.forget(q.key);
      if (this.opts.recordScheduledEvents !== false) {
        this.opts.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${q.key} to ${nodeName}`);
      }
    } catch (e) {
      this.stats.bindErrors++;
      // Forget the assumption unless the informer has replaced it with the real pod meanwhile.
      if (this.assumed.get(q.key) === info) {
        this.assumed.delete(q.key);
        if (this.snapshot.getPod(q.key) === info) this.snapshot.removePod(q.key);
      }
      const current = this.pods.get(q.key);
      if (isNotFound(e) || !current || isAssigned(current)) {
        if (this.queue.get(q.key) === q) this.queue.delete(q.key);
        return;
      }
      const message = `Binding rejected: ${(e as Error).message}`;
      this.log(`pod ${q.key} on node ${nodeName}: ${message}`);
      this.opts.recorder.event(pod, 'Warning', 'FailedScheduling', message);
      this.queue.requeueAfterError(q);
      // The loop may be idle: another cycle can now use the room this pod held.
      this.queue.moveAllToActiveOrBackoff();
    }
  }

  /** FitError: say why on the pod (condition and event), nominate and preempt if that helps, park the pod. */
  private onUnschedulable(q: QueuedPod, u: Unschedulable): void {
    this.stats.unschedulable++;
    const pod = q.pod;
    this.opts.recorder.event(pod, 'Warning', 'FailedScheduling', u.message);
    this.status.setPodScheduled(pod, { status: 'False', reason: 'Unschedulable', message: u.message }, u.nominatedNode);
    if (u.nominatedNode) this.nominated.set(q.key, { pod, node: u.nominatedNode });
    if (u.nominatedNode && u.victims && u.victims.length > 0) {
      this.stats.preemptions++;
      const eviction = evictVictims(this.opts.client, this.opts.recorder, this.schedulerName, pod, u.nominatedNode, u.victims, this.log);
      this.inFlight.add(eviction);
      void eviction.finally(() => this.inFlight.delete(eviction));
    }
    this.queue.requeueUnschedulable(q);
  }
}
