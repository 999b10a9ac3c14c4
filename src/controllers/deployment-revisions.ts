// The new ReplicaSet of a Deployment (the one running its current template) and
// the revision bookkeeping around it: creating it as `<deployment>-<pod-template-hash>`,
// giving a reused old ReplicaSet (a rollback) the next revision, mirroring the
// revision on the Deployment, and deleting old ReplicaSets past revisionHistoryLimit
// (kube's pkg/controller/deployment/sync.go).
// https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-back-a-deployment
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import { controllerOf } from '../client/controller.ts';
import { isAlreadyExists, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import { controllerRefTo } from './pod-control.ts';
import {
  byCreation, computeHash, equalIgnoreHash, findNewReplicaSet, getCondition, hasProgressDeadline, maxRevision, newCondition,
  newRSNewReplicas, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, revisionOf, rsReplicas, setCondition, setNewReplicaSetAnnotations,
} from './deployment-util.ts';
import { type DeploymentOps, FAILED_RS_CREATE, FOUND_NEW_RS, NEW_RS_CREATED, PROGRESSING, writeStatus } from './deployment-status.ts';
import { cloneJson } from '../api/json-clone.ts';

export interface ReplicaSetsOfDeployment {
  newRS: ReplicaSet | undefined;
  oldRSs: ReplicaSet[];
}

/**
 * Splits the Deployment's ReplicaSets into the new one and the old ones, syncing
 * revisions; with create, makes the new one if no ReplicaSet has the current template.
 * d is our copy: its annotations, status and resourceVersion follow what we write.
 */
export async function getAllReplicaSetsAndSyncRevision(ops: DeploymentOps, d: Deployment, rsList: ReplicaSet[], create: boolean): Promise<ReplicaSetsOfDeployment> {
  const existing = findNewReplicaSet(d, rsList);
  const oldRSs = rsList.filter((rs) => rs.metadata?.uid !== existing?.metadata?.uid);
  const newRevision = maxRevision(oldRSs) + 1;
  if (existing) return { newRS: await syncExistingNewRS(ops, d, existing, newRevision), oldRSs };
  if (!create) return { newRS: undefined, oldRSs };
  return { newRS: await createNewRS(ops, d, oldRSs, newRevision), oldRSs };
}

/** The Deployment carries its current revision too (what `kubectl rollout history` marks). */
async function setDeploymentRevision(ops: DeploymentOps, d: Deployment, revision: string): Promise<void> {
  if (d.metadata?.annotations?.[REVISION_ANNOTATION] === revision) return;
  // kube writes this annotation along with the status; our status subresource keeps metadata as is,
  // so it is a separate metadata-only patch (which does not change the generation).
  const patched = await ops.client.patch<Deployment>(R.deployments, d.metadata!.name!,
    { metadata: { annotations: { [REVISION_ANNOTATION]: revision } } }, { namespace: d.metadata!.namespace });
  d.metadata!.annotations = { ...d.metadata!.annotations, [REVISION_ANNOTATION]: revision };
  (d.metadata as { resourceVersion?: string }).resourceVersion = patched.metadata?.resourceVersion;
}

async function syncExistingNewRS(ops: DeploymentOps, d: Deployment, rs: ReplicaSet, newRevision: number): Promise<ReplicaSet> {
  const copy = cloneJson(rs) as ReplicaSet;
  const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
  const minReady = d.spec?.minReadySeconds ?? 0;
  const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== minReady;
  let current = rs;
  if (annotationsChanged || minReadyChanged) {
    copy.spec!.minReadySeconds = minReady;
    current = await ops.client.update<ReplicaSet>(R.replicasets, copy);
  }
  await setDeploymentRevision(ops, d, current.metadata?.annotations?.[REVISION_ANNOTATION] ?? String(newRevision));
  if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
    const status = cloneJson(d.status ?? {});
    setCondition(status, newCondition(PROGRESSING, 'True', FOUND_NEW_RS, `Found new replica set "${current.metadata!.name}"`));
    await writeStatus(ops, d, status);
  }
  return current;
}

async function createNewRS(ops: DeploymentOps, d: Deployment, oldRSs: ReplicaSet[], newRevision: number): Promise<ReplicaSet> {
  const hash = computeHash(d.spec!.template, d.status?.collisionCount);
  const template = cloneJson(d.spec!.template);
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash } };
  const selector = cloneJson(d.spec!.selector);
  selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash };
  const name = `${d.metadata!.name}-${hash}`;
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name, namespace: d.metadata!.namespace, labels: { ...template.metadata.labels },
      ownerReferences: [controllerRefTo(d as never)],
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  rs.spec!.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  setNewReplicaSetAnnotations(d, rs, newRevision, false);

  let created: ReplicaSet;
  let alreadyExisted = false;
  try {
    created = await ops.client.create<ReplicaSet>(R.replicasets, rs);
  } catch (e) {
    if (!isAlreadyExists(e)) {
      const msg = `Failed to create new replica set "${name}": ${(e as Error).message}`;
      if (hasProgressDeadline(d)) {
        const status = cloneJson(d.status ?? {});
        setCondition(status, newCondition(PROGRESSING, 'False', FAILED_RS_CREATE, msg));
        await writeStatus(ops, d, status);
      }
      ops.recorder.event(d, 'Warning', 'FailedCreate', msg);
      throw e;
    }
    // Ours from an earlier sync the cache has not shown yet, or a hash collision with someone else's.
    const other = await ops.client.get<ReplicaSet>(R.replicasets, name, { namespace: d.metadata!.namespace });
    if (controllerOf(other)?.uid !== d.metadata?.uid || !equalIgnoreHash(other.spec?.template, d.spec?.template)) {
      const status = cloneJson(d.status ?? {});
      status.collisionCount = (status.collisionCount ?? 0) + 1;
      await writeStatus(ops, d, status);
      throw new Error(`found a hash collision for deployment "${d.metadata!.name}": replica set "${name}" exists with another template; collisionCount is now ${status.collisionCount}`);
    }
    created = other;
    alreadyExisted = true;
  }
  if (!alreadyExisted && rsReplicas(created) > 0) {
    ops.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${rsReplicas(created)}`);
  }
  await setDeploymentRevision(ops, d, String(newRevision));
  if (!alreadyExisted && hasProgressDeadline(d)) {
    const status = cloneJson(d.status ?? {});
    setCondition(status, newCondition(PROGRESSING, 'True', NEW_RS_CREATED, `Created new replica set "${name}"`));
    await writeStatus(ops, d, status);
  }
  return created;
}

/**
 * Deletes the oldest old ReplicaSets beyond spec.revisionHistoryLimit, but only
 * those scaled to 0 with no pods left (cleanupDeployment).
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#clean-up-policy
 */
export async function cleanupDeployment(ops: DeploymentOps, oldRSs: ReplicaSet[], d: Deployment): Promise<void> {
  const limit = d.spec?.revisionHistoryLimit;
  if (limit === undefined || limit === null) return;
  const alive = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
  const excess = alive.length - limit;
  if (excess <= 0) return;
  const byRevision = [...alive].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of byRevision.slice(0, excess)) {
    if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0) continue;
    if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    try {
      await ops.client.delete(R.replicasets, rs.metadata!.name!, { namespace: rs.metadata!.namespace, preconditions: { uid: rs.metadata!.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
