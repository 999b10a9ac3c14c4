// The StatefulSet controller: pods with stable names `<set>-<ordinal>`, their own
// PersistentVolumeClaims, created in order (OrderedReady: ordinal i only once
// 0..i-1 are Running and Ready) or all at once (Parallel), removed from the
// highest ordinal down, and rolled to a new template from the highest ordinal
// down to the partition one pod at a time (kube's pkg/controller/statefulset).
// With minReadySeconds, OrderedReady also waits for each pod to be available.
// The claims' ownerReferences follow persistentVolumeClaimRetentionPolicy
// (statefulset-pvc.ts), so the garbage collector deletes them with the set or
// with a pod that a scale-down removes.
// https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.d.ts';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import { labelSelectorFromMeta } from '../api/selectors/index.ts';
import { Controller, controllerOf, ownerKeys } from '../client/controller.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { claimObjects } from './controller-claims.ts';
import { isPodAvailable, isPodReady, isPodTerminating, msUntilAvailable } from './pod-control.ts';
import { claimIsStale, claimOwnersFor, claimOwnersUpToDate, newClaimOwners } from './statefulset-pvc.ts';
import {
  claimName, claimsFor, newRevision, newStatefulSetPod, ordinalOf, podName, REVISION_LABEL, revisionMatches, startOrdinal, templateOfRevision,
} from './statefulset-identity.ts';
import { cloneJson } from '../api/json-clone.ts';

export const definition: ControllerDefinition = {
  name: 'statefulset',
  start: (ctx) => startStatefulSetController(ctx),
};

export function startStatefulSetController(ctx: ControllerContext, opts: { workers?: number } = {}): RunningController {
  const setInformer = ctx.informers.informerFor<StatefulSet>(R.statefulsets);
  const podInformer = ctx.informers.informerFor<Pod>(R.pods);
  const revInformer = ctx.informers.informerFor<ControllerRevision>(R.controllerrevisions);
  const pvcInformer = ctx.informers.informerFor<PersistentVolumeClaim>(R.persistentvolumeclaims);
  const syncer = new StatefulSetSyncer(ctx.client, setInformer, podInformer, revInformer, pvcInformer, ctx.recorder('statefulset-controller'));
  const controller = new Controller('statefulset', [setInformer, podInformer, revInformer, pvcInformer], (key) => syncer.sync(key), opts.workers ?? 5);
  controller.watch(podInformer, ownerKeys('StatefulSet'));
  controller.watch(revInformer, ownerKeys('StatefulSet'));
  syncer.enqueueAfter = (key, ms) => controller.enqueueAfter(key, ms);
  return { run: () => controller.run(), stop: () => controller.stop() };
}

const isRunningAndReady = (p: Pod) => p.status?.phase === 'Running' && isPodReady(p);
const isFailed = (p: Pod) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
const revisionOfPod = (p: Pod) => p.metadata?.labels?.[REVISION_LABEL];

interface Revisions {
  current: ControllerRevision;
  update: ControllerRevision;
}

class StatefulSetSyncer {
  private readonly client: RestClient;
  private readonly setInformer: SharedInformer<StatefulSet>;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly revInformer: SharedInformer<ControllerRevision>;
  private readonly pvcInformer: SharedInformer<PersistentVolumeClaim>;
  private readonly recorder: EventRecorder;
  enqueueAfter: (key: string, ms: number) => void = () => {};

  constructor(client: RestClient, setInformer: SharedInformer<StatefulSet>, podInformer: SharedInformer<Pod>,
    revInformer: SharedInformer<ControllerRevision>, pvcInformer: SharedInformer<PersistentVolumeClaim>, recorder: EventRecorder) {
    this.client = client;
    this.setInformer = setInformer;
    this.podInformer = podInformer;
    this.revInformer = revInformer;
    this.pvcInformer = pvcInformer;
    this.recorder = recorder;
  }

  async sync(key: string): Promise<void> {
    const set = this.setInformer.get(key);
    if (!set || set.metadata?.deletionTimestamp) return; // the garbage collector removes what it owned
    const ns = set.metadata!.namespace!;
    const claimed = await claimObjects({
      client: this.client, owner: set, resource: R.pods, selector: labelSelectorFromMeta(set.spec?.selector),
      candidates: this.podInformer.list(ns),
      getFreshOwner: () => this.client.get(R.statefulsets, set.metadata!.name!, { namespace: ns }),
    });
    const pods = claimed.filter((p) => ordinalOf(set, p) !== undefined);
    const revisions = await this.syncRevisions(set);
    await this.updateStatefulSet(set, pods, revisions);
    // Re-read what the actions changed through the cache at the next event; the status reflects the pods as seen now.
    await this.updateStatus(set, computeStatus(set, pods, revisions));
    const minReady = set.spec?.minReadySeconds ?? 0;
    const waits = pods.map((p) => msUntilAvailable(p, minReady)).filter((w): w is number => w !== undefined);
    if (waits.length > 0) this.enqueueAfter(key, Math.min(...waits) + 100);
  }

  /** The current and update revisions, creating the update revision when no revision holds the template. */
  private async syncRevisions(set: StatefulSet): Promise<Revisions> {
    const owned = this.revInformer.list(set.metadata!.namespace!)
      .filter((r) => controllerOf(r)?.uid === set.metadata!.uid)
      .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
    const maxRevision = Math.max(0, ...owned.map((r) => r.revision ?? 0));
    let update = owned.find((r) => revisionMatches(set, r));
    if (update && update !== owned[owned.length - 1]) {
      // Back to an older template (a rollback): it becomes the newest revision again.
      const copy = cloneJson(update);
      copy.revision = maxRevision + 1;
      update = await this.client.update<ControllerRevision>(R.controllerrevisions, copy);
    } else if (!update) {
      const rev = newRevision(set, maxRevision + 1);
      try {
        update = await this.client.create<ControllerRevision>(R.controllerrevisions, rev);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const existing = await this.client.get<ControllerRevision>(R.controllerrevisions, rev.metadata!.name!, { namespace: set.metadata!.namespace });
        if (controllerOf(existing)?.uid !== set.metadata!.uid || !revisionMatches(set, existing)) {
          // A hash collision: the next sync hashes with a bumped collisionCount (kube's StatefulSetStatus.collisionCount).
          await this.updateStatus(set, { ...set.status, collisionCount: (set.status?.collisionCount ?? 0) + 1 } as StatefulSetStatus);
          throw new Error(`controller revision ${rev.metadata!.name} exists with other contents; retrying with collisionCount+1`);
        }
        update = existing;
      }
    }
    const current = owned.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update };
  }

  /** One step of kube's updateStatefulSet: create/repair slots, remove condemned pods, then roll. */
  private async updateStatefulSet(set: StatefulSet, pods: Pod[], revs: Revisions): Promise<void> {
    const start = startOrdinal(set);
    const replicas = set.spec?.replicas ?? 1;
    const monotonic = (set.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const minReady = set.spec?.minReadySeconds ?? 0;
    const slots: (Pod | undefined)[] = Array.from({ length: replicas });
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(set, p)!;
      if (ord >= start && ord < start + replicas) slots[ord - start] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(set, b)! - ordinalOf(set, a)!); // highest ordinal first

    // Failed pods are deleted and come back on a later sync.
    for (const p of slots) {
      if (p && isFailed(p) && !isPodTerminating(p)) {
        await this.deletePod(set, p, 'delete');
        if (monotonic) return;
      }
    }
    let anyUnhealthy = false;
    for (let i = 0; i < replicas; i++) {
      const p = slots[i];
      if (!p || isFailed(p)) {
        if (!p) await this.createPod(set, revs, start + i, replicas);
        anyUnhealthy = true;
        if (monotonic) return; // wait for it to be Running and Ready
        continue;
      }
      const healthy = !isPodTerminating(p) && isRunningAndReady(p);
      if (!healthy) anyUnhealthy = true;
      // OrderedReady goes on only from a pod that is available (Ready for minReadySeconds).
      if (monotonic && (!healthy || !isPodAvailable(p, minReady))) return;
      await this.syncClaimOwners(set, p);
    }
    // The claims of condemned pods get their pod as owner (whenScaled: Delete) before the pod goes.
    for (const p of condemned) await this.syncClaimOwners(set, p);
    // Scale down from the highest ordinal, one at a time for OrderedReady.
    for (const p of condemned) {
      if (isPodTerminating(p)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && anyUnhealthy) return;
      if (monotonic && isRunningAndReady(p) && !isPodAvailable(p, minReady)) return;
      await this.deletePod(set, p, 'delete');
      if (monotonic) return;
    }
    if (condemned.length > 0 && monotonic) return;
    await this.rollingUpdate(set, slots, revs, start, anyUnhealthy);
  }

  /**
   * RollingUpdate: from the highest ordinal down to the partition, a pod of an old
   * revision is deleted (its slot is then recreated from the update revision), one
   * at a time, waiting for the replacement to be Running and Ready (maxUnavailable 1).
   * https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#partitions
   */
  private async rollingUpdate(set: StatefulSet, slots: (Pod | undefined)[], revs: Revisions, start: number, anyUnhealthy: boolean): Promise<void> {
    const strategy = set.spec?.updateStrategy;
    if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return; // OnDelete: users delete pods themselves
    const partition = strategy?.rollingUpdate?.partition ?? 0;
    const updateName = revs.update.metadata!.name!;
    for (let i = slots.length - 1; i >= 0 && start + i >= partition; i--) {
      const p = slots[i];
      if (!p) return;
      if (revisionOfPod(p) !== updateName && !isPodTerminating(p)) {
        if (anyUnhealthy) return; // one unavailable pod at a time
        await this.deletePod(set, p, 'update');
        return;
      }
      if (!isRunningAndReady(p)) return;
    }
  }

  private async createPod(set: StatefulSet, revs: Revisions, ordinal: number, replicas: number): Promise<void> {
    const ns = set.metadata!.namespace!;
    const stale = claimsFor(set, ordinal).map((c) => this.pvcInformer.get(`${ns}/${c.metadata!.name}`))
      .find((c) => c && claimIsStale(c, set, podName(set, ordinal)));
    if (stale) {
      // Owned by the pod a scale-down removed: the garbage collector is about to delete it; look again then.
      this.enqueueAfter(`${ns}/${set.metadata!.name}`, 500);
      return;
    }
    for (const pvc of claimsFor(set, ordinal)) await this.createClaim(set, pvc);
    // Ordinals below the partition (or, for OnDelete, below the current count) stay at the current revision.
    const strategy = set.spec?.updateStrategy;
    const type = strategy?.type ?? 'RollingUpdate';
    const partition = strategy?.rollingUpdate?.partition ?? 0;
    const useCurrent = type === 'OnDelete'
      ? ordinal - startOrdinal(set) < Math.min(set.status?.currentReplicas ?? 0, replicas)
      : ordinal < partition;
    const rev = useCurrent ? revs.current : revs.update;
    const pod = newStatefulSetPod(set, templateOfRevision(rev), rev.metadata!.name!, ordinal);
    let created: Pod;
    try {
      created = await this.client.create<Pod>(R.pods, pod);
      this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} successful`);
    } catch (e) {
      if (isAlreadyExists(e)) return; // our cache is behind; the next sync sees it
      this.recorder.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} failed error: ${(e as Error).message}`);
      throw e;
    }
    // Claims that existed before (a policy changed since) get the owners the policy wants.
    await this.syncClaimOwners(set, created);
  }

  private async createClaim(set: StatefulSet, pvc: PersistentVolumeClaim): Promise<void> {
    let existing = this.pvcInformer.get(`${pvc.metadata!.namespace}/${pvc.metadata!.name}`);
    if (!existing) {
      try {
        existing = await this.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, pvc.metadata!.name!, { namespace: pvc.metadata!.namespace });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (existing?.metadata?.deletionTimestamp) throw new Error(`pvc ${pvc.metadata!.name} is being deleted`);
    if (existing) return;
    const owners = newClaimOwners(set);
    if (owners) pvc.metadata!.ownerReferences = owners;
    try {
      await this.client.create(R.persistentvolumeclaims, pvc);
      this.recorder.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${pvc.metadata!.name} for Pod ${set.metadata!.name} in StatefulSet ${set.metadata!.name} success`);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.recorder.event(set, 'Warning', 'FailedCreate', `create Claim ${pvc.metadata!.name} for StatefulSet ${set.metadata!.name} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Brings the ownerReferences of the pod's claims in line with the retention policy (UpdatePodClaimForRetentionPolicy). */
  private async syncClaimOwners(set: StatefulSet, pod: Pod): Promise<void> {
    const ordinal = ordinalOf(set, pod)!;
    const ns = set.metadata!.namespace!;
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const name = claimName(set, t, ordinal);
      const cached = this.pvcInformer.get(`${ns}/${name}`);
      // A missing claim is created with the pod; the cache may lag behind an update we made, so re-read before writing.
      if (!cached || claimOwnersUpToDate(cached, set, pod, ordinal)) continue;
      for (let attempt = 0; ; attempt++) {
        try {
          const claim = await this.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, name, { namespace: ns });
          if (claimOwnersUpToDate(claim, set, pod, ordinal)) break;
          claim.metadata!.ownerReferences = claimOwnersFor(claim, set, pod, ordinal);
          await this.client.update(R.persistentvolumeclaims, claim);
          break;
        } catch (e) {
          if (isNotFound(e)) break;
          if (isConflict(e) && attempt < 2) continue;
          throw new Error(`could not update claim ${name} for delete policy ownerRefs: ${(e as Error).message}`);
        }
      }
    }
  }

  private async deletePod(set: StatefulSet, pod: Pod, verb: 'delete' | 'update'): Promise<void> {
    try {
      await this.client.delete(R.pods, pod.metadata!.name!, { namespace: pod.metadata!.namespace, preconditions: { uid: pod.metadata!.uid } });
      this.recorder.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} successful`);
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // already gone or replaced: the cache is behind
      this.recorder.event(set, 'Warning', 'FailedDelete', `${verb} Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  private async updateStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    const generation = set.metadata?.generation ?? 0;
    const want = { ...status, observedGeneration: generation };
    if (set.status && sameStatus(set.status, want)) return;
    let current: StatefulSet = set;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.updateStatus(R.statefulsets, { ...current, status: want });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (attempt >= 1) throw e;
        current = await this.client.get<StatefulSet>(R.statefulsets, set.metadata!.name!, { namespace: set.metadata!.namespace });
      }
    }
  }
}

// Field by field with zero = absent: the server may leave omitempty zeros out, and a write that
// changes nothing would wake this set again.
function sameStatus(a: StatefulSetStatus, b: StatefulSetStatus): boolean {
  const pick = (s: StatefulSetStatus) => JSON.stringify([s.observedGeneration ?? 0, s.replicas ?? 0, s.readyReplicas ?? 0,
    s.availableReplicas ?? 0, s.currentReplicas ?? 0, s.updatedReplicas ?? 0, s.currentRevision ?? '', s.updateRevision ?? '',
    s.collisionCount ?? 0]);
  return pick(a) === pick(b);
}

/**
 * Counts as kube's computeReplicaStatus, and completes a rolling update: once every
 * pod runs the update revision and is ready, it becomes the current revision
 * (what `kubectl rollout status` waits for).
 */
export function computeStatus(set: StatefulSet, pods: Pod[], revs: Revisions, now = Date.now()): StatefulSetStatus {
  const currentName = revs.current.metadata!.name!;
  const updateName = revs.update.metadata!.name!;
  const minReady = set.spec?.minReadySeconds ?? 0;
  const live = pods.filter((p) => !isPodTerminating(p));
  const status: StatefulSetStatus = {
    replicas: pods.length,
    readyReplicas: live.filter(isRunningAndReady).length,
    availableReplicas: live.filter((p) => isRunningAndReady(p) && isPodAvailable(p, minReady, now)).length,
    currentReplicas: live.filter((p) => revisionOfPod(p) === currentName).length,
    updatedReplicas: live.filter((p) => revisionOfPod(p) === updateName).length,
    currentRevision: currentName,
    updateRevision: updateName,
    collisionCount: set.status?.collisionCount ?? 0,
  };
  const replicas = set.spec?.replicas ?? 1;
  const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  if (rolling && status.updatedReplicas === replicas && status.readyReplicas === replicas && status.replicas === replicas) {
    status.currentRevision = updateName;
    status.currentReplicas = status.updatedReplicas;
  }
  if (set.status?.conditions) status.conditions = cloneJson(set.status.conditions);
  return status;
}
