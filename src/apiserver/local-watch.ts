// Watches for the controllers and scheduler that run inside `skiff server`: the same store
// watch the HTTP handler serves (registry/watch.ts startWatch, same selectors, initial events
// and 410s), handed over in memory instead of as JSON lines through HTTPS to ourselves. Every
// write is watched by at least one in-process informer, and the loopback round trip (TLS both
// ways, chunked framing, line splitting) cost about a quarter of the server's CPU per create.
// Lists, gets and writes still go through HTTP: they carry admission, audit and validation.
import type { KubeObject, ResourceInfo } from '../api/types.ts';
import { apiVersionOf } from '../api/types.ts';
import type { LocalWatch, WatchOptions } from '../client/rest.ts';
import type { ResourceRef } from '../client/resources.ts';
import { statusErrorFrom } from '../client/errors.ts';
import type { WatchEvent } from '../client/watch-stream.ts';
import { ApiError } from './errors.ts';
import type { ServerParts } from './handlers/context.ts';
import { buildFilter, type ObjectFilter } from './registry/filter.ts';
import { bookmark, type KubeWatchEvent, startWatch, watchTimeoutSeconds } from './registry/watch.ts';
import { cloneJson } from '../api/json-clone.ts';

/** Events waiting for a slow consumer before the watch is ended (the informer then relists), as the HTTP handler caps bytes. */
const MAX_QUEUED_EVENTS = 200_000;

export function localWatch(parts: ServerParts): LocalWatch {
  return (ref, opts) => {
    const r = parts.resources.find(ref.group, ref.version, ref.plural);
    // Custom resources may be served in a version other than stored: HTTP converts them.
    if (!r || r.custom) return undefined;
    let filter: ObjectFilter;
    try {
      filter = buildFilter(r, opts.labelSelector ?? null, opts.fieldSelector ?? null);
    } catch {
      return undefined; // a bad selector: HTTP answers it with the exact 400
    }
    return watchEvents(parts, ref, r, filter, opts);
  };
}

async function* watchEvents<T extends KubeObject>(parts: ServerParts, ref: ResourceRef, r: ResourceInfo,
  filter: ObjectFilter, opts: WatchOptions): AsyncGenerator<WatchEvent<T>> {
  const apiVersion = apiVersionOf(r);
  const queue: KubeWatchEvent[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const end = () => {
    ended = true;
    poke();
  };
  let lastRevision = 0;
  const sink = {
    send(events: KubeWatchEvent[]) {
      if (ended) return;
      for (const ev of events) queue.push(ev);
      if (queue.length > MAX_QUEUED_EVENTS) end();
      poke();
    },
    end,
  };
  const signals = [parts.shutdown, ...(opts.signal ? [opts.signal] : [])];
  const stop = AbortSignal.any(signals);
  if (stop.aborted) return;
  stop.addEventListener('abort', end);
  const request = `GET ${ref.group ? `/apis/${ref.group}` : '/api'}/${ref.version}/${ref.plural}?watch=true`;
  let watch: { cancel(): void; revision: number };
  try {
    watch = await startWatch(parts.store, r, apiVersion, {
      namespace: opts.namespace ?? '', filter, resourceVersion: opts.resourceVersion ?? null,
      resourceVersionMatch: opts.resourceVersionMatch ?? null, sendInitialEvents: opts.sendInitialEvents ?? null,
      allowBookmarks: !!opts.allowWatchBookmarks,
    }, sink);
  } catch (e) {
    stop.removeEventListener('abort', end);
    if (e instanceof ApiError && e.code === 410) {
      // As over HTTP: an expired resourceVersion is an ERROR event, not a failed request.
      yield { type: 'ERROR', object: e.toStatus() } as WatchEvent<T>;
      return;
    }
    if (e instanceof ApiError) throw statusErrorFrom(e.code, e.toStatus(), request);
    throw e;
  }
  lastRevision = watch.revision;
  // As over HTTP, the watch ends after its timeoutSeconds and the client watches again.
  const timer = setTimeout(end, watchTimeoutSeconds(opts.timeoutSeconds) * 1000);
  const bookmarks = opts.allowWatchBookmarks
    ? setInterval(() => sink.send([bookmark(r, apiVersion, lastRevision)]), parts.bookmarkIntervalMs) : undefined;
  try {
    for (;;) {
      for (const ev of queue.splice(0)) {
        if (ended) break;
        const rv = ev.revision ?? Number(ev.object.metadata?.resourceVersion);
        if (rv > lastRevision) lastRevision = rv;
        // The consumer owns (and may freeze) what it gets: a copy, never the store's or another watcher's object.
        const object = ev.raw !== undefined ? JSON.parse(ev.raw) : cloneJson(ev.object);
        yield { type: ev.type, object } as WatchEvent<T>;
      }
      if (ended) return;
      await new Promise<void>((resolve) => { wake = resolve; });
    }
  } finally {
    clearTimeout(timer);
    clearInterval(bookmarks);
    stop.removeEventListener('abort', end);
    watch.cancel();
  }
}
