// A Deployment's status from its ReplicaSets, and the Progressing / Available
// conditions that `kubectl rollout status` reads (kube's pkg/controller/deployment/sync.go, progress.go).
// https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import type { EventRecorder } from '../client/events.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import {
  availableSum, deploymentComplete, getCondition, hasProgressDeadline, maxUnavailable, newCondition, readySum, removeCondition,
  replicasOf, setCondition, specReplicasSum, statusReplicasSum,
} from './deployment-util.ts';
import { cloneJson } from '../api/json-clone.ts';

/** What the deployment sync steps need besides the objects. */
export interface DeploymentOps {
  client: RestClient;
  recorder: EventRecorder;
  /** Sync the Deployment with this key again after ms. */
  enqueueAfter(key: string, ms: number): void;
}

export const PROGRESSING = 'Progressing';
export const AVAILABLE = 'Available';
export const REPLICA_FAILURE = 'ReplicaFailure';
// Reasons of the Progressing condition (util/deployment_util.go).
export const NEW_RS_CREATED = 'NewReplicaSetCreated';
export const FOUND_NEW_RS = 'FoundNewReplicaSet';
export const RS_UPDATED = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const TIMED_OUT = 'ProgressDeadlineExceeded';
export const FAILED_RS_CREATE = 'ReplicaSetCreateError';
export const PAUSED = 'DeploymentPaused';
export const RESUMED = 'DeploymentResumed';

/** The status the ReplicaSets add up to, with the Available condition (calculateStatus). */
export function calculateStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus {
  const available = availableSum(all);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation,
    replicas: statusReplicasSum(all),
    updatedReplicas: statusReplicasSum([newRS]),
    readyReplicas: readySum(all),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, specReplicasSum(all) - available),
    conditions: cloneJson([...(d.status?.conditions ?? [])]),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(AVAILABLE, 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'));
  } else {
    setCondition(status, newCondition(AVAILABLE, 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'));
  }
  return status;
}

// Count fields are omitempty in the API: kube leaves zeros out.
function wire(s: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = { ...s };
  for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) {
    if (!out[k]) delete out[k];
  }
  if (!out.conditions?.length) delete out.conditions;
  return out;
}

function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return JSON.stringify(wire(a ?? {})) === JSON.stringify(wire(b));
}

/** Writes d.status (d is our copy) through the status subresource; d takes the new resourceVersion. */
export async function writeStatus(ops: DeploymentOps, d: Deployment, status: DeploymentStatus): Promise<void> {
  const mutable = d as { status?: DeploymentStatus; metadata: { resourceVersion?: string } };
  mutable.status = wire(status);
  const written = await ops.client.updateStatus<Deployment>(R.deployments, d);
  mutable.metadata.resourceVersion = written.metadata?.resourceVersion;
}

/** Status only, no Progressing changes: for paused Deployments and pure scaling (syncDeploymentStatus). */
export async function syncDeploymentStatus(ops: DeploymentOps, all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const status = calculateStatus(all, newRS, d);
  if (sameStatus(d.status, status)) return;
  await writeStatus(ops, d, status);
}

/** The Deployment made progress since its last status (util.DeploymentProgressing). */
function progressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** No progress for progressDeadlineSeconds since the condition was last updated (util.DeploymentTimedOut). */
function timedOut(d: Deployment, now = Date.now()): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(d.status, PROGRESSING);
  if (!c || c.reason === NEW_RS_AVAILABLE) return false;
  if (c.reason === TIMED_OUT) return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  return !Number.isNaN(from) && from + d.spec!.progressDeadlineSeconds! * 1000 < now;
}

/**
 * Status plus the Progressing condition during a rollout (syncRolloutStatus).
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#progress-deadline-seconds
 */
export async function syncRolloutStatus(ops: DeploymentOps, all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const status = calculateStatus(all, newRS, d);
  if (!hasProgressDeadline(d)) removeCondition(status, PROGRESSING);
  const current = getCondition(d.status, PROGRESSING);
  const complete = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE;
  const name = d.metadata!.name!;
  if (hasProgressDeadline(d) && !complete) {
    if (deploymentComplete(d, status)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata!.name}" has successfully progressed.` : `Deployment "${name}" has successfully progressed.`;
      setCondition(status, newCondition(PROGRESSING, 'True', NEW_RS_AVAILABLE, msg));
    } else if (progressing(d, status)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata!.name}" is progressing.` : `Deployment "${name}" is progressing.`;
      const c = newCondition(PROGRESSING, 'True', RS_UPDATED, msg);
      // Progress moves lastUpdateTime (the deadline counts from it) but not lastTransitionTime.
      if (current?.status === 'True') c.lastTransitionTime = current.lastTransitionTime;
      removeCondition(status, PROGRESSING);
      setCondition(status, c);
    } else if (timedOut(d)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata!.name}" has timed out progressing.` : `Deployment "${name}" has timed out progressing.`;
      setCondition(status, newCondition(PROGRESSING, 'False', TIMED_OUT, msg));
    }
  }
  // The new ReplicaSet's (or else the first) ReplicaFailure becomes the Deployment's.
  const failure = [newRS, ...all].map((rs) => rs?.status?.conditions?.find((c) => c.type === REPLICA_FAILURE)).find(Boolean);
  if (failure) {
    setCondition(status, { type: REPLICA_FAILURE, status: failure.status, reason: failure.reason, message: failure.message,
      lastUpdateTime: failure.lastTransitionTime, lastTransitionTime: failure.lastTransitionTime });
  } else {
    removeCondition(status, REPLICA_FAILURE);
  }
  if (sameStatus(d.status, status)) {
    requeueStuck(ops, d, status);
    return;
  }
  const wasTimedOut = current?.reason === TIMED_OUT;
  await writeStatus(ops, d, status);
  const now = getCondition(status, PROGRESSING);
  if (!wasTimedOut && now?.reason === TIMED_OUT) {
    ops.recorder.event(d, 'Warning', TIMED_OUT, now.message ?? '');
  }
}

/** A rollout that shows no progress is looked at again when its deadline passes (requeueStuckDeployment). */
function requeueStuck(ops: DeploymentOps, d: Deployment, status: DeploymentStatus): void {
  const c = getCondition(d.status, PROGRESSING);
  if (!hasProgressDeadline(d) || !c) return;
  if (deploymentComplete(d, status) || c.reason === TIMED_OUT) return;
  const after = Date.parse(c.lastUpdateTime ?? '') + d.spec!.progressDeadlineSeconds! * 1000 - Date.now();
  ops.enqueueAfter(`${d.metadata!.namespace}/${d.metadata!.name}`, Math.max(0, after) + 1000);
}
