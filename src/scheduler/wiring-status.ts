// The scheduler's status writes to pods (PodScheduled=False with the FitError, nominatedNodeName),
// coalesced per pod and written by a few concurrent workers off the scheduling loop: a burst of
// unschedulable pods costs at most one in-flight patch per pod, the latest one winning.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-conditions
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { podKey } from './pod-info.ts';
import { rfc3339 } from '../api/time.ts';

export interface ScheduledCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

interface PendingWrite {
  namespace: string;
  name: string;
  patch: { status: Record<string, unknown> };
}


/**
 * The status patch that sets the PodScheduled condition (and nominatedNodeName), or undefined when
 * the pod already says so (podutil.UpdatePodCondition + the nominatedNodeName check in updatePod).
 */
export function podScheduledPatch(pod: Pod, c: ScheduledCondition, nominatedNodeName?: string): PendingWrite['patch'] | undefined {
  const current = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
  const sameCondition = current && current.status === c.status && current.reason === c.reason && current.message === c.message;
  const nominationChanges = nominatedNodeName !== undefined && nominatedNodeName !== (pod.status?.nominatedNodeName ?? '');
  if (sameCondition && !nominationChanges) return undefined;
  const condition: PodCondition = {
    type: 'PodScheduled', status: c.status, reason: c.reason, message: c.message,
    // The transition time moves only when the status does.
    lastTransitionTime: current && current.status === c.status && current.lastTransitionTime ? current.lastTransitionTime : rfc3339(),
  };
  const status: Record<string, unknown> = { conditions: [{ ...condition, lastProbeTime: null }] };
  if (nominationChanges) status.nominatedNodeName = nominatedNodeName || null;
  return { status };
}

export class PodStatusWriter {
  private readonly client: RestClient;
  private readonly concurrency: number;
  private readonly log: (message: string) => void;
  private readonly pending = new Map<string, PendingWrite>();
  private workers = 0;
  private idle: (() => void)[] = [];
  /** Patches written, for tests and logs. */
  written = 0;

  constructor(client: RestClient, opts: { concurrency?: number; log?: (message: string) => void } = {}) {
    this.client = client;
    this.concurrency = opts.concurrency ?? 16;
    this.log = opts.log ?? console.error;
  }

  /** Queues the PodScheduled condition for the pod (replacing a write not yet sent); a no-op if it is already there. */
  setPodScheduled(pod: Pod, c: ScheduledCondition, nominatedNodeName?: string): void {
    const patch = podScheduledPatch(pod, c, nominatedNodeName);
    if (!patch) return;
    this.pending.set(podKey(pod), { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, patch });
    while (this.workers < this.concurrency && this.workers < this.pending.size) {
      this.workers++;
      void this.work();
    }
  }

  /** Drops a queued write (the pod is gone or got bound). */
  forget(key: string): void {
    this.pending.delete(key);
  }

  /** Resolves when every queued write has been sent. */
  flush(): Promise<void> {
    if (this.workers === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async work(): Promise<void> {
    try {
      for (;;) {
        const next = this.pending.entries().next();
        if (next.done) break;
        const [key, w] = next.value;
        this.pending.delete(key);
        try {
          await this.client.patch(R.pods, w.name, w.patch, { namespace: w.namespace, subresource: 'status', type: 'strategic' });
          this.written++;
        } catch (e) {
          if (!isNotFound(e)) this.log(`updating the PodScheduled condition of pod ${key}: ${(e as Error).message}`);
        }
      }
    } finally {
      if (--this.workers === 0) for (const r of this.idle.splice(0)) r();
    }
  }
}
