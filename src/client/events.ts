// Records core/v1 Events about objects, so `kubectl describe` and `kubectl get
// events` show what a controller did and why — client-go's EventRecorder with
// its EventCorrelator's de-duplication: the same event (same object, type,
// reason, message, source) repeated updates one Event's count and lastTimestamp
// instead of creating a new one.
// https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/
//
// Recording never blocks and never throws: events are queued and written by one
// background loop; when the queue is full (1,000 pending events) new ones are
// dropped with a warning, as client-go does. flush() waits for the queue.
import type { Event, ObjectReference } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { isAlreadyExists, isNotFound } from './errors.ts';
import { R } from './resources.ts';
import type { RestClient } from './rest.ts';
import { rfc3339 } from '../api/time.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** source.component, e.g. "replicaset-controller", "default-scheduler", "kubelet". */
  component: string;
  /** source.host (the node name for a kubelet). */
  host?: string;
  log?: (message: string) => void;
}

/** What the correlator remembers of one distinct event. */
interface Correlated {
  event: Event & { metadata: { name: string; namespace: string } };
  /** An Event object exists on the server for it. */
  created: boolean;
  queued: boolean;
}

const MAX_PENDING = 1000;
/** Distinct events remembered for de-duplication (client-go's maxLruCacheEntries). */
const CACHE_SIZE = 4096;

export class EventRecorder {
  private readonly client: RestClient;
  private readonly opts: EventRecorderOptions;
  private readonly seen = new Map<string, Correlated>(); // insertion order = LRU order
  private readonly pending: string[] = [];
  private writing: Promise<void> | undefined;
  private dropped = 0;

  constructor(client: RestClient, opts: EventRecorderOptions) {
    this.client = client;
    this.opts = opts;
  }

  /** Records that reason happened to obj (reason is CamelCase, message is a sentence for humans). */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (!obj.kind || !obj.apiVersion || !obj.metadata?.name) {
      this.log(`not recording ${reason} "${message}": the object needs apiVersion, kind and metadata.name`);
      return;
    }
    const ref = referenceTo(obj);
    const key = [this.opts.component, this.opts.host ?? '', ref.apiVersion, ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? '', type, reason, message].join('\u0000');
    const now = rfc3339();
    let c = this.seen.get(key);
    if (c) {
      this.seen.delete(key); // refresh its LRU position
      c.event.count = (c.event.count ?? 1) + 1;
      c.event.lastTimestamp = now;
    } else {
      const namespace = ref.namespace || 'default'; // events about cluster-scoped objects live in default
      c = {
        event: {
          apiVersion: 'v1', kind: 'Event',
          // client-go: "<object name>.<unix nanoseconds in hex>"
          metadata: { name: `${ref.name}.${uniqueSuffix()}`, namespace },
          involvedObject: ref, reason, message, type,
          source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
          count: 1, firstTimestamp: now, lastTimestamp: now,
          reportingComponent: this.opts.component, reportingInstance: this.opts.host ?? '',
        },
        created: false,
        queued: false,
      };
    }
    this.seen.set(key, c);
    if (this.seen.size > CACHE_SIZE) this.seen.delete(this.seen.keys().next().value!);
    if (c.queued) return; // the pending write will carry the new count
    if (this.pending.length >= MAX_PENDING) {
      if (this.dropped++ % 100 === 0) this.log(`event queue full, dropping events (${this.dropped} so far): ${reason} ${message}`);
      return;
    }
    c.queued = true;
    this.pending.push(key);
    this.writing ??= this.drain();
  }

  /** Resolves when every event recorded so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      for (let key = this.pending.shift(); key !== undefined; key = this.pending.shift()) {
        const c = this.seen.get(key);
        if (!c) continue; // evicted from the cache meanwhile
        c.queued = false;
        await this.write(c);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async write(c: Correlated): Promise<void> {
    const e = c.event;
    try {
      if (c.created) {
        try {
          await this.client.patch(R.events, e.metadata.name, { count: e.count, lastTimestamp: e.lastTimestamp }, { namespace: e.metadata.namespace });
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // Someone deleted (or TTL expired) the Event: record it anew under a fresh name.
          e.metadata.name = `${e.involvedObject.name}.${uniqueSuffix()}`;
        }
      }
      // Repeats recorded while this write is in flight are queued again (queued was cleared) and patched next.
      try {
        await this.client.create(R.events, e);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      c.created = true;
    } catch (err) {
      this.log(`could not write event ${e.reason} for ${e.involvedObject.kind} ${e.involvedObject.namespace ?? ''}/${e.involvedObject.name}: ${(err as Error).message}`);
    }
  }

  private log(message: string): void {
    (this.opts.log ?? console.error)(`event recorder ${this.opts.component}: ${message}`);
  }
}

/** An ObjectReference to obj (core/v1), as Events' involvedObject. */
export function referenceTo(obj: KubeObject): ObjectReference & { name: string; kind: string; apiVersion: string } {
  const m = obj.metadata ?? {};
  if (!obj.kind || !obj.apiVersion || !m.name) throw new Error(`an event needs an object with apiVersion, kind and metadata.name (got ${obj.kind}/${m.name})`);
  return {
    apiVersion: obj.apiVersion, kind: obj.kind, name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}


let lastSuffix = 0n;
function uniqueSuffix(): string {
  let ns = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
  if (ns <= lastSuffix) ns = lastSuffix + 1n;
  lastSuffix = ns;
  return ns.toString(16);
}
