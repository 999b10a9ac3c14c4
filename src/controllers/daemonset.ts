// The DaemonSet controller: one pod per eligible node, pinned to it with a
// required node affinity on metadata.name so the scheduler binds it there; new
// nodes get a pod, nodes that stop matching lose theirs; template changes roll
// out node by node (RollingUpdate: maxUnavailable, or maxSurge to start the new pod
// before the old one goes) or on pod deletion (OnDelete);
// the template history is kept as ControllerRevisions (kube's pkg/controller/daemon).
// https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { labelSelectorFromMeta } from '../api/selectors/index.ts';
import { keyOf } from '../client/cache.ts';
import { Controller, controllerOf, ownerKeys } from '../client/controller.ts';
import { isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import type { EventHandler, SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { claimObjects } from './controller-claims.ts';
import { ControllerExpectations, ownedPodHandler } from './controller-expectations.ts';
import { daemonPodForNode } from './daemonset-nodes.ts';
import { daemonSetStatus, planDaemonPods } from './daemonset-plan.ts';
import { rollingUpdate } from './daemonset-rollout.ts';
import { cleanupHistory, ensureCurrentRevision, REVISION_HASH_LABEL } from './daemonset-revisions.ts';
import { msUntilAvailable, SLOW_START_INITIAL_BATCH, slowStartBatch } from './pod-control.ts';
import { cloneJson } from '../api/json-clone.ts';

/** At most this many pods are created or deleted per sync (kube's BurstReplicas). */
const BURST_REPLICAS = 250;

export const definition: ControllerDefinition = {
  name: 'daemonset',
  start: (ctx) => startDaemonSetController(ctx),
};

export function startDaemonSetController(ctx: ControllerContext, opts: { workers?: number } = {}): RunningController {
  const dsInformer = ctx.informers.informerFor<DaemonSet>(R.daemonsets);
  const podInformer = ctx.informers.informerFor<Pod>(R.pods);
  const nodeInformer = ctx.informers.informerFor<Node>(R.nodes);
  const revInformer = ctx.informers.informerFor<ControllerRevision>(R.controllerrevisions);
  const syncer = new DaemonSetSyncer(ctx.client, dsInformer, podInformer, nodeInformer, revInformer, ctx.recorder('daemonset-controller'));
  const controller = new Controller('daemonset', [dsInformer, podInformer, nodeInformer, revInformer], (key) => syncer.sync(key), opts.workers ?? 2);
  syncer.enqueue = (key, afterMs) => (afterMs ? controller.enqueueAfter(key, afterMs) : controller.enqueue(key));
  // Any node change may change where every DaemonSet should run.
  controller.watch(nodeInformer, () => dsInformer.list().map(keyOf));
  controller.watch(revInformer, ownerKeys('DaemonSet'));
  const unregister = podInformer.addEventHandler(syncer.podHandler());
  return {
    run: () => controller.run(),
    stop: async () => {
      unregister();
      await controller.stop();
    },
  };
}

class DaemonSetSyncer {
  private readonly client: RestClient;
  private readonly dsInformer: SharedInformer<DaemonSet>;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly nodeInformer: SharedInformer<Node>;
  private readonly revInformer: SharedInformer<ControllerRevision>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new ControllerExpectations();
  enqueue: (key: string, afterMs?: number) => void = () => {};

  constructor(client: RestClient, dsInformer: SharedInformer<DaemonSet>, podInformer: SharedInformer<Pod>, nodeInformer: SharedInformer<Node>,
    revInformer: SharedInformer<ControllerRevision>, recorder: EventRecorder) {
    this.client = client;
    this.dsInformer = dsInformer;
    this.podInformer = podInformer;
    this.nodeInformer = nodeInformer;
    this.revInformer = revInformer;
    this.recorder = recorder;
  }

  /** Pod changes wake the owning DaemonSet, or every DaemonSet that could adopt an orphan. */
  podHandler(): EventHandler<Pod> {
    return ownedPodHandler('DaemonSet', this.expectations, (key) => this.enqueue(key), this.dsInformer, (o) => o.spec?.selector);
  }


  async sync(key: string): Promise<void> {
    const ds = this.dsInformer.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    const ns = ds.metadata!.namespace!;
    const selector = labelSelectorFromMeta(ds.spec?.selector);
    const needsSync = this.expectations.satisfied(key);
    const pods = await claimObjects({
      client: this.client, owner: ds, resource: R.pods, selector, candidates: this.podInformer.list(ns),
      getFreshOwner: () => this.client.get(R.daemonsets, ds.metadata!.name!, { namespace: ns }),
    });
    const revisions = this.revInformer.list(ns).filter((r) => controllerOf(r)?.uid === ds.metadata!.uid);
    const deleting = !!ds.metadata?.deletionTimestamp;
    const hash = deleting ? '' : await ensureCurrentRevision(this.client, ds, revisions);
    const plan = planDaemonPods(ds, this.nodeInformer.list(), pods, hash);

    let error: Error | undefined;
    if (needsSync && !deleting) {
      let { create, delete: deletes } = plan;
      // The update goes on only once manage() has nothing left to do (kube: expectations satisfied after manage).
      if (create.length === 0 && deletes.length === 0 && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        ({ create, delete: deletes } = rollingUpdate(ds, plan, hash));
      }
      error = await this.syncNodes(key, ds, create, deletes, hash);
      if (!error) await cleanupHistory(this.client, ds, revisions, pods, hash);
    }

    if (!deleting) await this.updateStatus(ds, daemonSetStatus(ds, plan, hash));
    if (error) throw error;
    // A ready pod becomes available minReadySeconds later without any event: look again then.
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const waits = pods.map((p) => msUntilAvailable(p, minReady)).filter((w): w is number => w !== undefined);
    if (waits.length > 0) this.enqueue(key, Math.min(...waits) + 100);
  }

  /** Creates pods for nodes and deletes pods, expecting to see each in the cache before acting again. */
  private async syncNodes(key: string, ds: DaemonSet, nodes: string[], deletes: Pod[], hash: string): Promise<Error | undefined> {
    const create = nodes.slice(0, BURST_REPLICAS);
    const victims = deletes.slice(0, BURST_REPLICAS);
    this.expectations.expectCreations(key, create.length);
    this.expectations.expectDeletions(key, victims.map(keyOf));
    const template = cloneJson(ds.spec!.template);
    template.metadata = {
      ...template.metadata,
      labels: {
        ...template.metadata?.labels, [REVISION_HASH_LABEL]: hash,
        // kube still sets this deprecated label for clients that compare generations
        'pod-template-generation': String(ds.metadata?.generation ?? 1),
      },
    };
    const errors: Error[] = [];
    let next = 0;
    const { successes, error } = await slowStartBatch(create.length, SLOW_START_INITIAL_BATCH, async () => {
      const node = create[next++];
      try {
        const pod = await this.client.create<Pod>(R.pods, daemonPodForNode(ds, template, node));
        this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata!.name}`);
      } catch (e) {
        this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
        throw e;
      }
    });
    for (let i = successes; i < create.length; i++) this.expectations.creationObserved(key); // never coming
    if (error) errors.push(error);
    await Promise.all(victims.map(async (pod) => {
      try {
        await this.client.delete(R.pods, pod.metadata!.name!, { namespace: pod.metadata!.namespace, preconditions: { uid: pod.metadata!.uid } });
        this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
      } catch (e) {
        this.expectations.deletionObserved(key, keyOf(pod));
        if (isNotFound(e)) return;
        this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        errors.push(e as Error);
      }
    }));
    return errors[0];
  }

  private async updateStatus(ds: DaemonSet, status: DaemonSetStatus): Promise<void> {
    if (JSON.stringify(normalize(ds.status)) === JSON.stringify(normalize(status))) return;
    let current: DaemonSet = ds;
    for (let attempt = 0; ; attempt++) {
      const next: DaemonSet = { ...current, status: { ...status, observedGeneration: ds.metadata?.generation } };
      try {
        await this.client.updateStatus(R.daemonsets, next);
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (attempt >= 1) throw e;
        current = await this.client.get<DaemonSet>(R.daemonsets, ds.metadata!.name!, { namespace: ds.metadata!.namespace });
      }
    }
  }
}

function normalize(s: DaemonSetStatus | undefined): unknown[] {
  const v = s ?? ({} as DaemonSetStatus);
  return [v.desiredNumberScheduled ?? 0, v.currentNumberScheduled ?? 0, v.numberMisscheduled ?? 0, v.numberReady ?? 0,
    v.numberAvailable ?? 0, v.numberUnavailable ?? 0, v.updatedNumberScheduled ?? 0, v.observedGeneration ?? 0, v.collisionCount ?? 0];
}
