// Helpers shared by the store tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { WatchEvent, WatchHandlers } from '../../src/store/store.ts';

/** A key prefix no other test uses, so a suite can share one backend (etcd) safely. */
export function uniquePrefix(label: string): string {
  return `/conformance/${label}-${randomUUID().slice(0, 8)}/`;
}

/** Records what a watch delivers. */
export class WatchCollector implements WatchHandlers {
  readonly events: WatchEvent[] = [];
  batches = 0;
  error: Error | undefined;
  /** Set when a batch arrived after onError (which must never happen). */
  eventsAfterError = false;

  onEvents(events: WatchEvent[]): void {
    if (this.error) this.eventsAfterError = true;
    this.batches += 1;
    this.events.push(...events);
  }

  onError(err: Error): void {
    this.error = err;
  }

  /** Waits until at least n events arrived; fails with what did arrive on timeout or watch error. */
  async waitForEvents(n: number, timeoutMs = 5000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < n) {
      if (this.error) throw new Error(`watch failed after ${this.events.length}/${n} events: ${this.error.message}`);
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${n} events; got ${this.events.length}: ${describe(this.events.slice(-5))}`);
      }
      await sleep(2);
    }
    return this.events;
  }

  async waitForError(timeoutMs = 5000): Promise<Error> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for onError; got ${this.events.length} events`);
      await sleep(2);
    }
    return this.error;
  }
}

export function describe(events: WatchEvent[]): string {
  return events.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}`).join(', ');
}

/** Lets queued deliveries run (live events are delivered asynchronously). */
export async function settle(ms = 30): Promise<void> {
  await sleep(ms);
}
