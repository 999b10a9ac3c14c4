// For the Job and CronJob controller tests: a stand-in kubelet that runs each new
// pod of a namespace — Running and Ready after a moment, then Succeeded or
// Failed (exit code 1, or the exit code and pod conditions the outcome names) —
// through the pods/status subresource.
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound, R, type RestClient, SharedInformer } from '../../src/client/index.ts';

/** A failure with a chosen exit code (of the first container) and extra pod conditions (e.g. DisruptionTarget). */
export interface FailWith {
  exitCode: number;
  conditions?: PodCondition[];
}

export type Outcome = 'Succeeded' | 'Failed' | 'Running' | FailWith;

export interface JobKubelet {
  /** Highest number of active (not finished, not deleting) pods seen at once, per job-name label. */
  maxActive: Map<string, number>;
  errors: Error[];
  stop(): Promise<void>;
}

const isActive = (p: Pod) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

export function jobKubelet(client: RestClient, namespace: string, outcome: (pod: Pod) => Outcome, runMs = 100): JobKubelet {
  const informer = new SharedInformer<Pod>(client, R.pods, { namespace, log: () => {} });
  const timers = new Set<NodeJS.Timeout>();
  const seen = new Set<string>();
  const maxActive = new Map<string, number>();
  const errors: Error[] = [];
  const later = (ms: number, fn: () => Promise<void>) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn().catch((e) => {
        if (!isNotFound(e)) errors.push(e as Error);
      });
    }, ms);
    timers.add(t);
  };
  const setStatus = (pod: Pod, status: PodStatus) =>
    client.patch(R.pods, pod.metadata!.name!, { status }, { namespace, subresource: 'status', type: 'merge' });
  const observe = (pod: Pod) => {
    const job = pod.metadata?.labels?.['batch.kubernetes.io/job-name'];
    if (job) {
      const n = informer.list().filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name'] === job && isActive(p)).length;
      maxActive.set(job, Math.max(maxActive.get(job) ?? 0, n));
    }
    const uid = pod.metadata!.uid!;
    if (seen.has(uid) || !isActive(pod) || pod.status?.phase === 'Running') return;
    seen.add(uid);
    const name = pod.spec!.containers[0].name;
    const image = pod.spec!.containers[0].image ?? '';
    later(runMs, async () => {
      const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await setStatus(pod, {
        phase: 'Running', startTime: startedAt,
        conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }],
        containerStatuses: [{ name, image, imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt } } }],
      });
      const result = outcome(pod);
      if (result === 'Running') return;
      later(runMs, async () => {
        const finishedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        const exitCode = result === 'Succeeded' ? 0 : result === 'Failed' ? 1 : result.exitCode;
        const extra = typeof result === 'object' ? result.conditions ?? [] : [];
        await setStatus(pod, {
          phase: result === 'Succeeded' ? 'Succeeded' : 'Failed',
          conditions: [{ type: 'Ready', status: 'False' }, { type: 'ContainersReady', status: 'False' }, ...extra],
          containerStatuses: [{
            name, image, imageID: '', ready: false, restartCount: 0, started: false,
            state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt } },
          }],
        });
      });
    });
  };
  informer.addEventHandler({ onAdd: observe, onUpdate: (_o, p) => observe(p) });
  informer.start();
  return {
    maxActive, errors,
    async stop() {
      for (const t of timers) clearTimeout(t);
      await informer.stop();
    },
  };
}

export function jobManifest(name: string, namespace: string, spec: Partial<NonNullable<Job['spec']>>): Job {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace },
    spec: {
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox', command: ['true'] }] } },
      ...spec,
    },
  };
}
