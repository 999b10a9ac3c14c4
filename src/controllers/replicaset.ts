// The ReplicaSet controller: keeps spec.replicas active pods that match the
// selector and are controlled by the ReplicaSet, and reports how many exist, are
// fully labeled, ready and available (kube's pkg/controller/replicaset).
// https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import { labelSelectorFromMeta } from '../api/selectors/index.ts';
import { keyOf } from '../client/cache.ts';
import { Controller, controllerOf } from '../client/controller.ts';
import { isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import type { EventHandler, SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { claimObjects } from './controller-claims.ts';
import { ControllerExpectations, ownedPodHandler } from './controller-expectations.ts';
import {
  isPodActive, isPodAvailable, isPodReady, msUntilAvailable, podFromTemplate, podsToDelete, SLOW_START_INITIAL_BATCH, slowStartBatch,
} from './pod-control.ts';
import { rfc3339 } from '../api/time.ts';

/** At most this many pods are created or deleted per sync (kube's BurstReplicas). */
export const BURST_REPLICAS = 500;

export const definition: ControllerDefinition = {
  name: 'replicaset',
  start: (ctx) => startReplicaSetController(ctx),
};

export function startReplicaSetController(ctx: ControllerContext, opts: { workers?: number } = {}): RunningController {
  const rsInformer = ctx.informers.informerFor<ReplicaSet>(R.replicasets);
  const podInformer = ctx.informers.informerFor<Pod>(R.pods);
  const rsc = new ReplicaSetSyncer(ctx.client, rsInformer, podInformer, ctx.recorder('replicaset-controller'));
  const controller = new Controller('replicaset', [rsInformer, podInformer], (key) => rsc.sync(key), opts.workers ?? 5);
  rsc.enqueue = (key, afterMs) => (afterMs ? controller.enqueueAfter(key, afterMs) : controller.enqueue(key));
  const unregister = podInformer.addEventHandler(rsc.podHandler());
  return {
    run: () => controller.run(),
    stop: async () => {
      unregister();
      await controller.stop();
    },
  };
}

class ReplicaSetSyncer {
  private readonly client: RestClient;
  private readonly rsInformer: SharedInformer<ReplicaSet>;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new ControllerExpectations();
  enqueue: (key: string, afterMs?: number) => void = () => {};

  constructor(client: RestClient, rsInformer: SharedInformer<ReplicaSet>, podInformer: SharedInformer<Pod>, recorder: EventRecorder) {
    this.client = client;
    this.rsInformer = rsInformer;
    this.podInformer = podInformer;
    this.recorder = recorder;
  }

  /** Pod changes wake the owning ReplicaSet, or every ReplicaSet that could adopt an orphan. */
  podHandler(): EventHandler<Pod> {
    return ownedPodHandler('ReplicaSet', this.expectations, (key) => this.enqueue(key), this.rsInformer, (o) => o.spec?.selector);
  }


  async sync(key: string): Promise<void> {
    const rs = this.rsInformer.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const selector = labelSelectorFromMeta(rs.spec?.selector);
    const needsSync = this.expectations.satisfied(key);
    const ns = rs.metadata!.namespace!;
    const active = this.podInformer.list(ns).filter(isPodActive);
    const pods = await claimObjects({
      client: this.client, owner: rs, resource: R.pods, selector, candidates: active,
      getFreshOwner: () => this.client.get(R.replicasets, rs.metadata!.name!, { namespace: ns }),
    });

    let manageError: Error | undefined;
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (needsSync && !rs.metadata?.deletionTimestamp) manageError = await this.manageReplicas(key, pods, rs, diff);

    const status = calculateStatus(rs, pods, manageError, diff);
    await this.updateStatus(rs, status);
    if (manageError) throw manageError;
    // A ready pod becomes available minReadySeconds later without any event: look again then.
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const waits = pods.map((p) => msUntilAvailable(p, minReady)).filter((w): w is number => w !== undefined);
    if (waits.length > 0) this.enqueue(key, Math.min(...waits) + 100);
  }

  private async manageReplicas(key: string, pods: Pod[], rs: ReplicaSet, diff: number): Promise<Error | undefined> {
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH, () => this.createPod(rs));
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key); // never coming
      return error;
    }
    if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const victims = podsToDelete(pods, this.relatedPods(rs), n);
      this.expectations.expectDeletions(key, victims.map(keyOf));
      const errors: Error[] = [];
      await Promise.all(victims.map(async (pod) => {
        try {
          await this.client.delete(R.pods, pod.metadata!.name!, { namespace: pod.metadata!.namespace, preconditions: { uid: pod.metadata!.uid } });
          this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, keyOf(pod));
          if (isNotFound(e)) return;
          this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
          errors.push(e as Error);
        }
      }));
      return errors[0];
    }
    return undefined;
  }

  private async createPod(rs: ReplicaSet): Promise<void> {
    try {
      const pod = await this.client.create<Pod>(R.pods, podFromTemplate(rs.spec!.template!, rs as never));
      this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata!.name}`);
    } catch (e) {
      this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
  }

  /** This ReplicaSet's pods and those of its siblings (same controlling Deployment), for ranking victims by node. */
  private relatedPods(rs: ReplicaSet): Pod[] {
    const owner = controllerOf(rs);
    const family = new Set<string>([rs.metadata!.uid!]);
    if (owner) {
      for (const other of this.rsInformer.list(rs.metadata!.namespace!)) {
        if (controllerOf(other)?.uid === owner.uid) family.add(other.metadata!.uid!);
      }
    }
    return this.podInformer.list(rs.metadata!.namespace!).filter((p) => family.has(controllerOf(p)?.uid ?? ''));
  }

  private async updateStatus(rs: ReplicaSet, status: ReplicaSetStatus): Promise<void> {
    const generation = rs.metadata?.generation ?? 0;
    if (rs.status?.observedGeneration === generation && sameStatus(rs.status, status)) return;
    let current: ReplicaSet = rs;
    for (let attempt = 0; ; attempt++) {
      const next: ReplicaSet = { ...current, status: { ...status, observedGeneration: generation } };
      try {
        await this.client.updateStatus(R.replicasets, next);
        return;
      } catch (e) {
        if (isNotFound(e)) return; // deleted meanwhile
        if (attempt >= 1) throw e;
        // Stale cache or a concurrent writer: try once more on a fresh copy (kube's statusUpdateRetries).
        current = await this.client.get<ReplicaSet>(R.replicasets, rs.metadata!.name!, { namespace: rs.metadata!.namespace });
      }
    }
  }
}

function sameStatus(a: ReplicaSetStatus, b: ReplicaSetStatus): boolean {
  const pick = (s: ReplicaSetStatus) => JSON.stringify([s.replicas ?? 0, s.fullyLabeledReplicas ?? 0, s.readyReplicas ?? 0,
    s.availableReplicas ?? 0, (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message])]);
  return pick(a) === pick(b);
}

/** The status for the pods the ReplicaSet controls (kube's calculateStatus). */
export function calculateStatus(rs: ReplicaSet, pods: Pod[], manageError: Error | undefined, diff: number, now = Date.now()): ReplicaSetStatus {
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v)).length,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: rs.status?.observedGeneration,
  };
  let conditions: ReplicaSetCondition[] = [...(rs.status?.conditions ?? [])];
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageError && !failure) {
    conditions.push({
      type: 'ReplicaFailure', status: 'True', reason: diff < 0 ? 'FailedCreate' : 'FailedDelete',
      message: manageError.message, lastTransitionTime: rfc3339(now),
    });
  } else if (!manageError && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  if (conditions.length > 0) status.conditions = conditions;
  // These are omitempty in the API: kube leaves zeros out.
  for (const k of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'] as const) if (status[k] === 0) delete status[k];
  return status;
}
