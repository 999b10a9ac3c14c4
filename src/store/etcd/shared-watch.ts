// One etcd watch per key prefix, shared by every store watch of that prefix (kube-apiserver's
// watch cache does the same): etcd sends each event once, gRPC decodes it once, and the API
// server's watchers of a kind (controllers, agents, kubectl -w) all get that one copy. A watch
// that joins later replays what it missed from a ring of recent events; one asking for a
// revision the ring no longer covers gets a watch of its own.
import { CompactedError, type Watch, type WatchEvent, type WatchHandlers } from '../store.ts';

/** Recent events kept per prefix for watches that join from a slightly older revision. */
export const RING_SIZE = 4096;

interface Subscriber {
  from: number;
  handlers: WatchHandlers;
  /** Live events that arrived before the replay was delivered; null once caught up. */
  backlog: WatchEvent[] | null;
}

/** The etcd watch a SharedWatch fans out (its events arrive through publish): cancelled when the last subscriber goes. */
export interface EventSource {
  cancel(): void;
}

export class SharedWatch {
  private readonly subs = new Set<Subscriber>();
  private ring: WatchEvent[] = [];
  /** Events at or below this revision may be missing from the ring. */
  private droppedUpTo: number;
  private closed = false;
  private source: EventSource | undefined;
  private readonly onClosed: () => void;

  /** `from`: the source delivers every event after this revision. */
  constructor(from: number, onClosed: () => void) {
    this.droppedUpTo = from;
    this.onClosed = onClosed;
  }

  attach(source: EventSource): void {
    this.source = source;
    if (this.closed) source.cancel();
  }

  /** Whether a watch from `from` can join: the ring holds everything after it, or it is still to come. */
  canServe(from: number): boolean {
    return !this.closed && from >= this.droppedUpTo;
  }

  subscribe(from: number, handlers: WatchHandlers): Watch {
    const sub: Subscriber = { from, handlers, backlog: this.ring.filter((e) => e.kv.modRevision > from) };
    this.subs.add(sub);
    // Delivered after the caller has its Watch, as every later batch is.
    setImmediate(() => {
      if (!this.subs.has(sub) || !sub.backlog) return;
      const missed = sub.backlog;
      sub.backlog = null;
      if (missed.length > 0) handlers.onEvents(missed);
    });
    return { cancel: () => this.unsubscribe(sub) };
  }

  /** A batch from etcd, in revision order. */
  publish(events: WatchEvent[]): void {
    if (this.closed || events.length === 0) return;
    for (const e of events) this.ring.push(e);
    if (this.ring.length > 2 * RING_SIZE) {
      const dropped = this.ring.splice(0, this.ring.length - RING_SIZE);
      this.droppedUpTo = dropped[dropped.length - 1]!.kv.modRevision;
    }
    for (const sub of [...this.subs]) {
      const newer = events[0]!.kv.modRevision > sub.from ? events : events.filter((e) => e.kv.modRevision > sub.from);
      if (newer.length === 0) continue;
      if (sub.backlog) sub.backlog.push(...newer);
      else sub.handlers.onEvents(newer);
    }
  }

  /** Ends every subscriber with err (compaction, a failed etcd watch, the store closing). */
  fail(err: Error): void {
    if (this.closed) return;
    const subs = [...this.subs];
    this.close();
    for (const sub of subs) sub.handlers.onError(err instanceof CompactedError ? new CompactedError(sub.from, err.compactedRevision) : err);
  }

  private unsubscribe(sub: Subscriber): void {
    this.subs.delete(sub);
    if (this.subs.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subs.clear();
    this.ring = [];
    this.source?.cancel();
    this.onClosed();
  }
}
