// The Deployment controller: runs a Deployment's pod template through
// ReplicaSets named `<deployment>-<pod-template-hash>`, rolls from the old ones to
// the new one by the Deployment's strategy, keeps revisions for rollbacks and
// reports rollout progress (kube's pkg/controller/deployment).
// https://kubernetes.io/docs/concepts/workloads/controllers/deployment/
//
// Split over: deployment-util.ts (pure helpers), deployment-status.ts (status and
// conditions), deployment-revisions.ts (the new ReplicaSet, revisions, cleanup),
// deployment-rollout.ts (RollingUpdate, Recreate, scaling).
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import { isEverything, labelSelectorFromMeta, matchesLabels } from '../api/selectors/index.ts';
import type { KubeObject } from '../api/types.ts';
import { keyOf } from '../client/cache.ts';
import { Controller, controllerOf } from '../client/controller.ts';
import { isConflict } from '../client/errors.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { claimObjects } from './controller-claims.ts';
import { getAllReplicaSetsAndSyncRevision } from './deployment-revisions.ts';
import { isScalingEvent, rolloutRecreate, rolloutRolling, syncScaleOnly } from './deployment-rollout.ts';
import { type DeploymentOps, PAUSED, PROGRESSING, RESUMED, syncDeploymentStatus, TIMED_OUT, writeStatus } from './deployment-status.ts';
import { getCondition, hasProgressDeadline, newCondition, setCondition } from './deployment-util.ts';
import { cloneJson } from '../api/json-clone.ts';

const CONFLICT_RETRY_MS = 100;

export const definition: ControllerDefinition = {
  name: 'deployment',
  start: (ctx) => startDeploymentController(ctx),
};

export function startDeploymentController(ctx: ControllerContext, opts: { workers?: number } = {}): RunningController {
  const dInformer = ctx.informers.informerFor<Deployment>(R.deployments);
  const rsInformer = ctx.informers.informerFor<ReplicaSet>(R.replicasets);
  const podInformer = ctx.informers.informerFor<Pod>(R.pods);
  const ops: DeploymentOps = { client: ctx.client, recorder: ctx.recorder('deployment-controller'), enqueueAfter: () => {} };
  const controller = new Controller('deployment', [dInformer, rsInformer, podInformer], async (key) => {
    try {
      await syncDeployment(ops, key, dInformer, rsInformer, podInformer);
    } catch (e) {
      // A conflict means our cache is behind a write (often our own); the informer is about to
      // deliver the newer object, which queues the key again. No need for an error and a backoff.
      if (!isConflict(e)) throw e;
      controller.enqueueAfter(key, CONFLICT_RETRY_MS);
    }
  }, opts.workers ?? 5);
  ops.enqueueAfter = (key, ms) => controller.enqueueAfter(key, ms);

  const deploymentKeysFor = (obj: KubeObject): string[] => {
    const ns = obj.metadata?.namespace ?? '';
    const ref = controllerOf(obj);
    if (ref) return ref.kind === 'Deployment' ? [`${ns}/${ref.name}`] : [];
    // An orphan ReplicaSet wakes every Deployment that could adopt it.
    return dInformer.list(ns).filter((d) => selects(d, obj)).map(keyOf);
  };
  controller.watch(rsInformer, deploymentKeysFor);
  // Recreate waits for old pods to be gone: their deletion is news.
  const unregister = podInformer.addEventHandler({
    onDelete: (pod) => {
      const ref = controllerOf(pod);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = rsInformer.getByName(ref.name, pod.metadata?.namespace);
      if (rs) for (const key of deploymentKeysFor(rs)) controller.enqueue(key);
    },
  });
  return {
    run: () => controller.run(),
    stop: async () => {
      unregister();
      await controller.stop();
    },
  };
}

function selects(d: Deployment, obj: KubeObject): boolean {
  try {
    const sel = labelSelectorFromMeta(d.spec?.selector);
    return !isEverything(sel) && matchesLabels(sel, obj.metadata?.labels);
  } catch {
    return false; // an invalid selector selects nothing (validation keeps them out)
  }
}

async function syncDeployment(ops: DeploymentOps, key: string, dInformer: SharedInformer<Deployment>,
  rsInformer: SharedInformer<ReplicaSet>, podInformer: SharedInformer<Pod>): Promise<void> {
  const cached = dInformer.get(key);
  if (!cached) return; // deleted: the garbage collector removes its ReplicaSets
  const d = cloneJson(cached) as Deployment;
  const ns = d.metadata!.namespace!;
  const selector = labelSelectorFromMeta(d.spec?.selector);
  if (isEverything(selector)) {
    ops.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
      await writeStatus(ops, d, { ...d.status, observedGeneration: d.metadata?.generation });
    }
    return;
  }

  const rsList = await claimObjects({
    client: ops.client, owner: d, resource: R.replicasets, selector, candidates: rsInformer.list(ns),
    getFreshOwner: () => ops.client.get(R.deployments, d.metadata!.name!, { namespace: ns }),
  });

  if (d.metadata?.deletionTimestamp) {
    const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ops, d, rsList, false);
    return syncDeploymentStatus(ops, newRS ? [...oldRSs, newRS] : oldRSs, newRS, d);
  }
  await checkPausedConditions(ops, d);
  if (d.spec?.paused || isScalingEvent(d, rsList)) return syncScaleOnly(ops, d, rsList);
  if (d.spec?.strategy?.type === 'Recreate') return rolloutRecreate(ops, d, rsList, podsByReplicaSet(podInformer, ns, rsList));
  return rolloutRolling(ops, d, rsList);
}

/** The pods of each of the Deployment's ReplicaSets, by ReplicaSet uid. */
function podsByReplicaSet(podInformer: SharedInformer<Pod>, ns: string, rsList: ReplicaSet[]): Map<string, Pod[]> {
  const byUid = new Map<string, Pod[]>(rsList.map((rs) => [rs.metadata!.uid!, []]));
  for (const pod of podInformer.list(ns)) byUid.get(controllerOf(pod)?.uid ?? '')?.push(pod);
  return byUid;
}

/**
 * Pausing and resuming show in the Progressing condition (Unknown, DeploymentPaused /
 * DeploymentResumed) — unless the rollout already timed out (checkPausedConditions).
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#pausing-and-resuming-a-deployment
 */
async function checkPausedConditions(ops: DeploymentOps, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const c = getCondition(d.status, PROGRESSING);
  if (c?.reason === TIMED_OUT) return;
  const pausedShown = c?.reason === PAUSED;
  const status = cloneJson(d.status ?? {});
  if (d.spec?.paused && !pausedShown) setCondition(status, newCondition(PROGRESSING, 'Unknown', PAUSED, 'Deployment is paused'));
  else if (!d.spec?.paused && pausedShown) setCondition(status, newCondition(PROGRESSING, 'Unknown', RESUMED, 'Deployment is resumed'));
  else return;
  await writeStatus(ops, d, status);
}
