// The most recent events in memory, so a watch that starts near the head (the
// common case: a list followed by a watch from its resourceVersion) replays
// without touching SQLite.
import type { WatchEvent } from '../store.ts';

export interface RevisionEvent {
  revision: number;
  event: WatchEvent;
}

/** Approximate memory an event holds (its strings dominate). */
function weight(event: WatchEvent): number {
  return 2 * (event.kv.key.length + event.kv.value.length + (event.prevKv ? event.prevKv.value.length : 0)) + 100;
}

/** Holds at most `capacity` events and about `maxBytes` of them (objects can be up to ~1.5 MB each). */
export class EventRing {
  private readonly slots: (RevisionEvent | undefined)[];
  private readonly maxBytes: number;
  private start = 0;
  private size = 0;
  private bytes = 0;
  /** Every event with revision >= coveredFrom is in the ring. */
  private coveredFrom: number;

  constructor(capacity: number, maxBytes: number, headRevision: number) {
    this.slots = new Array(Math.max(1, capacity));
    this.maxBytes = maxBytes;
    this.coveredFrom = headRevision + 1;
  }

  /** Events must be pushed one revision after another, without gaps. */
  push(entry: RevisionEvent): void {
    const added = weight(entry.event);
    while (this.size > 0 && (this.size === this.slots.length || this.bytes + added > this.maxBytes)) this.evictOldest();
    this.slots[(this.start + this.size) % this.slots.length] = entry;
    this.size += 1;
    this.bytes += added;
  }

  private evictOldest(): void {
    const evicted = this.slots[this.start] as RevisionEvent;
    this.slots[this.start] = undefined;
    this.start = (this.start + 1) % this.slots.length;
    this.size -= 1;
    this.bytes -= weight(evicted.event);
    this.coveredFrom = evicted.revision + 1;
  }

  /** Whether every event with revision > after is here. */
  covers(after: number): boolean {
    return after + 1 >= this.coveredFrom;
  }

  /** Events with after < revision <= upTo whose key starts with prefix, oldest first. */
  range(after: number, upTo: number, prefix: string): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (let i = this.firstAfter(after); i < this.size; i++) {
      const entry = this.at(i);
      if (entry.revision > upTo) break;
      if (entry.event.kv.key.startsWith(prefix)) out.push(entry.event);
    }
    return out;
  }

  private at(i: number): RevisionEvent {
    return this.slots[(this.start + i) % this.slots.length] as RevisionEvent;
  }

  /** Binary search: index of the first entry with revision > after. */
  private firstAfter(after: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).revision > after) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
