// kubelet's pod workers: one serialized, level-triggered worker per pod uid. Anything that may
// change what a pod needs (the informer, the runtime's relist, a probe, a back-off expiring)
// asks for a sync; a sync that is asked for while one runs runs once more afterwards. A sync
// reads the pod from the cache and its containers from the runtime, acts, and writes the status
// when it changed. Deleted pods are stopped within their grace period, cleaned up, and then
// removed from the API (the final delete with grace 0 that kubelet's status manager sends).
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound } from '../client/errors.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import { gracePeriodOf, killPod, removePodResources } from './pod-kill.ts';
import { podRuntimeState, type PodRuntimeState } from './pod-runtime.ts';
import { canonical, computePodStatus, isTerminalPhase, newPodMemory, statusPatch, type PodMemory, type StatusContext } from './pod-status.ts';
import { syncPod, type SyncDeps } from './pod-sync.ts';
import { StartSlots } from './start-slots.ts';

export const UID_INDEX = 'uid';
/** How often every pod is synced even when nothing asked (kubelet's resync is 1 min; probes and relists cover the rest). */
export const RESYNC_MS = 30_000;

interface Worker {
  mem: PodMemory;
  running: boolean;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  /** The pod as last seen, for cleaning up after it vanished from the API. */
  lastPod: Pod | undefined;
  lastStatus: string;
  failures: number;
}

export interface PodWorkersOptions {
  deps: SyncDeps;
  status: StatusContext;
  pods: SharedInformer<Pod>;
  /** How many pods may make their sandbox and start their containers at once (start-slots.ts). */
  startSlots?: number;
}

export class PodWorkers {
  private readonly o: PodWorkersOptions;
  private readonly workers = new Map<string, Worker>();
  private readonly idle = new Set<() => void>();
  private stopped = false;
  private readonly slots: StartSlots;
  readonly stats = { syncs: 0, statusWrites: 0, errors: 0 };

  constructor(o: PodWorkersOptions) {
    this.o = o;
    this.slots = new StartSlots(o.startSlots);
  }

  /** The pod of this uid in the cache, if any. */
  pod(uid: string): Pod | undefined {
    return this.o.pods.byIndex(UID_INDEX, uid)[0];
  }

  /** The worker's memory of a pod (for probes' unhealthy reports). */
  memory(uid: string): PodMemory {
    return this.worker(uid).mem;
  }

  uids(): string[] {
    return [...this.workers.keys()];
  }

  /** Asks for a sync of the pod, now or after delayMs (an earlier request wins). */
  enqueue(uid: string, delayMs = 0): void {
    if (this.stopped || !uid) return;
    const w = this.worker(uid);
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      if (w.timer && w.timerAt <= at) return;
      clearTimeout(w.timer);
      w.timerAt = at;
      w.timer = setTimeout(() => {
        w.timer = undefined;
        this.enqueue(uid);
      }, delayMs);
      return;
    }
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = true;
    void this.loop(uid, w);
  }

  /** Resolves once no worker is running (or after timeoutMs). */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.workers.values()].some((w) => w.running) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) clearTimeout(w.timer);
    await this.drain(timeoutMs);
  }

  private worker(uid: string): Worker {
    let w = this.workers.get(uid);
    if (!w) {
      w = { mem: newPodMemory(), running: false, again: false, timer: undefined, timerAt: 0, lastPod: undefined, lastStatus: '', failures: 0 };
      this.workers.set(uid, w);
    }
    return w;
  }

  private async loop(uid: string, w: Worker): Promise<void> {
    try {
      do {
        w.again = false;
        if (this.stopped) break;
        let retry: number | undefined;
        try {
          retry = await this.sync(uid, w);
          w.failures = 0;
        } catch (e) {
          this.stats.errors++;
          w.failures++;
          retry = Math.min(30_000, 500 * 2 ** Math.min(w.failures, 6));
          const p = w.lastPod?.metadata;
          this.o.deps.log(`pod ${p ? `${p.namespace}/${p.name}` : uid}: sync failed (retrying in ${retry} ms): ${(e as Error).message}`);
        }
        if (retry !== undefined && !this.stopped) this.enqueue(uid, retry);
      } while (w.again && !this.stopped);
    } finally {
      w.running = false;
    }
  }

  /** One sync; returns when to look again (ms), if it should. */
  private async sync(uid: string, w: Worker): Promise<number | undefined> {
    this.stats.syncs++;
    const { deps } = this.o;
    const pod = this.pod(uid);
    if (pod) w.lastPod = pod;
    const rt = await podRuntimeState(deps.cri, uid);
    if (!pod) {
      // Gone from the API (force-deleted, or our final delete went through): make sure nothing is left.
      if (rt.sandboxes.length || rt.containers.length) await killPod(deps, w.lastPod, rt, 0, 'Stopping container {name}');
      // Volumes may exist without a sandbox (its creation failed): clean up after any pod we knew.
      if (w.lastPod || rt.sandboxes.length || rt.containers.length) await removePodResources(deps, uid, identityOf(w.lastPod), rt);
      this.forget(uid, w);
      return undefined;
    }
    if (pod.metadata?.deletionTimestamp) {
      await this.terminate(pod, rt, w);
      return undefined;
    }
    if (isTerminalPhase(pod.status?.phase)) {
      // Finished pods keep their status (and their dead containers, for logs) until deleted.
      if (rt.containers.some((c) => c.state === 'CONTAINER_RUNNING') || rt.sandboxes.some((s) => s.state === 'SANDBOX_READY')) {
        await killPod(deps, pod, rt, gracePeriodOf(pod), 'Stopping container {name}');
      }
      return undefined;
    }
    w.mem.startTime ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const result = await syncPod(deps, pod, rt, w.mem, this.slots);
    const phase = await this.writeStatus(pod, result.rt, w);
    // Stop the finished pod's containers once the cache has the phase we wrote (the next pass sees it).
    if (isTerminalPhase(phase)) return 300;
    return result.retryAfterMs;
  }

  private async writeStatus(pod: Pod, rt: PodRuntimeState, w: Worker): Promise<string | undefined> {
    const status = await computePodStatus(pod, rt, w.mem, this.o.status);
    const text = canonical(status);
    const patch = statusPatch(pod, status);
    if (!patch || text === w.lastStatus) return status.phase;
    try {
      await this.o.deps.client.patch(R.pods, pod.metadata!.name!, patch, { namespace: pod.metadata!.namespace, subresource: 'status', type: 'merge' });
    } catch (e) {
      if (isNotFound(e)) return status.phase; // deleted meanwhile: the informer brings the news
      throw e;
    }
    w.lastStatus = text;
    this.stats.statusWrites++;
    return status.phase;
  }

  /** A pod being deleted: stop everything within the grace period, clean up, then let the API delete it. */
  private async terminate(pod: Pod, rt: PodRuntimeState, w: Worker): Promise<void> {
    const { deps } = this.o;
    await killPod(deps, pod, rt, gracePeriodOf(pod), 'Stopping container {name}');
    const stopped = await podRuntimeState(deps.cri, pod.metadata!.uid!);
    if (!isTerminalPhase(pod.status?.phase)) await this.writeStatus(pod, stopped, w).catch((e: Error) => deps.log(`pod ${pod.metadata?.name}: final status: ${e.message}`));
    await removePodResources(deps, pod.metadata!.uid!, identityOf(pod), stopped);
    try {
      await deps.client.delete(R.pods, pod.metadata!.name!, {
        namespace: pod.metadata!.namespace, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private forget(uid: string, w: Worker): void {
    clearTimeout(w.timer);
    this.o.deps.probes.removePod(uid);
    this.o.deps.images.forgetPod(uid);
    this.o.deps.crashBackoff.forgetPrefix(`${uid}/`);
    this.workers.delete(uid);
  }
}

function identityOf(pod: Pod | undefined): { namespace: string; name: string } | undefined {
  return pod?.metadata?.name ? { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name } : undefined;
}

export type { PodRuntimeState };
