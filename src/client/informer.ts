// A shared informer: keeps a local, indexed copy of one resource (optionally one
// namespace and selectors) current by listing it and then watching from the
// list's resourceVersion, and tells handlers about adds, updates and deletes —
// client-go's SharedIndexInformer (Reflector + DeltaFIFO + Indexer) in one class.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
//
// - The list is paged (limit=500); the watch asks for bookmarks, so the last
//   resourceVersion stays fresh even when nothing in our selection changes.
// - A watch that ends is resumed from the last resourceVersion (backoff on errors,
//   e.g. while the server restarts). 410 Gone (an ERROR event or HTTP 410) means
//   history is compacted: relist, and report objects that vanished meanwhile as
//   deletes with finalStateUnknown = true (client-go's DeletedFinalStateUnknown).
// - A relist reports changed objects as updates; unchanged ones are not re-sent.
//   Resync (resyncPeriodMs) re-sends onUpdate(obj, obj) for every cached object so
//   level-triggered controllers revisit everything periodically.
//
// Objects in the cache and passed to handlers are shared by every user: treat
// them as read-only (copy with structuredClone before changing). They are deep-
// frozen unless NODE_ENV=production, so a mutation throws in tests.
import type { KubeObject } from '../api/types.ts';
import { Indexer, type IndexFunc, keyOf, NAMESPACE_INDEX, namespaceIndexFunc } from './cache.ts';
import { ApiStatusError, isGone } from './errors.ts';
import { apiVersionFor, type ResourceRef } from './resources.ts';
import type { RestClient, WatchEvent } from './rest.ts';
import { Backoff, sleep } from './wait.ts';

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** 0 (default) turns periodic resync off. */
  resyncPeriodMs?: number;
  pageSize?: number;
  /** Deep-freeze cached objects; default: NODE_ENV !== 'production'. */
  freeze?: boolean;
  /** Where failures of list/watch are reported; default console.error. */
  log?: (message: string) => void;
}

export interface EventHandler<T extends KubeObject> {
  /** isInInitialList: the object came with the first list (not a later change). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** obj is the last state seen; finalStateUnknown when the delete was inferred by a relist. */
  onDelete?(obj: T, finalStateUnknown: boolean): void;
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceRef;
  private readonly client: RestClient;
  private readonly opts: InformerOptions;
  private readonly store = new Indexer<T>();
  private readonly handlers = new Set<EventHandler<T>>();
  /** Checks of pending waitUntil calls, run after every change to the cache. */
  private readonly waiters = new Set<() => void>();
  private readonly stopController = new AbortController();
  private readonly freeze: boolean;
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private watchAbort: AbortController | undefined;
  private paused: Promise<void> | undefined;
  private resume: (() => void) | undefined;
  private restartRequested = false;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsAfterGone: 0, watchErrors: 0 };

  constructor(client: RestClient, resource: ResourceRef, opts: InformerOptions = {}) {
    this.client = client;
    this.resource = resource;
    this.opts = opts;
    this.freeze = opts.freeze ?? process.env.NODE_ENV !== 'production';
    this.store.addIndexer(NAMESPACE_INDEX, namespaceIndexFunc);
  }

  /** Registers handlers; if the cache is already filled, they first get onAdd for every object. Returns an unregister function. */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.synced) for (const obj of this.store.list()) this.call('onAdd', () => handler.onAdd?.(obj, true));
    return () => this.handlers.delete(handler);
  }

  /**
   * Resolves true once check() holds, looking again after every change to the cache; false
   * after timeoutMs. A controller uses it to see its own write in the cache before the next
   * sync of the same key reads from it.
   */
  waitUntil(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(look);
        resolve(ok);
      };
      const look = () => {
        if (check()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(look);
    });
  }

  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.store.addIndexer(name, fn);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  indexKeys(name: string, value: string): string[] {
    return this.store.indexKeys(name, value);
  }

  /** By key: "namespace/name" or "name". */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object, or those in one namespace. */
  list(namespace?: string): T[] {
    return namespace === undefined ? this.store.list() : this.store.byIndex(NAMESPACE_INDEX, namespace);
  }

  keys(): string[] {
    return this.store.keys();
  }

  /** The resourceVersion the cache is current to (last list, event or bookmark). */
  get lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** true once the first list is in the cache; false if timeoutMs passes (or the informer stops) first. */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return true;
    const synced = new Promise<void>((r) => this.syncWaiters.push(r));
    const timedOut = new AbortController();
    const stopped = AbortSignal.any([this.stopController.signal, timedOut.signal]);
    await Promise.race([synced, sleep(timeoutMs, stopped)]);
    timedOut.abort();
    return this.synced;
  }

  /** Starts list+watch in the background (idempotent). */
  start(): void {
    if (this.loop || this.stopController.signal.aborted) return;
    this.loop = this.run();
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period > 0) this.resyncTimer = setInterval(() => this.resync(), period);
  }

  /** Stops watching; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.stopController.abort();
    clearInterval(this.resyncTimer);
    this.resume?.();
    await this.loop;
  }

  /**
   * Test hooks: pause() ends the current watch and holds off the next one;
   * resumeFrom(rv) restarts it from rv (e.g. a compacted one, to force a 410).
   */
  readonly testHooks = {
    pause: (): void => {
      if (!this.paused) this.paused = new Promise((r) => (this.resume = r));
      this.restartWatch();
    },
    resumeFrom: (resourceVersion?: string): void => {
      if (resourceVersion !== undefined) this.resourceVersion = resourceVersion;
      this.paused = undefined;
      const resume = this.resume;
      this.resume = undefined;
      if (resume) resume();
      else this.restartWatch();
    },
  };

  private restartWatch(): void {
    if (!this.watchAbort || this.watchAbort.signal.aborted) return;
    this.restartRequested = true;
    this.watchAbort.abort();
  }

  private async run(): Promise<void> {
    const stop = this.stopController.signal;
    const backoff = new Backoff(200, 30_000);
    let needList = true;
    let goneInARow = 0;
    while (!stop.aborted) {
      try {
        if (this.paused) await this.paused;
        if (stop.aborted) break;
        if (needList) {
          await this.relist();
          needList = false;
        }
        const { events, durationMs } = await this.watchOnce();
        goneInARow = 0;
        // A watch that closes at once without events is a failure in disguise: don't spin.
        if (events === 0 && durationMs < 1000) await sleep(backoff.next(), stop);
        else backoff.reset();
      } catch (e) {
        if (stop.aborted) break;
        if (this.restartRequested) {
          this.restartRequested = false; // a test hook ended the watch on purpose
          continue;
        }
        if (isGone(e)) {
          // History we need is compacted away: start over from a fresh list.
          this.stats.relistsAfterGone++;
          needList = true;
          if (goneInARow++ > 0) await sleep(backoff.next(), stop);
          continue;
        }
        this.stats.watchErrors++;
        const delay = backoff.next();
        this.log(`${needList ? 'list' : 'watch'} failed, retrying in ${Math.round(delay)} ms: ${(e as Error).message}`);
        await sleep(delay, stop);
      }
    }
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const { items, resourceVersion } = await this.client.listAll<T>(this.resource, {
      namespace: this.opts.namespace, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector,
      pageSize: this.opts.pageSize ?? 500, signal: this.stopController.signal,
    });
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const item of items) {
      const obj = this.own(item);
      const key = keyOf(obj);
      seen.add(key);
      const old = this.store.set(key, obj);
      if (!old) this.emitAdd(obj, initial);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
    }
    for (const key of this.store.keys()) {
      if (seen.has(key)) continue;
      const old = this.store.delete(key)!;
      this.emitDelete(old, true);
    }
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(): Promise<{ events: number; durationMs: number }> {
    const started = Date.now();
    const ac = new AbortController();
    this.watchAbort = ac;
    this.stats.watches++;
    let events = 0;
    const stream = this.client.watch<T>(this.resource, {
      namespace: this.opts.namespace, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector,
      resourceVersion: this.resourceVersion, allowWatchBookmarks: true,
      // client-go picks a random 5-10 minute timeout so watches don't all reconnect at once.
      timeoutSeconds: Math.round(300 * (1 + Math.random())),
      signal: AbortSignal.any([ac.signal, this.stopController.signal]),
    });
    try {
      for await (const ev of stream) {
        events++;
        this.apply(ev);
      }
    } finally {
      this.watchAbort = undefined;
    }
    return { events, durationMs: Date.now() - started };
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'ERROR') throw new ApiStatusError(ev.object, `watch ${this.describe()}`);
    const rv = ev.object.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.own(ev.object);
    const key = keyOf(obj);
    if (ev.type === 'DELETED') {
      const old = this.store.delete(key);
      this.emitDelete(old && !obj.metadata?.resourceVersion ? old : obj, false);
    } else {
      const old = this.store.set(key, obj);
      if (old) this.emitUpdate(old, obj);
      else this.emitAdd(obj, false);
    }
    if (rv) this.resourceVersion = rv;
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.store.list()) this.emitUpdate(obj, obj);
  }

  private own(obj: T): T {
    // kube-apiserver leaves apiVersion/kind out of list items; handlers (and event recorders) want them.
    if (!obj.kind && this.resource.kind) obj = { ...obj, apiVersion: apiVersionFor(this.resource), kind: this.resource.kind };
    return this.freeze ? deepFreeze(obj) : obj;
  }

  private emitAdd(obj: T, initial: boolean): void {
    for (const h of this.handlers) this.call('onAdd', () => h.onAdd?.(obj, initial));
    this.notifyWaiters();
  }

  private emitUpdate(old: T, obj: T): void {
    for (const h of this.handlers) this.call('onUpdate', () => h.onUpdate?.(old, obj));
    this.notifyWaiters();
  }

  private emitDelete(obj: T, finalStateUnknown: boolean): void {
    for (const h of this.handlers) this.call('onDelete', () => h.onDelete?.(obj, finalStateUnknown));
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    for (const look of [...this.waiters]) this.call('waitUntil', look);
  }

  /** A throwing handler must not break the informer or the other handlers; it is reported. */
  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`${what} handler threw: ${(e as Error).stack ?? e}`);
    }
  }

  private describe(): string {
    const r = this.resource;
    let d = r.group ? `${r.plural}.${r.group}` : r.plural;
    if (this.opts.namespace) d += ` in ${this.opts.namespace}`;
    if (this.opts.labelSelector) d += ` -l ${this.opts.labelSelector}`;
    if (this.opts.fieldSelector) d += ` --field-selector ${this.opts.fieldSelector}`;
    return d;
  }

  private log(message: string): void {
    (this.opts.log ?? console.error)(`informer ${this.describe()}: ${message}`);
  }
}

function deepFreeze<T>(obj: T): T {
  if (typeof obj !== 'object' || obj === null || Object.isFrozen(obj)) return obj;
  Object.freeze(obj);
  // Indexed and for-in loops: Object.values allocated an array per object (about twice the time on a pod).
  if (Array.isArray(obj)) for (let i = 0; i < obj.length; i++) deepFreeze(obj[i]);
  else for (const k in obj) deepFreeze((obj as Record<string, unknown>)[k]);
  return obj;
}
