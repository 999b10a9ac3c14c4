// The REST verbs on /api and /apis resources: dispatch by verb and subresource,
// decode the request, call the registry, encode the response in the format asked for.
import type { KubeObject } from '../../api/types.ts';
import { apiVersionOf } from '../../api/types.ts';
import { toTable } from '../../api/tables/index.ts';
import { errors } from '../errors.ts';
import { decodeBody, readBody, sendJson, sendRaw } from '../http.ts';
import { deleteObject, type DeleteOptions } from '../registry/delete.ts';
import { buildFilter } from '../registry/filter.ts';
import { getObject, listObjects } from '../registry/read.ts';
import { createObject, updateObject } from '../registry/write.ts';
import { stringify as toYaml } from 'yaml';
import { intParam, type ResourceCall, writeOptions } from './context.ts';
import { contentTypeOf, negotiate, type OutputFormat, partialMetadata } from './negotiate.ts';
import { handlePatch } from './patch.ts';
import { handleScale } from './scale.ts';
import { handleBinding } from './binding.ts';
import { handleEviction } from './eviction.ts';
import { handleTokenRequest } from './token-request.ts';
import { handleWatch } from './watch-stream.ts';
import { handleSelfSubjectReview } from '../authz/self-subject-review.ts';
import { crdPrinterColumnsFor } from './printer-columns.ts';

/** Subresources served here, with the verbs each takes. */
const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'update', 'patch'],
  scale: ['get', 'update', 'patch'],
  binding: ['create'],
  eviction: ['create'],
  finalize: ['update'],
  approval: ['get', 'update', 'patch'],
  token: ['create'],
};

export async function handleResource(call: ResourceCall): Promise<void> {
  const { info, r } = call;
  const sub = info.subresource;
  if (sub) {
    if (!r.subresources.includes(sub)) throw errors.notFoundPath();
    const verbs = SUBRESOURCE_VERBS[sub];
    if (!verbs) throw errors.notFoundPath(); // streaming subresources come with the node agent
    if (!verbs.includes(info.verb)) throw errors.methodNotAllowed(info.verb, `${r.plural}/${sub}`);
    if (sub === 'scale') return handleScale(call);
    if (sub === 'binding') return handleBinding(call);
    if (sub === 'eviction') return handleEviction(call);
    if (sub === 'token') return handleTokenRequest(call);
  } else if (r.plural === 'bindings' && r.group === '' && info.verb === 'create') {
    return handleBinding(call);
  } else if (r.plural === 'selfsubjectreviews' && r.group === 'authentication.k8s.io' && info.verb === 'create') {
    return handleSelfSubjectReview(call);
  } else if (!r.verbs.includes(info.verb)) {
    throw errors.methodNotAllowed(info.verb, r.plural);
  }
  if (r.namespaced && !info.namespace && ['create', 'get', 'update', 'patch', 'delete'].includes(info.verb)) {
    throw errors.notFoundPath();
  }
  if (!r.namespaced && info.namespace) throw errors.notFoundPath();
  switch (info.verb) {
    case 'get': return handleGet(call);
    case 'list': return handleList(call);
    case 'watch': return handleWatch(call, negotiate(call.req.headers.accept));
    case 'create': return handleCreate(call);
    case 'update': return handleUpdate(call);
    case 'patch': return handlePatch(call);
    case 'delete': return handleDelete(call);
    case 'deletecollection': return handleDeleteCollection(call);
    default: throw errors.methodNotAllowed(info.verb, r.plural);
  }
}

/** Writes one object in the negotiated format. */
export function respondObject(call: ResourceCall, code: number, obj: KubeObject, format?: OutputFormat): void {
  const f = format ?? negotiate(call.req.headers.accept);
  call.responseObject = obj;
  if (f.kind === 'table') {
    const table = toTable(call.r, [obj], { includeObject: includeObject(call), printerColumns: crdPrinterColumnsFor(call) }) as KubeObject;
    table.metadata = { resourceVersion: obj.metadata?.resourceVersion };
    return sendJson(call.res, code, table, contentTypeOf(f, false));
  }
  if (f.kind === 'partial') return sendJson(call.res, code, partialMetadata(obj, f.version), contentTypeOf(f, false));
  if (f.kind === 'yaml') return sendRaw(call.res, code, toYaml(obj), 'application/yaml');
  sendJson(call.res, code, obj);
}

export function includeObject(call: ResourceCall): 'None' | 'Metadata' | 'Object' {
  const v = call.info.query.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object') throw errors.badRequest(`includeObject: unsupported value "${v}"`);
  return v;
}

async function handleGet(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const format = negotiate(call.req.headers.accept);
  const rv = info.query.get('resourceVersion');
  const revision = rv && rv !== '0' ? Number(rv) : 0;
  const obj = await getObject(parts.store, r, info.namespace, info.name, Number.isInteger(revision) ? revision : 0);
  respondObject(call, 200, obj, format);
}

async function handleList(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const q = info.query;
  const format = negotiate(call.req.headers.accept);
  const filter = buildFilter(r, q.get('labelSelector'), q.get('fieldSelector'));
  const limit = intParam(q, 'limit') ?? 0;
  const page = await listObjects(parts.store, r, {
    namespace: info.namespace, filter, limit: limit > 0 ? limit : 0,
    continueToken: q.get('continue') || null, resourceVersion: q.get('resourceVersion'), resourceVersionMatch: q.get('resourceVersionMatch'),
  });
  const listMeta: Record<string, unknown> = { resourceVersion: String(page.resourceVersion) };
  if (page.continueToken) listMeta.continue = page.continueToken;
  if (page.remainingItemCount !== undefined) listMeta.remainingItemCount = page.remainingItemCount;
  if (format.kind === 'table' || format.kind === 'partial' || format.kind === 'yaml') {
    const items = page.parsed ?? page.items.map((s) => JSON.parse(s) as KubeObject);
    if (format.kind === 'table') {
      const table = toTable(r, items, { includeObject: includeObject(call), printerColumns: crdPrinterColumnsFor(call) }) as KubeObject;
      table.metadata = listMeta;
      return sendJson(call.res, 200, table, contentTypeOf(format, true));
    }
    if (format.kind === 'partial') {
      return sendJson(call.res, 200, { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${format.version}`, metadata: listMeta,
        items: items.map((o) => partialMetadata(o, format.version)) }, contentTypeOf(format, true));
    }
    return sendRaw(call.res, 200, toYaml({ apiVersion: apiVersionOf(r), kind: r.listKind, metadata: listMeta, items }), 'application/yaml');
  }
  // Plain JSON lists are assembled from the stored JSON text without re-encoding each item.
  const head = `{"kind":${JSON.stringify(r.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(r))},"metadata":${JSON.stringify(listMeta)},"items":[`;
  await streamList(call, head, page.items);
}

/** Lists above this size are streamed in chunks rather than built as one string. */
const LIST_CHUNK_BYTES = 1 << 20;

/**
 * Writes a JSON list as a chunked response, a megabyte at a time, waiting for the socket to
 * drain in between: a LIST of 50,000 pods never becomes one 100 MB string, and encryption of
 * one chunk overlaps with the client reading the previous one.
 */
async function streamList(call: ResourceCall, head: string, items: string[]): Promise<void> {
  const res = call.res;
  let size = head.length;
  for (const it of items) size += it.length + 1;
  if (size < LIST_CHUNK_BYTES) return sendRaw(res, 200, `${head}${items.join(',')}]}`, 'application/json');
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  let chunk = head;
  for (let i = 0; i < items.length; i++) {
    chunk += i === 0 ? items[i] : `,${items[i]}`;
    if (chunk.length >= LIST_CHUNK_BYTES) {
      if (!res.write(chunk)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
      if (res.destroyed) return;
      chunk = '';
    }
  }
  res.end(`${chunk}]}`);
}

async function readObjectBody(call: ResourceCall): Promise<unknown> {
  const body = decodeBody(await readBody(call.req), call.req.headers['content-type']);
  call.requestObject = body;
  return body;
}

async function handleCreate(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const format = negotiate(call.req.headers.accept);
  const body = await readObjectBody(call);
  const obj = await createObject(parts, r, info.namespace, body, writeOptions(call));
  respondObject(call, 201, obj, format);
}

async function handleUpdate(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const format = negotiate(call.req.headers.accept);
  const body = await readObjectBody(call);
  const allowCreate = r.group === 'coordination.k8s.io' || (r.group === '' && (r.kind === 'Endpoints' || r.kind === 'Event'));
  const subresource = info.subresource === 'finalize' ? '' : info.subresource;
  const result = await updateObject(parts, r, info.namespace, info.name, body, subresource, writeOptions(call), allowCreate);
  respondObject(call, result.created ? 201 : 200, result.object, format);
}

export async function deleteOptionsOf(call: ResourceCall): Promise<DeleteOptions> {
  const q = call.info.query;
  let body: Record<string, unknown> = {};
  const raw = await readBody(call.req);
  if (raw.length > 0 && raw.toString().trim() !== '') {
    const decoded = decodeBody(raw, call.req.headers['content-type'] ?? 'application/json');
    if (decoded && typeof decoded === 'object') body = decoded as Record<string, unknown>;
  }
  const dryRun = [...q.getAll('dryRun'), ...((body.dryRun as string[] | undefined) ?? [])];
  for (const d of dryRun) if (d !== 'All') throw errors.badRequest(`Invalid dry run value: ${d}`);
  const grace = intParam(q, 'gracePeriodSeconds') ?? (typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
  const orphanQ = q.get('orphanDependents');
  return {
    gracePeriodSeconds: grace,
    propagationPolicy: q.get('propagationPolicy') ?? (body.propagationPolicy as string | undefined),
    orphanDependents: orphanQ !== null ? orphanQ === 'true' : (body.orphanDependents as boolean | undefined),
    preconditions: body.preconditions as DeleteOptions['preconditions'],
    dryRun: dryRun.length > 0,
  };
}

function successStatus(call: ResourceCall, obj: KubeObject): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
    details: { name: obj.metadata?.name, group: call.r.group || undefined, kind: call.r.plural, uid: obj.metadata?.uid } };
}

async function handleDelete(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const format = negotiate(call.req.headers.accept);
  const opts = await deleteOptionsOf(call);
  const result = await deleteObject(parts, r, info.namespace, info.name, opts);
  if (!result.deleted) return respondObject(call, opts.propagationPolicy === 'Foreground' ? 202 : 200, result.object, format);
  // Pods return the deleted object as kube-apiserver does for them; other kinds a Status.
  if (r.group === '' && r.kind === 'Pod') return respondObject(call, 200, result.object, format);
  sendJson(call.res, 200, successStatus(call, result.object));
}

async function handleDeleteCollection(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const q = info.query;
  const filter = buildFilter(r, q.get('labelSelector'), q.get('fieldSelector'));
  const opts = await deleteOptionsOf(call);
  const page = await listObjects(parts.store, r, { namespace: info.namespace, filter, limit: 0, continueToken: null,
    resourceVersion: null, resourceVersionMatch: null });
  const items = page.parsed ?? page.items.map((s) => JSON.parse(s) as KubeObject);
  const out: KubeObject[] = [];
  for (const item of items) {
    try {
      const res = await deleteObject(parts, r, item.metadata?.namespace ?? '', item.metadata!.name!, { ...opts, preconditions: undefined });
      out.push(res.object);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
  sendJson(call.res, 200, { kind: r.listKind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(page.resourceVersion) }, items: out });
}
