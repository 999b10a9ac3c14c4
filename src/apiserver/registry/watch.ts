// WATCH: store events turned into Kubernetes watch events, with selector
// semantics (an object leaving the selection is DELETED, entering it ADDED),
// initial events for resourceVersion "" / "0" or sendInitialEvents, and bookmarks.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { CompactedError, type Store, type Watch, type WatchEvent } from '../../store/store.ts';
import { errors } from '../errors.ts';
import { storagePrefix } from './codec.ts';
import type { ObjectFilter } from './filter.ts';
import { listObjects } from './read.ts';

export interface KubeWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
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

/** Translates one store event; undefined when neither side passes the filter. */
function translate(ev: WatchEvent, filter: ObjectFilter): KubeWatchEvent | undefined {
  const rev = ev.kv.modRevision;
  if (ev.type === 'delete') {
    const last = parseVersioned(ev.prevKv?.value ?? ev.kv.value, rev);
    return filter.matches(last) ? { type: 'DELETED', object: last } : undefined;
  }
  const cur = parseVersioned(ev.kv.value, rev);
  const curMatches = filter.matches(cur);
  if (!ev.prevKv) return curMatches ? { type: 'ADDED', object: cur } : undefined;
  if (filter.everything) return { type: 'MODIFIED', object: cur };
  const prevMatches = filter.matches(parseVersioned(ev.prevKv.value, ev.prevKv.modRevision));
  if (curMatches && prevMatches) return { type: 'MODIFIED', object: cur };
  if (curMatches) return { type: 'ADDED', object: cur };
  if (prevMatches) return { type: 'DELETED', object: cur };
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
