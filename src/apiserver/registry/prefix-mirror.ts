// An in-memory mirror of the objects under one store prefix, kept by a list at one revision and
// a watch from there (an informer inside the API server, as kube-apiserver's admission plugins
// read their listers): reads on a request's hot path that need no store round trip. After a
// watch error it says it is not in sync and lists again; callers then fall back to the store.
import type { KeyValue, Store, Watch, WatchEvent } from '../../store/store.ts';

const RESYNC_DELAY_MS = 1000;
const PAGE = 500;

export class PrefixMirror<T> {
  readonly prefix: string;
  readonly #store: Store;
  readonly #decode: (kv: KeyValue) => T;
  /** Key below the prefix (e.g. "ns/name" or "name") -> decoded value. */
  #items = new Map<string, T>();
  #watch?: Watch;
  #synced = false;
  #stopped = false;
  #retry?: NodeJS.Timeout;

  constructor(store: Store, prefix: string, decode: (kv: KeyValue) => T) {
    this.#store = store;
    this.prefix = prefix;
    this.#decode = decode;
  }

  /** Lists and watches; resolves once in sync. */
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

  get(name: string): T | undefined {
    return this.#items.get(name);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  async #sync(): Promise<void> {
    if (this.#stopped) return;
    const items = new Map<string, T>();
    let revision = 0;
    let startKey: string | undefined;
    // Pages read at one revision, so the watch below continues exactly where the list ended.
    for (;;) {
      const page = await this.#store.list(this.prefix, { limit: PAGE, startKey, revision: revision || undefined });
      revision = page.revision;
      for (const kv of page.kvs) items.set(kv.key.slice(this.prefix.length), this.#decode(kv));
      if (page.remaining === 0 || page.kvs.length === 0) break;
      startKey = `${page.kvs[page.kvs.length - 1].key}\0`;
    }
    this.#items = items;
    const watch = await this.#store.watch(this.prefix, revision, {
      onEvents: (events) => this.#apply(events),
      onError: (err) => {
        if (this.#stopped) return;
        console.error(`skiff: the mirror of ${this.prefix} lost its watch (${err.message}); reading the store until it resyncs`);
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
        console.error(`skiff: resyncing the mirror of ${this.prefix} failed (${e.message}); retrying`);
        this.#scheduleResync();
      });
    }, RESYNC_DELAY_MS);
  }

  #apply(events: WatchEvent[]): void {
    for (const ev of events) {
      const name = ev.kv.key.slice(this.prefix.length);
      if (ev.type === 'delete') this.#items.delete(name);
      else this.#items.set(name, this.#decode(ev.kv));
    }
  }
}
