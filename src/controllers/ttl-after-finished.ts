// The TTL-after-finished controller: deletes a finished Job (Complete or Failed)
// spec.ttlSecondsAfterFinished seconds after it finished, in the foreground so
// its pods go first.
// https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import { Controller } from '../client/controller.ts';
import { isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { finishedCondition } from './job-status.ts';

export const definition: ControllerDefinition = {
  name: 'ttl-after-finished',
  start: startTtlController,
};

/** When the Job may be deleted (ms since epoch), or undefined if it is not due to be. */
export function expiryOf(job: Job): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || job.metadata?.deletionTimestamp) return undefined;
  const cond = finishedCondition(job);
  if (!cond) return undefined;
  const finishedAt = Date.parse(cond.lastTransitionTime ?? job.status?.completionTime ?? '');
  if (Number.isNaN(finishedAt)) return undefined;
  return finishedAt + ttl * 1000;
}

function startTtlController(ctx: ControllerContext): RunningController {
  const jobs = ctx.informers.informerFor<Job>(R.jobs);
  const c = new Controller('ttl-after-finished', [jobs], sync, 2, { log: ctx.log });

  async function sync(key: string): Promise<void> {
    const cached = jobs.get(key);
    if (!cached) return;
    const at = expiryOf(cached);
    if (at === undefined) return;
    if (at > Date.now()) {
      c.enqueueAfter(key, at - Date.now());
      return;
    }
    // The cache may be old: the TTL could have been changed (or removed) since. Check the live object.
    let fresh: Job;
    try {
      fresh = await ctx.client.get<Job>(R.jobs, cached.metadata!.name!, { namespace: cached.metadata!.namespace });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const freshAt = expiryOf(fresh);
    if (freshAt === undefined) return;
    if (freshAt > Date.now()) {
      c.enqueueAfter(key, freshAt - Date.now());
      return;
    }
    try {
      await ctx.client.delete(R.jobs, fresh.metadata!.name!, {
        namespace: fresh.metadata!.namespace,
        propagationPolicy: 'Foreground',
        preconditions: { uid: fresh.metadata!.uid, resourceVersion: fresh.metadata!.resourceVersion },
      });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  return c;
}
