// The namespaces this API server knows, fed by a store watch, so that a create in an existing
// namespace needs no store read first: kube-apiserver's NamespaceLifecycle admission answers the
// same check from its informer cache
// (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle).
// Only an Active hit is trusted; a miss, a Terminating entry, a namespace this server was just
// asked to delete, or a cache that is not in sync all fall back to a real read, so a namespace
// created a moment ago is never refused.
import type { Store } from '../../store/store.ts';
import { PrefixMirror } from './prefix-mirror.ts';

export const NAMESPACES_PREFIX = '/registry/core/namespaces/';

/** kube's NamespaceLifecycle forceLiveLookupTTL: after a delete, read the namespace live this long. */
const FORCE_LIVE_LOOKUP_MS = 30_000;

export class NamespaceCache {
  /** name -> terminating (has deletionTimestamp). */
  readonly #namespaces: PrefixMirror<boolean>;
  /** name -> until when (ms since epoch) lookups must go to the store. */
  #forceLive = new Map<string, number>();

  constructor(store: Store) {
    this.#namespaces = new PrefixMirror(store, NAMESPACES_PREFIX, (kv) => isTerminating(kv.value));
  }

  /** Lists the namespaces and watches them; resolves once in sync. */
  start(): Promise<void> {
    return this.#namespaces.start();
  }

  stop(): void {
    this.#namespaces.stop();
  }

  get synced(): boolean {
    return this.#namespaces.synced;
  }

  /**
   * True when the namespace is known to exist and not be terminating; false means "ask the store"
   * (unknown, terminating, recently deleted through this server, or cache not in sync).
   */
  isActive(name: string): boolean {
    if (!this.#namespaces.synced) return false;
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
}

function isTerminating(value: string): boolean {
  return Boolean((JSON.parse(value) as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp);
}
