// Streams watch events as newline-delimited JSON over a chunked response, the
// way kube-apiserver does for Accept: application/json (and Table for kubectl get -w).
import type { KubeObject } from '../../api/types.ts';
import { apiVersionOf } from '../../api/types.ts';
import { toTable } from '../../api/tables/index.ts';
import { ApiError } from '../errors.ts';
import { buildFilter } from '../registry/filter.ts';
import { bookmark, type KubeWatchEvent, startWatch, watchTimeoutSeconds } from '../registry/watch.ts';
import { intParam, type ResourceCall } from './context.ts';
import { contentTypeOf, type OutputFormat, partialMetadata } from './negotiate.ts';
import { crdPrinterColumnsFor } from './printer-columns.ts';
import { includeObject } from './resource.ts';

/** A watcher this far behind (bytes not yet taken by the socket) is closed; it will relist. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export async function handleWatch(call: ResourceCall, format: OutputFormat): Promise<void> {
  const { info, r, parts, res, req } = call;
  const q = info.query;
  const filter = buildFilter(r, q.get('labelSelector'), q.get('fieldSelector'));
  const timeoutSeconds = watchTimeoutSeconds(intParam(q, 'timeoutSeconds'));
  const allowBookmarks = q.get('allowWatchBookmarks') === 'true';
  const sie = q.get('sendInitialEvents');
  const apiVersion = apiVersionOf(r);
  const printerColumns = format.kind === 'table' ? crdPrinterColumnsFor(call) : undefined;
  const include = format.kind === 'table' ? includeObject(call) : 'Metadata';
  let lastRevision = 0;
  let closed = false;
  let headersSent = false;

  const encode = (ev: KubeWatchEvent): string => {
    // An object as stored goes out as stored: no parse and stringify per watcher.
    if (ev.raw !== undefined && format.kind !== 'table' && format.kind !== 'partial') return `{"type":"${ev.type}","object":${ev.raw}}\n`;
    let object: KubeObject = ev.object;
    if (ev.type !== 'BOOKMARK' && ev.type !== 'ERROR') {
      if (format.kind === 'table') {
        object = toTable(r, [ev.object], { includeObject: include, printerColumns }) as KubeObject;
        object.metadata = { resourceVersion: ev.object.metadata?.resourceVersion };
      } else if (format.kind === 'partial') object = partialMetadata(ev.object, format.version);
    }
    return `{"type":"${ev.type}","object":${JSON.stringify(object)}}\n`;
  };
  const sendHeaders = () => {
    if (headersSent) return;
    headersSent = true;
    res.writeHead(200, { 'Content-Type': contentTypeOf(format, false), 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
  };
  let watch: { cancel(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  const finish = (endResponse = true) => {
    if (closed) return;
    closed = true;
    watch?.cancel();
    clearTimeout(timer);
    clearInterval(bookmarkTimer);
    parts.shutdown.removeEventListener('abort', onAbort);
    parts.onWatch?.(r.plural, -1);
    if (endResponse && !res.writableEnded) res.end();
  };
  const send = (events: KubeWatchEvent[]) => {
    if (closed) return;
    sendHeaders();
    let chunk = '';
    for (const ev of events) {
      chunk += encode(ev);
      const rv = ev.revision ?? Number(ev.object.metadata?.resourceVersion);
      if (rv > lastRevision) lastRevision = rv;
    }
    res.write(chunk);
    if (res.writableLength > MAX_BUFFERED_BYTES) finish();
  };

  parts.onWatch?.(r.plural, +1);
  req.on('close', () => finish());
  const onAbort = () => finish();
  parts.shutdown.addEventListener('abort', onAbort);
  try {
    const w = await startWatch(parts.store, r, apiVersion, {
      namespace: info.namespace, filter, resourceVersion: q.get('resourceVersion'), resourceVersionMatch: q.get('resourceVersionMatch'),
      sendInitialEvents: sie === null ? null : sie === 'true', allowBookmarks,
    }, { send, end: () => finish() });
    watch = w;
    lastRevision = Math.max(lastRevision, w.revision);
    if (closed) w.cancel();
  } catch (e) {
    if (e instanceof ApiError && e.code === 410) {
      // Watches report an expired resourceVersion as an ERROR event, as kube-apiserver does.
      send([{ type: 'ERROR', object: e.toStatus() as KubeObject }]);
      finish();
      return;
    }
    finish(headersSent);
    throw e;
  }
  sendHeaders();
  timer = setTimeout(() => finish(), timeoutSeconds * 1000);
  if (allowBookmarks) {
    bookmarkTimer = setInterval(() => {
      if (lastRevision > 0) send([bookmark(r, apiVersion, lastRevision)]);
    }, parts.bookmarkIntervalMs);
  }
}
