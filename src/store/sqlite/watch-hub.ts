// Fan-out of committed writes to watches. Writes are synchronous (node:sqlite),
// so a watch registers, snapshots the head revision and picks its replay source
// in one synchronous step: nothing can commit in between, which is what makes
// the hand-over from history to live events free of gaps and duplicates.
//
// Live events are delivered in batches from a setImmediate, never from inside a
// write, so a writer never waits for watchers.
import { CompactedError } from '../store.ts';
import type { Watch, WatchEvent, WatchHandlers } from '../store.ts';
import { EventRing } from './event-ring.ts';
import type { RevisionEvent } from './event-ring.ts';

export interface HistorySource {
  headRevision(): number;
  compactedRevision(): number;
  /** Events under prefix with after < revision <= upTo from the persistent log, oldest first. */
  readHistory(prefix: string, after: number, upTo: number): WatchEvent[];
}

export interface WatchHubOptions {
  /** Recent events kept in memory for replay, at most this many... */
  ringSize: number;
  /** ...and about this many bytes. */
  ringMaxBytes: number;
  /** A watch with more undelivered events than this gets onError and is dropped. */
  maxBacklog: number;
  /** Revisions read from SQLite per replay step; the event loop runs between steps. */
  replayChunk: number;
}

type WatcherState = 'replaying' | 'live' | 'done';

class Watcher implements Watch {
  readonly prefix: string;
  readonly handlers: WatchHandlers;
  state: WatcherState = 'live';
  /** The highest revision this watch has delivered or queued. */
  lastRevision: number;
  /** Queued events: the replay taken from the ring plus live events that arrived during replay. */
  buffer: WatchEvent[] = [];
  private readonly hub: WatchHub;

  constructor(hub: WatchHub, prefix: string, handlers: WatchHandlers, lastRevision: number) {
    this.hub = hub;
    this.prefix = prefix;
    this.handlers = handlers;
    this.lastRevision = lastRevision;
  }

  cancel(): void {
    this.end();
  }

  deliver(events: WatchEvent[]): void {
    if (events.length === 0 || this.state === 'done') return;
    try {
      this.handlers.onEvents(events);
    } catch (err) {
      this.fail(new Error(`watch on prefix ${JSON.stringify(this.prefix)} dropped: its event handler threw`, { cause: err }));
    }
  }

  fail(err: Error): void {
    if (this.state === 'done') return;
    this.end();
    this.handlers.onError(err);
  }

  private end(): void {
    this.state = 'done';
    this.buffer = [];
    this.hub.remove(this);
  }
}

export class WatchHub {
  private readonly source: HistorySource;
  private readonly opts: WatchHubOptions;
  private readonly ring: EventRing;
  private readonly watchers = new Set<Watcher>();
  private pending: RevisionEvent[] = [];
  private flushHandle: NodeJS.Immediate | undefined;

  constructor(source: HistorySource, opts: WatchHubOptions) {
    this.source = source;
    this.opts = opts;
    this.ring = new EventRing(opts.ringSize, opts.ringMaxBytes, source.headRevision());
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Records a committed write; call right after the commit, in revision order. */
  publish(revision: number, event: WatchEvent): void {
    const entry = { revision, event };
    this.ring.push(entry);
    if (this.watchers.size === 0) return;
    this.pending.push(entry);
    this.flushHandle ??= setImmediate(() => this.flush());
  }

  /** The caller has checked fromRevision against the compacted revision. */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const head = this.source.headRevision();
    const watcher = new Watcher(this, prefix, handlers, Math.max(fromRevision, head));
    this.watchers.add(watcher);
    if (fromRevision >= head) return watcher;
    watcher.state = 'replaying';
    if (this.ring.covers(fromRevision)) {
      watcher.buffer = this.ring.range(fromRevision, head, prefix);
      setImmediate(() => this.finishReplay(watcher));
    } else {
      setImmediate(() => this.replayStep(watcher, fromRevision, head));
    }
    return watcher;
  }

  remove(watcher: Watcher): void {
    this.watchers.delete(watcher);
  }

  /** Delivers what is already committed, then ends every watch with err. */
  close(err: Error): void {
    this.flush();
    for (const watcher of [...this.watchers]) watcher.fail(err);
  }

  private flush(): void {
    if (this.flushHandle !== undefined) clearImmediate(this.flushHandle);
    this.flushHandle = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    for (const watcher of this.watchers) this.offer(watcher, batch);
  }

  private offer(watcher: Watcher, batch: RevisionEvent[]): void {
    if (watcher.state === 'done') return;
    const last = batch[batch.length - 1].revision;
    if (last <= watcher.lastRevision) return;
    const events: WatchEvent[] = [];
    for (const entry of batch) {
      if (entry.revision > watcher.lastRevision && entry.event.kv.key.startsWith(watcher.prefix)) events.push(entry.event);
    }
    watcher.lastRevision = last;
    if (events.length === 0) return;
    if (watcher.buffer.length + events.length > this.opts.maxBacklog) {
      watcher.fail(
        new Error(
          `watch on prefix ${JSON.stringify(watcher.prefix)} dropped: more than ${this.opts.maxBacklog} undelivered events`,
        ),
      );
      return;
    }
    if (watcher.state === 'live') watcher.deliver(events);
    else for (const event of events) watcher.buffer.push(event);
  }

  /** Replays (after, target] from SQLite a chunk per turn of the event loop, then from the ring once it reaches it. */
  private replayStep(watcher: Watcher, after: number, target: number): void {
    if (watcher.state === 'done') return;
    // Compaction only removes rows below the compacted revision; a replay behind it would miss events.
    const compacted = this.source.compactedRevision();
    if (after < compacted) {
      watcher.fail(new CompactedError(after, compacted));
      return;
    }
    if (this.ring.covers(after)) {
      watcher.deliver(this.ring.range(after, target, watcher.prefix));
      this.finishReplay(watcher);
      return;
    }
    const upTo = Math.min(target, after + this.opts.replayChunk);
    let events: WatchEvent[];
    try {
      events = this.source.readHistory(watcher.prefix, after, upTo);
    } catch (err) {
      watcher.fail(new Error(`watch replay from revision ${after} failed`, { cause: err }));
      return;
    }
    watcher.deliver(events);
    if (upTo >= target) this.finishReplay(watcher);
    else setImmediate(() => this.replayStep(watcher, upTo, target));
  }

  private finishReplay(watcher: Watcher): void {
    if (watcher.state !== 'replaying') return;
    const queued = watcher.buffer;
    watcher.buffer = [];
    watcher.state = 'live';
    watcher.deliver(queued);
  }
}
