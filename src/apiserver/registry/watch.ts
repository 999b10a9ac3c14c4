// WATCH: store events turned into Kubernetes watch events, with selector
// semantics (an object leaving the selection is DELETED, entering it ADDED),
// initial events for resourceVersion "" / "0" or sendInitialEvents, and bookmarks.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { CompactedError, type Store, type Watch, type WatchEvent } from '../../store/store.ts';
import { errors } from '../errors.ts';
import { storagePrefix, storedJsonWithVersion } from './codec.ts';
import type { ObjectFilter } from './filter.ts';
import { listObjects } from './read.ts';

export interface KubeWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
  /** The object's JSON, when it is exactly as stored (a JSON watch sends it without parsing). */
  readonly raw?: string;
  /** The object's resourceVersion as a number, when known without parsing. */
  readonly revision?: number;
}

/** kube-apiserver's --min-request-timeout: watches without timeoutSeconds last between 1x and 2x this. */
const MIN_REQUEST_TIMEOUT_S = 1800;

/** How long a watch runs before the server ends it (the client then watches again). */
export function watchTimeoutSeconds(requested: number | undefined): number {
  return requested ?? Math.round(MIN_REQUEST_TIMEOUT_S * (1 + Math.random()));
}

export interface WatchRequest {
  namespace: string;
  filter: ObjectFilter;
  resourceVersion: string | null;
  resourceVersionMatch: string | null;
  sendInitialEvents: boolean | null;
  allowBookmarks: boolean;
}

export interface WatchSink {
  send(events: KubeWatchEvent[]): void;
  /** The watch ended from the store side (error or overflow). */
  end(err?: Error): void;
}

function parseVersioned(value: string, rev: number): KubeObject {
  const obj = JSON.parse(value) as KubeObject;
  obj.metadata!.resourceVersion = String(rev);
  return obj;
}

/**
 * A watch event straight from the store: `raw` is the object's JSON as stored, with its
 * resourceVersion spliced in, computed once and shared by every watcher of the store event
 * (a pod change goes to the scheduler, the controllers and the hollow nodes); the object is
 * parsed only when someone reads it (a selector, a Table, PartialObjectMetadata).
 */
class StoredWatchEvent implements KubeWatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly raw: string;
  private readonly value: string;
  private readonly rev: number;
  private parsed: KubeObject | undefined;

  constructor(type: 'ADDED' | 'MODIFIED' | 'DELETED', value: string, rev: number, raw: string) {
    this.type = type;
    this.value = value;
    this.rev = rev;
    this.raw = raw;
  }

  /** Parsed on first use; each watcher has its own event, so no watcher sees another's changes. */
  get object(): KubeObject {
    return (this.parsed ??= parseVersioned(this.value, this.rev));
  }

  get revision(): number {
    return this.rev;
  }
}

/** The stored JSON with resourceVersion of each store event, once for all watchers. */
const rawCache = new WeakMap<WatchEvent, string>();

function rawOf(ev: WatchEvent, value: string, rev: number): string {
  let raw = rawCache.get(ev);
  if (raw === undefined) rawCache.set(ev, (raw = storedJsonWithVersion(value, rev)));
  return raw;
}

const EVERYTHING: ObjectFilter = { everything: true, matches: () => true };

/** Translates one store event; undefined when neither side passes the filter. */
function translate(ev: WatchEvent, filter: ObjectFilter): KubeWatchEvent | undefined {
  const rev = ev.kv.modRevision;
  // Name and namespace never change, so the key decides for the object before and after alike.
  const byKey = filter.matchesKey?.(ev.kv.key);
  if (byKey === false) return undefined;
  if (byKey) filter = EVERYTHING;
  if (ev.type === 'delete') {
    const value = ev.prevKv?.value ?? ev.kv.value;
    const last = new StoredWatchEvent('DELETED', value, rev, rawOf(ev, value, rev));
    return filter.everything || filter.matches(last.object) ? last : undefined;
  }
  const cur = (type: 'ADDED' | 'MODIFIED' | 'DELETED') => new StoredWatchEvent(type, ev.kv.value, rev, rawOf(ev, ev.kv.value, rev));
  if (filter.everything) return cur(ev.prevKv ? 'MODIFIED' : 'ADDED');
  const event = cur('MODIFIED');
  const curMatches = filter.matches(event.object);
  if (!ev.prevKv) return curMatches ? cur('ADDED') : undefined;
  const prevMatches = filter.matches(parseVersioned(ev.prevKv.value, ev.prevKv.modRevision));
  if (curMatches && prevMatches) return event;
  if (curMatches) return cur('ADDED');
  if (prevMatches) return cur('DELETED');
  return undefined;
}

export function bookmark(r: ResourceInfo, apiVersion: string, rev: number, initialEventsEnd = false): KubeWatchEvent {
  return {
    type: 'BOOKMARK',
    object: {
      kind: r.kind,
      apiVersion,
      metadata: { resourceVersion: String(rev), ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) },
    },
  };
}

export async function startWatch(store: Store, r: ResourceInfo, apiVersion: string, req: WatchRequest, sink: WatchSink): Promise<Watch & { revision: number }> {
  const rvParam = req.resourceVersion ?? '';
  const wantsInitial = req.sendInitialEvents ?? (rvParam === '' || rvParam === '0');
  if (req.sendInitialEvents === true && req.resourceVersionMatch !== 'NotOlderThan') {
    throw errors.invalid('meta.k8s.io', 'ListOptions', '', [{ reason: 'FieldValueForbidden', field: 'resourceVersionMatch',
      message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' }]);
  }
  if (req.sendInitialEvents === true && !req.allowBookmarks) {
    throw errors.invalid('meta.k8s.io', 'ListOptions', '', [{ reason: 'FieldValueForbidden', field: 'allowWatchBookmarks',
      message: 'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true' }]);
  }
  let from: number;
  const initial: KubeWatchEvent[] = [];
  if (wantsInitial) {
    const minRv = rvParam && rvParam !== '0' ? rvParam : null;
    const page = await listObjects(store, r, { namespace: req.namespace, filter: req.filter, limit: 0, continueToken: null,
      resourceVersion: minRv, resourceVersionMatch: null });
    const objs = page.parsed ?? page.items.map((s) => JSON.parse(s) as KubeObject);
    for (const object of objs) initial.push({ type: 'ADDED', object });
    from = page.resourceVersion;
    if (req.sendInitialEvents === true) initial.push(bookmark(r, apiVersion, from, true));
  } else {
    from = Number(rvParam);
    if (!Number.isInteger(from) || from < 0) throw errors.badRequest(`invalid resource version: ${rvParam}`);
  }
  if (initial.length > 0) sink.send(initial);
  let w: Watch;
  try {
    w = await store.watch(storagePrefix(r, req.namespace), from, {
      onEvents(events) {
        const out: KubeWatchEvent[] = [];
        for (const ev of events) {
          const t = translate(ev, req.filter);
          if (t) out.push(t);
        }
        if (out.length > 0) sink.send(out);
      },
      onError(err) {
        sink.end(err);
      },
    });
  } catch (e) {
    if (e instanceof CompactedError) throw errors.gone(`too old resource version: ${from} (${e.compactedRevision})`);
    throw e;
  }
  return { cancel: () => w.cancel(), revision: from };
}
