// pods/eviction: a delete that respects PodDisruptionBudgets, as kube-apiserver's EvictionREST
// does (what `kubectl drain` and the node agent use). A pod no budget covers, or one that is
// Pending, terminal or already being deleted, is simply deleted; otherwise its one budget must
// allow a disruption, which the eviction takes by decrementing status.disruptionsAllowed and
// recording the pod in status.disruptedPods (a compare-and-swap on the budget's resourceVersion).
// Evicted pods get the DisruptionTarget condition before they are deleted.
// https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.d.ts';
import type { KubeObject } from '../../api/types.ts';
import {
  budgetCoversPod, DISRUPTION_BUDGET_CAUSE, withDisruptionAllowedCondition,
} from '../../api/disruption-budget.ts';
import { isPodReady } from '../../api/pod-status.ts';
import { rfc3339 } from '../../api/time.ts';
import { ApiError, errors } from '../errors.ts';
import { decodeBody, readBody, sendJson } from '../http.ts';
import { deleteObject, type DeleteOptions } from '../registry/delete.ts';
import { decodeKv, storageKey } from '../registry/codec.ts';
import { buildFilter } from '../registry/filter.ts';
import { listObjects, storeError } from '../registry/read.ts';
import { updateObject, writeUpdate, type WriteOptions } from '../registry/write.ts';
import { writeOptions, type ResourceCall } from './context.ts';

/** kube's EvictionsRetry: 20 tries, 500 ms apart (10% jitter). */
const RETRY_STEPS = 20;
const RETRY_DELAY_MS = 500;
/** More unconfirmed evictions than this and the budget refuses more (MaxDisruptedPodSize). */
const MAX_DISRUPTED_PODS = 2000;
const ACCEPTED_API_VERSIONS = new Set(['policy/v1', 'policy/v1beta1']);
const VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget.";

interface EvictionBody {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  deleteOptions?: {
    gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string };
    propagationPolicy?: string; orphanDependents?: boolean; dryRun?: string[];
  };
}

export async function handleEviction(call: ResourceCall): Promise<void> {
  const { info, parts } = call;
  const body = decodeBody(await readBody(call.req), call.req.headers['content-type']) as EvictionBody;
  call.requestObject = body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('not a Eviction object');
  if (body.kind !== undefined && body.kind !== 'Eviction') throw errors.badRequest(`not a Eviction object: ${body.kind}`);
  if (body.apiVersion !== undefined && !ACCEPTED_API_VERSIONS.has(body.apiVersion)) {
    throw errors.badRequest(`${body.apiVersion}, Kind=Eviction is not acceptable for pods/eviction: use policy/v1 or policy/v1beta1`);
  }
  if ((body.metadata?.name ?? '') !== info.name) throw errors.badRequest('name in URL does not match name in Eviction object');
  if (body.metadata?.namespace && body.metadata.namespace !== info.namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const wopts = writeOptions(call); // checks ?dryRun=
  const options = deleteOptionsOf(body, info.query.getAll('dryRun'));
  const ev = new Eviction(call, options, { ...wopts, dryRun: false, fieldValidation: 'Ignore', user: undefined });
  const outcome = await ev.run();
  if (outcome) {
    call.responseObject = outcome as KubeObject;
    sendJson(call.res, 500, outcome);
    return;
  }
  const success = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  call.responseObject = success as KubeObject;
  sendJson(call.res, 201, success);
}

/** propagateDryRun: the request's dryRun goes into the eviction's deleteOptions; both set must agree. */
function deleteOptionsOf(body: EvictionBody, queryDryRun: string[]): DeleteOptions {
  const d = body.deleteOptions ?? {};
  let dryRun = d.dryRun ?? [];
  if (dryRun.length === 0) dryRun = queryDryRun;
  else if (queryDryRun.length > 0 && JSON.stringify(queryDryRun) !== JSON.stringify(dryRun)) {
    throw errors.internal(`Non-matching dry-run options in request and content: [${queryDryRun.join(' ')}] and [${dryRun.join(' ')}]`);
  }
  for (const v of dryRun) if (v !== 'All') throw errors.badRequest(`Invalid dry run value: ${v}`);
  return {
    gracePeriodSeconds: d.gracePeriodSeconds ?? undefined,
    propagationPolicy: d.propagationPolicy ?? undefined,
    orphanDependents: d.orphanDependents ?? undefined,
    preconditions: d.preconditions ? { ...d.preconditions } : undefined,
    dryRun: dryRun.length > 0,
  };
}

const isConflict = (e: unknown): boolean => e instanceof ApiError && e.code === 409;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms * (0.9 + Math.random() * 0.2)));

/** errors.NewTooManyRequests with a DisruptionBudget cause. */
function tooManyRequests(cause: string, retryAfterSeconds: number): ApiError {
  return new ApiError(429, 'TooManyRequests', VIOLATES_BUDGET, {
    ...(retryAfterSeconds ? { retryAfterSeconds } : {}), causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: cause, field: '' }],
  });
}

function stillProcessing(pdbName: string): ApiError {
  return tooManyRequests(`The disruption budget ${pdbName} is still being processed by the server.`, 10);
}

function forbiddenBudget(pdbName: string, why: string): ApiError {
  return errors.forbidden(`poddisruptionbudget.policy "${pdbName}" is forbidden: ${why}`, { name: pdbName, group: 'policy', kind: 'poddisruptionbudget' });
}

/** Phases and states where the pod's budget does not matter (canIgnorePDB). */
function canIgnoreBudget(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

/** Live pods get a resourceVersion precondition so they cannot turn Ready between check and delete. */
function shouldEnforceResourceVersion(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp);
}

class Eviction {
  private readonly call: ResourceCall;
  private readonly options: DeleteOptions;
  private readonly wopts: WriteOptions;

  constructor(call: ResourceCall, options: DeleteOptions, wopts: WriteOptions) {
    this.call = call;
    this.options = options;
    this.wopts = wopts;
  }

  private get rvUnset(): boolean {
    return !this.options.preconditions?.resourceVersion;
  }

  /** Evicts; returns a failure Status to answer with (more than one budget), or undefined on success. */
  async run(): Promise<object | undefined> {
    const name = this.call.info.name;
    // Pods whose budget can be ignored are deleted straight away, retrying conflicts unless the
    // caller pinned a resourceVersion.
    let pod: Pod | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        pod = await this.getPod();
        if (!canIgnoreBudget(pod)) break;
        const opts = shouldEnforceResourceVersion(pod) && this.rvUnset
          ? { ...this.options, preconditions: { ...this.options.preconditions, resourceVersion: pod.metadata!.resourceVersion } }
          : this.options;
        await this.addConditionAndDelete(opts);
        return undefined;
      } catch (e) {
        if (!isConflict(e) || !this.rvUnset || attempt >= RETRY_STEPS) throw e;
        await sleep(RETRY_DELAY_MS);
      }
    }

    const pdbs = await this.budgetsFor(pod);
    if (pdbs.length > 1) {
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500 };
    }
    let pinToPod = false;
    const pdb = pdbs[0];
    if (pdb) {
      const unhealthyAllowed = !isPodReady(pod) && (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' ||
        ((pdb.status?.currentHealthy ?? 0) >= (pdb.status?.desiredHealthy ?? 0) && (pdb.status?.desiredHealthy ?? 0) > 0));
      // An unready pod does not count as healthy: deleting it takes nothing from the budget, as
      // long as the pod does not become ready meanwhile (the resourceVersion precondition).
      if (unhealthyAllowed) pinToPod = true;
      else await this.takeDisruption(pdb, name);
    }
    const opts = pinToPod ? { ...this.options, preconditions: { ...this.options.preconditions, resourceVersion: pod.metadata!.resourceVersion } } : this.options;
    try {
      await this.addConditionAndDelete(opts);
    } catch (e) {
      if (isConflict(e) && pinToPod && this.rvUnset) throw stillProcessing(pdb!.metadata!.name!);
      throw e;
    }
    return undefined;
  }

  private async getPod(): Promise<Pod> {
    const { parts, info } = this.call;
    const podR = parts.resources.find('', 'v1', 'pods')!;
    const { kv } = await parts.store.get(storageKey(podR, info.namespace, info.name)).catch(storeError);
    if (!kv) throw errors.notFound('', 'pods', info.name);
    return decodeKv(kv) as Pod;
  }

  private async budgetsFor(pod: Pod): Promise<PodDisruptionBudget[]> {
    const { parts, info } = this.call;
    const r = parts.resources.find('policy', 'v1', 'poddisruptionbudgets')!;
    const page = await listObjects(parts.store, r, { namespace: info.namespace, filter: buildFilter(r, null, null), limit: 0,
      continueToken: null, resourceVersion: null, resourceVersionMatch: null });
    const items = (page.parsed ?? page.items.map((s) => JSON.parse(s) as KubeObject)) as PodDisruptionBudget[];
    return items.filter((pdb) => budgetCoversPod(pdb, pod));
  }

  /** checkAndDecrement, retried on conflicts with a fresh copy of the budget. */
  private async takeDisruption(first: PodDisruptionBudget, podName: string): Promise<void> {
    const { parts, info } = this.call;
    const r = parts.resources.find('policy', 'v1', 'poddisruptionbudgets')!;
    const pdbName = first.metadata!.name!;
    let pdb = first;
    for (let attempt = 1; attempt <= RETRY_STEPS; attempt++) {
      const status: Partial<PodDisruptionBudgetStatus> = pdb.status ?? {};
      if ((status.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) throw stillProcessing(pdbName);
      const allowed = status.disruptionsAllowed ?? 0;
      if (allowed < 0) throw forbiddenBudget(pdbName, 'pdb disruptions allowed is negative');
      if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
        throw forbiddenBudget(pdbName, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
      }
      if (allowed === 0) {
        throw tooManyRequests(`The disruption budget ${pdbName} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`, 0);
      }
      if (this.options.dryRun) return;
      let next: Partial<PodDisruptionBudgetStatus> = { ...status, disruptionsAllowed: allowed - 1 };
      if (next.disruptionsAllowed === 0) next = withDisruptionAllowedCondition(next, parts.now());
      next.disruptedPods = { ...(status.disruptedPods ?? {}), [podName]: rfc3339(parts.now()) };
      try {
        await updateObject(parts, r, info.namespace, pdbName, { ...pdb, status: next }, 'status', this.wopts);
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
      if (attempt < RETRY_STEPS) await sleep(RETRY_DELAY_MS);
      const { kv } = await parts.store.get(storageKey(r, info.namespace, pdbName)).catch(storeError);
      if (!kv) throw errors.notFound('policy', 'poddisruptionbudgets', pdbName);
      pdb = decodeKv(kv) as PodDisruptionBudget;
    }
    throw new ApiError(504, 'Timeout', `couldn't update PodDisruptionBudget "${pdbName}" due to conflicts`, { retryAfterSeconds: 10 });
  }

  /**
   * addConditionAndDeletePod: DisruptionTarget=True (EvictionByEvictionAPI) on the latest pod, then
   * the delete; a resourceVersion precondition moves to the version the condition write made.
   */
  private async addConditionAndDelete(options: DeleteOptions): Promise<void> {
    const { parts, info } = this.call;
    const podR = parts.resources.find('', 'v1', 'pods')!;
    let opts = options;
    if (!opts.dryRun) {
      const key = storageKey(podR, info.namespace, info.name);
      for (let attempt = 1; ; attempt++) {
        const { kv } = await parts.store.get(key).catch(storeError);
        if (!kv) throw errors.notFound('', 'pods', info.name);
        const pod = decodeKv(kv) as Pod;
        const pre = opts.preconditions;
        if (pre?.uid && pre.uid !== pod.metadata?.uid) {
          throw errors.conflict('', 'Pod', info.name,
            `the UID in the precondition (${pre.uid}) does not match the UID in record (${pod.metadata?.uid}). The object might have been deleted and then recreated`);
        }
        if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata?.resourceVersion) {
          throw errors.conflict('', 'Pod', info.name,
            `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${pod.metadata?.resourceVersion}). The object might have been modified`);
        }
        const next = { ...pod, status: { ...(pod.status ?? {}), conditions: withDisruptionTarget(pod, parts.now()) } };
        try {
          const res = await writeUpdate(parts, podR, pod as KubeObject, kv.modRevision, next as KubeObject, 'status', this.wopts);
          if (pre?.resourceVersion) opts = { ...opts, preconditions: { ...pre, resourceVersion: res.object.metadata!.resourceVersion } };
          break;
        } catch (e) {
          // The store's own compare-and-swap lost to another writer: read again (GuaranteedUpdate).
          if (!isConflict(e) || attempt >= 5) throw e;
        }
      }
    }
    await deleteObject(parts, podR, info.namespace, info.name, opts);
  }
}

/** The pod's conditions with DisruptionTarget=True, reason EvictionByEvictionAPI (UpdatePodCondition). */
function withDisruptionTarget(pod: Pod, now: Date): NonNullable<Pod['status']>['conditions'] {
  const conditions = pod.status?.conditions ?? [];
  const old = conditions.find((c) => c.type === 'DisruptionTarget');
  const cond = {
    type: 'DisruptionTarget', status: 'True', lastProbeTime: null as unknown as string,
    lastTransitionTime: old && old.status === 'True' ? old.lastTransitionTime : rfc3339(now),
    reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting',
  };
  return old ? conditions.map((c) => (c === old ? cond : c)) : [...conditions, cond];
}
