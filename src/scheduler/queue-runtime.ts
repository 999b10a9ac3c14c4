// kube-scheduler's PriorityQueue: pods wait in one of three places.
//   activeQ        — ready to schedule, ordered by priority then queue time (compare in queue.ts);
//   backoffQ       — failed recently; back in activeQ when their backoff (1 s doubling to 10 s per attempt) ends;
//   unschedulable  — nothing fit; back when a cluster event might help (moveAll) or after a while (the flush).
// A pod that was being scheduled while such an event happened goes to backoffQ instead of the
// unschedulable pods (moveRequestCycle), so an event during its attempt is not lost.
// https://github.com/kubernetes/enhancements/tree/master/keps/sig-scheduling/1452-scheduling-queue (design)
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { podKey } from './pod-info.ts';
import { compare } from './queue.ts';

export type QueueLocation = 'active' | 'backoff' | 'unschedulable' | 'inflight';

/** One pod the queue knows about (QueuedPodInfo). */
export interface QueuedPod {
  key: string;
  /** The latest object seen (priority already resolved). */
  pod: Pod;
  /** When it entered activeQ (or was last requeued): the tie-break after priority. */
  timestamp: number;
  /** Scheduling attempts so far; drives the backoff. */
  attempts: number;
  where: QueueLocation;
  /** When its backoff ends (ms). */
  backoffExpiry: number;
  /** When it was parked as unschedulable (ms). */
  unschedulableSince: number;
  /** The scheduling cycle it was popped in. */
  cycle: number;
  /** Changed (relevantly) while it was being scheduled: don't park it. */
  updatedInFlight: boolean;
  /** Heap entries with another generation are stale (lazy deletion). */
  gen: number;
}

interface HeapEntry {
  q: QueuedPod;
  gen: number;
}

/** A binary min-heap; stale entries are dropped when they reach the top. */
class Heap {
  private readonly items: HeapEntry[] = [];
  private readonly less: (a: HeapEntry, b: HeapEntry) => boolean;

  constructor(less: (a: HeapEntry, b: HeapEntry) => boolean) {
    this.less = less;
  }

  get size(): number {
    return this.items.length;
  }

  push(e: HeapEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  pop(): HeapEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

export interface SchedulingQueueOptions {
  initialBackoffMs?: number; // 1 s
  maxBackoffMs?: number; // 10 s
  /** Unschedulable pods are retried after this long even without a cluster event (30 s here; kube: 5 min, checked every 30 s). */
  unschedulableFlushMs?: number;
  /** How often parked pods are checked against unschedulableFlushMs (1 s); backoffs end on their own timer. */
  tickMs?: number;
  now?: () => number;
}

export class SchedulingQueue {
  private readonly pods = new Map<string, QueuedPod>();
  private readonly activeQ = new Heap((a, b) => compare(a.q, b.q) < 0);
  private readonly backoffQ = new Heap((a, b) => a.q.backoffExpiry < b.q.backoffExpiry);
  private readonly unschedulable = new Set<QueuedPod>();
  private readonly opts: Required<Omit<SchedulingQueueOptions, 'now'>>;
  private readonly now: () => number;
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  private waiter: ((q: QueuedPod | undefined) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Fires when the earliest backoff ends (kube polls every second; a timer retries on time). */
  private backoffTimer: NodeJS.Timeout | undefined;
  private backoffTimerAt = Infinity;
  private started = false;
  private closed = false;
  private activeCount = 0;

  constructor(opts: SchedulingQueueOptions = {}) {
    this.opts = { initialBackoffMs: 1000, maxBackoffMs: 10_000, unschedulableFlushMs: 30_000, tickMs: 1000, ...opts };
    this.now = opts.now ?? Date.now;
  }

  /** Starts the periodic flushes of backoffQ and the unschedulable pods. */
  start(): void {
    if (this.timer || this.closed) return;
    this.started = true;
    this.timer = setInterval(() => this.flush(), this.opts.tickMs);
    this.timer.unref();
    this.armBackoffTimer();
  }

  /** Wakes pop() with undefined; later adds are ignored. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.backoffTimer);
    this.waiter?.(undefined);
    this.waiter = undefined;
  }

  get(key: string): QueuedPod | undefined {
    return this.pods.get(key);
  }

  /** Pods per location, for logs and tests. */
  counts(): Record<QueueLocation, number> {
    const c = { active: 0, backoff: 0, unschedulable: 0, inflight: 0 };
    for (const q of this.pods.values()) c[q.where]++;
    return c;
  }

  /** A new pending pod (or one seen again): into activeQ. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.pods.has(key)) {
      this.update(pod, true);
      return;
    }
    const q: QueuedPod = {
      key, pod, timestamp: this.now(), attempts: 0, where: 'active', backoffExpiry: 0, unschedulableSince: 0,
      cycle: 0, updatedInFlight: false, gen: 0,
    };
    this.pods.set(key, q);
    this.toActive(q);
  }

  /**
   * The pod changed. `relevant`: a change that may make it schedulable (spec, labels, ...), which
   * takes an unschedulable pod out of parking; status-only updates (our own condition writes) are not.
   */
  update(pod: Pod, relevant: boolean): void {
    const q = this.pods.get(podKey(pod));
    if (!q) {
      this.add(pod);
      return;
    }
    const priorityChanged = (pod.spec?.priority ?? 0) !== (q.pod.spec?.priority ?? 0);
    q.pod = pod;
    if (!relevant) {
      if (priorityChanged && q.where === 'active') this.toActive(q); // re-sort
      return;
    }
    if (q.where === 'inflight') q.updatedInFlight = true;
    else if (q.where === 'unschedulable') this.toActiveOrBackoff(q);
    else if (q.where === 'active' && priorityChanged) this.toActive(q);
  }

  /** The pod is gone, or assigned: forget it. */
  delete(key: string): void {
    const q = this.pods.get(key);
    if (!q) return;
    this.leave(q);
    this.pods.delete(key);
  }

  /** The next pod to schedule; waits while activeQ is empty; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> | QueuedPod | undefined {
    if (this.closed) return undefined;
    const q = this.popNow();
    if (q) return q;
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Pods in activeQ right now. */
  get activeLength(): number {
    return this.activeCount;
  }

  /**
   * Nothing fit (AddUnschedulableIfNotPresent): park the pod until a cluster event, or back it off
   * if an event (or a change to the pod) happened while it was being scheduled.
   */
  requeueUnschedulable(q: QueuedPod): void {
    if (this.pods.get(q.key) !== q || q.where !== 'inflight') return;
    const now = this.now();
    q.timestamp = now;
    q.backoffExpiry = now + this.backoffDuration(q.attempts);
    if (q.updatedInFlight || this.moveRequestCycle >= q.cycle) {
      this.toBackoff(q);
    } else {
      q.where = 'unschedulable';
      q.unschedulableSince = now;
      this.unschedulable.add(q);
    }
  }

  /** An error (e.g. the binding failed): retry after the pod's backoff. */
  requeueAfterError(q: QueuedPod): void {
    if (this.pods.get(q.key) !== q || q.where !== 'inflight') return;
    const now = this.now();
    q.timestamp = now;
    q.backoffExpiry = now + this.backoffDuration(q.attempts);
    this.toBackoff(q);
  }

  /**
   * A cluster event that may make parked pods schedulable (MoveAllToActiveOrBackoffQueue);
   * `which` narrows it to the pods the event can help (and then pods being scheduled right
   * now are not backed off for it: a narrow event must not keep every failing pod cycling).
   */
  moveAllToActiveOrBackoff(which?: (q: QueuedPod) => boolean): void {
    if (!which) this.moveRequestCycle = this.schedulingCycle;
    if (this.unschedulable.size === 0) return;
    for (const q of [...this.unschedulable]) if (!which || which(q)) this.toActiveOrBackoff(q);
  }

  /** kube's backoff: initial × 2^(attempts-1), capped. */
  backoffDuration(attempts: number): number {
    let d = this.opts.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      d *= 2;
      if (d >= this.opts.maxBackoffMs) return this.opts.maxBackoffMs;
    }
    return d;
  }

  /** Moves finished backoffs to activeQ and long-parked pods back (flushBackoffQCompleted / flushUnschedulablePodsLeftover). */
  flush(): void {
    const now = this.now();
    for (let top = this.backoffQ.peek(); top; top = this.backoffQ.peek()) {
      if (top.gen === top.q.gen && top.q.where === 'backoff' && top.q.backoffExpiry > now) break;
      this.backoffQ.pop();
      if (top.gen === top.q.gen && top.q.where === 'backoff') this.toActive(top.q);
    }
    for (const q of [...this.unschedulable]) {
      if (now - q.unschedulableSince >= this.opts.unschedulableFlushMs) this.toActiveOrBackoff(q);
    }
    this.armBackoffTimer();
  }

  private armBackoffTimer(): void {
    if (!this.started || this.closed) return;
    let top = this.backoffQ.peek();
    while (top && (top.gen !== top.q.gen || top.q.where !== 'backoff')) {
      this.backoffQ.pop();
      top = this.backoffQ.peek();
    }
    if (!top || top.q.backoffExpiry >= this.backoffTimerAt) return;
    clearTimeout(this.backoffTimer);
    this.backoffTimerAt = top.q.backoffExpiry;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimerAt = Infinity;
      this.flush();
    }, Math.max(0, top.q.backoffExpiry - this.now()));
    this.backoffTimer.unref();
  }

  private popNow(): QueuedPod | undefined {
    for (let e = this.activeQ.pop(); e; e = this.activeQ.pop()) {
      if (e.gen !== e.q.gen || e.q.where !== 'active') continue;
      const q = e.q;
      this.activeCount--;
      q.where = 'inflight';
      q.gen++;
      q.attempts++;
      q.cycle = ++this.schedulingCycle;
      q.updatedInFlight = false;
      return q;
    }
    return undefined;
  }

  private leave(q: QueuedPod): void {
    if (q.where === 'active') this.activeCount--;
    if (q.where === 'unschedulable') this.unschedulable.delete(q);
    q.gen++; // invalidates its heap entries
  }

  private toActive(q: QueuedPod): void {
    this.leave(q);
    q.where = 'active';
    this.activeCount++;
    this.activeQ.push({ q, gen: q.gen });
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(this.popNow());
    }
  }

  private toBackoff(q: QueuedPod): void {
    this.leave(q);
    q.where = 'backoff';
    this.backoffQ.push({ q, gen: q.gen });
    if (q.backoffExpiry < this.backoffTimerAt) this.armBackoffTimer();
  }

  private toActiveOrBackoff(q: QueuedPod): void {
    if (q.backoffExpiry > this.now()) this.toBackoff(q);
    else this.toActive(q);
  }
}
