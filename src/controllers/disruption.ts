// The disruption controller: keeps every PodDisruptionBudget's status current (how many pods it
// expects, how many are healthy, how many may be disrupted now) so the eviction subresource can
// decide, and clears stale DisruptionTarget conditions from pods that were not deleted after all
// (kube's pkg/controller/disruption).
// https://kubernetes.io/docs/concepts/workloads/pods/disruptions/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.d.ts';
import { budgetCoversPod } from '../api/disruption-budget.ts';
import { labelSelectorFromMeta, matchesLabels } from '../api/selectors/index.ts';
import { rfc3339 } from '../api/time.ts';
import { keyOf } from '../client/cache.ts';
import { Controller } from '../client/controller.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import type { SharedInformer } from '../client/informer.ts';
import { builtin, R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import {
  type ControllerScale, countHealthyPods, disruptedPodMap, expectedPodCount, failSafeStatus, nextStatus, type ScaleFinder,
} from './disruption-status.ts';

export const PODDISRUPTIONBUDGETS = builtin('poddisruptionbudgets.policy');
/** A DisruptionTarget=True condition on a pod that is still not being deleted after this long is reset (stalePodDisruptionTimeout). */
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60_000;

export const definition: ControllerDefinition = {
  name: 'disruption',
  start: (ctx) => startDisruptionController(ctx),
};

export function startDisruptionController(ctx: ControllerContext, opts: { workers?: number } = {}): RunningController {
  const pdbs = ctx.informers.informerFor<PodDisruptionBudget>(PODDISRUPTIONBUDGETS);
  const pods = ctx.informers.informerFor<Pod>(R.pods);
  const rss = ctx.informers.informerFor<ReplicaSet>(R.replicasets);
  const deployments = ctx.informers.informerFor<Deployment>(R.deployments);
  const statefulsets = ctx.informers.informerFor<StatefulSet>(R.statefulsets);
  const recorder = ctx.recorder('controllermanager');
  const syncer = new DisruptionSyncer(ctx.client, pdbs, pods, finderFor(rss, deployments, statefulsets), recorder);
  const controller = new Controller('disruption', [pdbs, pods, rss, deployments, statefulsets], (key) => syncer.sync(key), opts.workers ?? 2);
  syncer.enqueueAfter = (key, ms) => controller.enqueueAfter(key, ms);
  controller.watch(pods, (pod) => syncer.budgetKeysFor(pod as Pod));
  const stale = new Controller('disruption-stale-pods', [], (key) => syncer.syncStalePod(key), 1);
  syncer.enqueueStaleAfter = (key, ms) => stale.enqueueAfter(key, ms);
  stale.watch(pods, (pod) => (hasDisruptionTarget(pod as Pod) ? [keyOf(pod)] : []));
  return {
    run: () => Promise.all([controller.run(), stale.run()]).then(() => undefined),
    stop: async () => {
      await Promise.all([controller.stop(), stale.stop()]);
    },
  };
}

/** The finders of getExpectedScale: ReplicaSet (unless a Deployment owns it), Deployment, StatefulSet. */
function finderFor(rss: SharedInformer<ReplicaSet>, deployments: SharedInformer<Deployment>, statefulsets: SharedInformer<StatefulSet>): ScaleFinder {
  const isApps = (ref: OwnerReference) => ref.apiVersion.startsWith('apps/') || ref.apiVersion.startsWith('extensions/');
  return (ref, ns): ControllerScale | undefined => {
    if (!isApps(ref)) return undefined;
    if (ref.kind === 'ReplicaSet') {
      const rs = rss.getByName(ref.name, ns);
      if (!rs || rs.metadata?.uid !== ref.uid) return undefined;
      const owner = rs.metadata?.ownerReferences?.find((r) => r.controller === true);
      if (owner?.kind === 'Deployment') {
        const d = deployments.getByName(owner.name, ns);
        if (!d || d.metadata?.uid !== owner.uid) return undefined;
        return { uid: d.metadata!.uid!, scale: d.spec?.replicas ?? 1 };
      }
      return { uid: rs.metadata!.uid!, scale: rs.spec?.replicas ?? 1 };
    }
    if (ref.kind === 'StatefulSet') {
      const sts = statefulsets.getByName(ref.name, ns);
      if (!sts || sts.metadata?.uid !== ref.uid) return undefined;
      return { uid: sts.metadata!.uid!, scale: sts.spec?.replicas ?? 1 };
    }
    return undefined;
  };
}

function hasDisruptionTarget(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True') ?? false;
}

class DisruptionSyncer {
  private readonly client: RestClient;
  private readonly pdbs: SharedInformer<PodDisruptionBudget>;
  private readonly pods: SharedInformer<Pod>;
  private readonly findScale: ScaleFinder;
  private readonly recorder: EventRecorder;
  enqueueAfter: (key: string, ms: number) => void = () => {};
  enqueueStaleAfter: (key: string, ms: number) => void = () => {};

  constructor(client: RestClient, pdbs: SharedInformer<PodDisruptionBudget>, pods: SharedInformer<Pod>, findScale: ScaleFinder, recorder: EventRecorder) {
    this.client = client;
    this.pdbs = pdbs;
    this.pods = pods;
    this.findScale = findScale;
    this.recorder = recorder;
  }

  /** A pod change wakes the budgets that cover it (kube warns when there is more than one). */
  budgetKeysFor(pod: Pod): string[] {
    const covering = this.pdbs.list(pod.metadata?.namespace).filter((pdb) => budgetCoversPod(pdb, pod));
    if (covering.length > 1) {
      this.recorder.event(pod, 'Warning', 'MultiplePodDisruptionBudgets',
        `Pod "${pod.metadata!.namespace}"/"${pod.metadata!.name}" matches multiple PodDisruptionBudgets.  Chose "${covering[0].metadata!.name}" arbitrarily.`);
    }
    return covering.map(keyOf);
  }

  async sync(key: string): Promise<void> {
    const pdb = this.pdbs.get(key);
    if (!pdb) return;
    try {
      await this.trySync(pdb);
    } catch (e) {
      if (isConflict(e)) throw e; // retried without the fail-safe
      await this.writeStatus(pdb, failSafeStatus(pdb, e as Error, new Date()));
    }
  }

  private async trySync(pdb: PodDisruptionBudget): Promise<void> {
    const pods = this.podsFor(pdb);
    if (pods.length === 0) this.recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    let counts;
    try {
      counts = expectedPodCount(pdb, pods, this.findScale);
    } catch (e) {
      this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(e as Error).message}`);
      throw e;
    }
    if (counts.unmanagedPods.length > 0) {
      this.recorder.event(pdb, 'Warning', 'UnmanagedPods', `Pods selected by this PodDisruptionBudget (selector: ${selectorText(pdb)}) were found ` +
        'to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. ' +
        'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.');
    }
    const now = new Date();
    const disrupted = disruptedPodMap(pdb, pods, now.getTime());
    for (const pod of disrupted.expired) {
      this.recorder.event(pod, 'Warning', 'NotDeleted', `Pod was expected by PDB ${pdb.metadata!.namespace}/${pdb.metadata!.name} to be deleted but it wasn't`);
    }
    const currentHealthy = countHealthyPods(pods, disrupted.current, now.getTime());
    const status = nextStatus(pdb, { currentHealthy, desiredHealthy: counts.desiredHealthy, expectedPods: counts.expectedPods,
      disruptedPods: disrupted.current }, now);
    if (status) await this.writeStatus(pdb, status);
    if (disrupted.recheckAt !== undefined) this.enqueueAfter(keyOf(pdb), Math.max(0, disrupted.recheckAt - now.getTime()) + 50);
  }

  /** getPodsForPdb: the namespace's pods the selector matches (a missing selector matches none). */
  private podsFor(pdb: PodDisruptionBudget): Pod[] {
    const selector = labelSelectorFromMeta(pdb.spec?.selector); // throws on an invalid selector: SyncFailed
    return this.pods.list(pdb.metadata!.namespace!).filter((p) => matchesLabels(selector, p.metadata?.labels ?? {}));
  }

  private async writeStatus(pdb: PodDisruptionBudget, status: PodDisruptionBudgetStatus): Promise<void> {
    try {
      // The cached resourceVersion makes this a compare-and-swap: the eviction API writes here too.
      await this.client.updateStatus(PODDISRUPTIONBUDGETS, { ...pdb, status });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** syncStalePodDisruption: DisruptionTarget=True for 2 minutes on a pod nobody deleted goes back to False. */
  async syncStalePod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || pod.metadata?.deletionTimestamp || ['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')) return;
    const cond = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    // The kubelet's own disruption conditions may take long before the pod terminates: never stale.
    if (!cond || cond.status !== 'True' || cond.reason === 'TerminationByKubelet') return;
    const waitMs = Date.parse(cond.lastTransitionTime ?? '') + STALE_POD_DISRUPTION_TIMEOUT_MS - Date.now();
    if (waitMs > 0) {
      this.enqueueStaleAfter(key, waitMs + 50);
      return;
    }
    const conditions = pod.status!.conditions!.map((c) => (c === cond
      ? { type: 'DisruptionTarget', status: 'False', lastProbeTime: null as unknown as string, lastTransitionTime: rfc3339() }
      : c));
    try {
      await this.client.updateStatus(R.pods, { ...pod, status: { ...pod.status, conditions } });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}

/** The selector as %v prints a *metav1.LabelSelector in the UnmanagedPods event. */
function selectorText(pdb: PodDisruptionBudget): string {
  const sel = pdb.spec?.selector;
  if (!sel) return '<nil>';
  const labels = Object.entries(sel.matchLabels ?? {}).sort().map(([k, v]) => `${k}:${v}`).join(' ');
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{},}`;
}
