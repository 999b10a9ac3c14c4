// How a Deployment moves pods from old ReplicaSets to the new one: RollingUpdate
// within maxSurge/maxUnavailable, Recreate (old ones to zero, their pods gone,
// then the new one up), and proportional scaling of every ReplicaSet when
// spec.replicas changes mid-rollout (kube's rolling.go, recreate.go, sync.go).
// https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#strategy
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import { R } from '../client/resources.ts';
import { cleanupDeployment, getAllReplicaSetsAndSyncRevision } from './deployment-revisions.ts';
import { type DeploymentOps, syncDeploymentStatus, syncRolloutStatus } from './deployment-status.ts';
import {
  activeReplicaSets, availableSum, byCreation, DESIRED_REPLICAS_ANNOTATION, deploymentComplete, MAX_REPLICAS_ANNOTATION, maxSurge,
  maxUnavailable, newRSNewReplicas, replicasAnnotationsNeedUpdate, replicasOf, rsReplicas, setReplicasAnnotations, specReplicasSum,
} from './deployment-util.ts';
import { cloneJson } from '../api/json-clone.ts';

/** Sets rs to newScale replicas (and the Deployment's size annotations); records the scaling. Returns the updated ReplicaSet. */
export async function scaleReplicaSet(ops: DeploymentOps, rs: ReplicaSet, newScale: number, d: Deployment): Promise<ReplicaSet> {
  const oldScale = rsReplicas(rs);
  const sizeChanges = oldScale !== newScale;
  const max = replicasOf(d) + maxSurge(d);
  if (!sizeChanges && !replicasAnnotationsNeedUpdate(rs, replicasOf(d), max)) return rs;
  const copy = cloneJson(rs) as ReplicaSet;
  copy.spec!.replicas = newScale;
  setReplicasAnnotations(copy, replicasOf(d), max);
  const updated = await ops.client.update<ReplicaSet>(R.replicasets, copy);
  if (sizeChanges) {
    const op = oldScale < newScale ? 'up' : 'down';
    ops.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata!.name} from ${oldScale} to ${newScale}`);
  }
  return updated;
}

// ---------------------------------------------------------------- RollingUpdate

/** https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment */
export async function rolloutRolling(ops: DeploymentOps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS: created, oldRSs } = await getAllReplicaSetsAndSyncRevision(ops, d, rsList, true);
  let newRS = created!;
  // Scale up the new ReplicaSet as far as maxSurge allows.
  if (rsReplicas(newRS) !== replicasOf(d)) {
    const target = rsReplicas(newRS) > replicasOf(d) ? replicasOf(d) : newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    const scaled = await scaleReplicaSet(ops, newRS, target, d);
    if (rsReplicas(scaled) !== rsReplicas(newRS)) return syncRolloutStatus(ops, [...oldRSs, scaled], scaled, d);
    newRS = scaled;
  }
  // Scale down old ReplicaSets as far as maxUnavailable allows.
  const { scaledDown, oldRSs: afterDown } = await reconcileOldReplicaSets(ops, d, oldRSs, newRS);
  if (scaledDown) return syncRolloutStatus(ops, [...afterDown, newRS], newRS, d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(ops, afterDown, d);
  return syncRolloutStatus(ops, [...afterDown, newRS], newRS, d);
}

async function reconcileOldReplicaSets(ops: DeploymentOps, d: Deployment, oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<{ scaledDown: boolean; oldRSs: ReplicaSet[] }> {
  if (specReplicasSum(oldRSs) === 0) return { scaledDown: false, oldRSs }; // nothing to scale down
  const allPods = specReplicasSum([...oldRSs, newRS]);
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  // Never go below minAvailable, counting the new ReplicaSet's pods that are not available yet as lost.
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return { scaledDown: false, oldRSs };

  // First drop old pods that are unhealthy anyway: they cost no availability.
  const olds = [...oldRSs].sort(byCreation);
  let cleaned = 0;
  for (let i = 0; i < olds.length && cleaned < maxScaledDown; i++) {
    const rs = olds[i];
    const unhealthy = rsReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (rsReplicas(rs) === 0 || unhealthy <= 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    olds[i] = await scaleReplicaSet(ops, rs, rsReplicas(rs) - n, d);
    cleaned += n;
  }

  // Then scale down available old pods while more than minAvailable are available.
  let scaled = 0;
  const available = availableSum([...olds, newRS]);
  if (available > minAvailable) {
    const total = available - minAvailable;
    for (let i = 0; i < olds.length && scaled < total; i++) {
      const rs = olds[i];
      if (rsReplicas(rs) === 0) continue;
      const n = Math.min(rsReplicas(rs), total - scaled);
      olds[i] = await scaleReplicaSet(ops, rs, rsReplicas(rs) - n, d);
      scaled += n;
    }
  }
  return { scaledDown: cleaned + scaled > 0, oldRSs: olds };
}

// ---------------------------------------------------------------- Recreate

/** https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#recreate-deployment */
export async function rolloutRecreate(ops: DeploymentOps, d: Deployment, rsList: ReplicaSet[], podsByRS: Map<string, Pod[]>): Promise<void> {
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ops, d, rsList, false);
  let scaledDown = false;
  const olds: ReplicaSet[] = [];
  for (const rs of oldRSs) {
    if (rsReplicas(rs) > 0) {
      olds.push(await scaleReplicaSet(ops, rs, 0, d));
      scaledDown = true;
    } else {
      olds.push(rs);
    }
  }
  if (scaledDown) return syncRolloutStatus(ops, withNew(olds, newRS), newRS, d);
  if (oldPodsRunning(newRS, olds, podsByRS)) return syncRolloutStatus(ops, withNew(olds, newRS), newRS, d);
  if (!newRS) ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ops, d, rsList, true));
  const scaled = await scaleReplicaSet(ops, newRS!, replicasOf(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(ops, olds, d);
  return syncRolloutStatus(ops, withNew(olds, scaled), scaled, d);
}

const withNew = (olds: ReplicaSet[], newRS: ReplicaSet | undefined) => (newRS ? [...olds, newRS] : [...olds]);

/** Whether any pod of an old ReplicaSet still exists and has not finished (oldPodsRunning). */
function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], podsByRS: Map<string, Pod[]>): boolean {
  if (oldRSs.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
  for (const [uid, pods] of podsByRS) {
    if (uid === newRS?.metadata?.uid) continue;
    if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
  }
  return false;
}

// ---------------------------------------------------------------- scaling and paused Deployments

/** spec.replicas differs from what an active ReplicaSet was last sized for (isScalingEvent). */
export function isScalingEvent(d: Deployment, rsList: ReplicaSet[]): boolean {
  for (const rs of activeReplicaSets(rsList)) {
    const desired = rs.metadata?.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    if (desired !== undefined && Number(desired) !== replicasOf(d)) return true;
  }
  return false;
}

/** Scaling and status without rolling out: paused Deployments and pure scale changes (sync). */
export async function syncScaleOnly(ops: DeploymentOps, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ops, d, rsList, false);
  const scaled = await scale(ops, d, newRS, oldRSs);
  const scaledNew = newRS ? scaled.find((rs) => rs.metadata?.uid === newRS.metadata?.uid) : undefined;
  const scaledOld = scaled.filter((rs) => rs !== scaledNew);
  if (d.spec?.paused) await cleanupDeployment(ops, scaledOld, d);
  await syncDeploymentStatus(ops, scaled, scaledNew, d);
}

/**
 * Resizes the ReplicaSets for a new spec.replicas (scale): one active ReplicaSet
 * takes it all; during a rollout, the change is spread over the active ones in
 * proportion to their size (proportional scaling).
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#proportional-scaling
 * Returns every ReplicaSet (new and old) as it is after scaling.
 */
async function scale(ops: DeploymentOps, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<ReplicaSet[]> {
  let all = withNew(oldRSs, newRS);
  const only = activeOrLatest(newRS, oldRSs);
  if (only) return rsReplicas(only) === replicasOf(d) ? all : replaceIn(all, await scaleReplicaSet(ops, only, replicasOf(d), d));

  // The new ReplicaSet is saturated: the old ones can go.
  if (newRS && isSaturated(d, newRS)) {
    for (const rs of activeReplicaSets(oldRSs)) all = replaceIn(all, await scaleReplicaSet(ops, rs, 0, d));
    return all;
  }
  if ((d.spec?.strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return all;

  const active = activeReplicaSets(all);
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - specReplicasSum(active);
  if (toAdd === 0) return all;
  // Growing: the biggest (then newest) first; shrinking: the biggest (then oldest) first.
  active.sort((a, b) => rsReplicas(b) - rsReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of active) {
    const p = proportion(rs, d, toAdd, added);
    sizes.set(rs.metadata!.uid!, rsReplicas(rs) + p);
    added += p;
  }
  // Rounding leftovers go to the biggest.
  const first = active[0].metadata!.uid!;
  sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  for (const rs of active) all = replaceIn(all, await scaleReplicaSet(ops, rs, sizes.get(rs.metadata!.uid!)!, d));
  return all;
}

const replaceIn = (list: ReplicaSet[], rs: ReplicaSet) => list.map((x) => (x.metadata?.uid === rs.metadata?.uid ? rs : x));

/** The single active ReplicaSet, or the newest one when none is active; undefined when several are (FindActiveOrLatest). */
function activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets(withNew(newestFirst, newRS));
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** The new ReplicaSet has all the replicas, was sized for them, and they are available (IsSaturated). */
function isSaturated(d: Deployment, rs: ReplicaSet): boolean {
  const desired = Number(rs.metadata?.annotations?.[DESIRED_REPLICAS_ANNOTATION]);
  return rsReplicas(rs) === replicasOf(d) && desired === replicasOf(d) && (rs.status?.availableReplicas ?? 0) === replicasOf(d);
}

/** This ReplicaSet's share of toAdd, given what the others got so far (GetProportion). */
function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (rsReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -rsReplicas(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const annotated = Number(rs.metadata?.annotations?.[MAX_REPLICAS_ANNOTATION]);
  const sizedFor = Number.isInteger(annotated) && annotated > 0 ? annotated : (d.status?.replicas ?? 0);
  if (sizedFor === 0) return 0;
  return Math.round((rsReplicas(rs) * deploymentReplicas) / sizedFor) - rsReplicas(rs);
}
