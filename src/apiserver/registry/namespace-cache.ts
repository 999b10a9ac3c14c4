// The namespaces this API server knows, fed by a store watch, so that a create in an existing
// namespace needs no store read first: kube-apiserver's NamespaceLifecycle admission answers the
// same check from its informer cache
// (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle).
// Only an Active hit is trusted; a miss, a Terminating entry, a namespace this server was just
// asked to delete, or a cache that is not in sync all fall back to a real read, so a namespace
// created a moment ago is never refused.
import type { Store, Watch, WatchEvent } from '../../store/store.ts';

export const NAMESPACES_PREFIX = '/registry/core/namespaces/';

/** kube's NamespaceLifecycle forceLiveLookupTTL: after a delete, read the namespace live this long. */
const FORCE_LIVE_LOOKUP_MS = 30_000;
const RESYNC_DELAY_MS = 1000;

export class NamespaceCache {
  readonly #store: Store;
  /** name -> terminating (has deletionTimestamp). */
  #namespaces = new Map<string, boolean>();
  /** name -> until when (ms since epoch) lookups must go to the store. */
  #forceLive = new Map<string, number>();
  #watch?: Watch;
  #synced = false;
  #stopped = false;
  #retry?: NodeJS.Timeout;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Lists the namespaces and watches them; resolves once in sync. */
  async start(): Promise<void> {
    await this.#sync();
  }

  stop(): void {
    this.#stopped = true;
    this.#synced = false;
    clearTimeout(this.#retry);
    this.#watch?.cancel();
    this.#watch = undefined;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /**
   * True when the namespace is known to exist and not be terminating; false means "ask the store"
   * (unknown, terminating, recently deleted through this server, or cache not in sync).
   */
  isActive(name: string): boolean {
    if (!this.#synced) return false;
    const until = this.#forceLive.get(name);
    if (until !== undefined) {
      if (Date.now() < until) return false;
      this.#forceLive.delete(name);
    }
    return this.#namespaces.get(name) === false;
  }

  /** The namespace is being deleted through this server: read it live for a while, as kube does. */
  forceLiveLookup(name: string): void {
    this.#forceLive.set(name, Date.now() + FORCE_LIVE_LOOKUP_MS);
  }

  async #sync(): Promise<void> {
    if (this.#stopped) return;
    const namespaces = new Map<string, boolean>();
    let revision = 0;
    let startKey: string | undefined;
    // Pages read at one revision, so the watch below continues exactly where the list ended.
    for (;;) {
      const page = await this.#store.list(NAMESPACES_PREFIX, { limit: 500, startKey, revision: revision || undefined });
      revision = page.revision;
      for (const kv of page.kvs) namespaces.set(kv.key.slice(NAMESPACES_PREFIX.length), isTerminating(kv.value));
      if (page.remaining === 0 || page.kvs.length === 0) break;
      startKey = `${page.kvs[page.kvs.length - 1].key}\0`;
    }
    this.#namespaces = namespaces;
    const watch = await this.#store.watch(NAMESPACES_PREFIX, revision, {
      onEvents: (events) => this.#apply(events),
      onError: (err) => {
        if (this.#stopped) return;
        console.error(`skiff: namespace cache watch ended (${err.message}); creates read namespaces from the store until it resyncs`);
        this.#synced = false;
        this.#watch = undefined;
        this.#scheduleResync();
      },
    });
    if (this.#stopped) {
      watch.cancel();
      return;
    }
    this.#watch = watch;
    this.#synced = true;
  }

  #scheduleResync(): void {
    if (this.#stopped) return;
    this.#retry = setTimeout(() => {
      this.#sync().catch((e: Error) => {
        console.error(`skiff: namespace cache resync failed (${e.message}); retrying`);
        this.#scheduleResync();
      });
    }, RESYNC_DELAY_MS);
  }

  #apply(events: WatchEvent[]): void {
    for (const ev of events) {
      const name = ev.kv.key.slice(NAMESPACES_PREFIX.length);
      if (ev.type === 'delete') this.#namespaces.delete(name);
      else this.#namespaces.set(name, isTerminating(ev.kv.value));
    }
  }
}

function isTerminating(value: string): boolean {
  return Boolean((JSON.parse(value) as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp);
}
