// PATCH: JSON patch, merge patch, strategic merge patch, and server-side apply
// (application/apply-patch+yaml), retried on write conflicts as kube-apiserver does.
import type { KubeObject } from '../../api/types.ts';
import { apiVersionOf } from '../../api/types.ts';
import { applyPatch, PatchError } from '../../api/patch/index.ts';
import { ApplyConflictError, ApplyError, serverSideApply } from '../../api/apply/index.ts';
import { ApiError, errors } from '../errors.ts';
import { decodeBody, mediaType, readBody } from '../http.ts';
import { decodeKv, storageKey } from '../registry/codec.ts';
import { rfc3339 } from '../../api/time.ts';
import { storeError } from '../registry/read.ts';
import { checkTypeMeta, createObject, writeUpdate } from '../registry/write.ts';
import { type ResourceCall, writeOptions } from './context.ts';
import { negotiate } from './negotiate.ts';
import { respondObject } from './resource.ts';
import { cloneJson } from '../../api/json-clone.ts';

const PATCH_TYPES = new Set(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']);
const MAX_ATTEMPTS = 5;

export async function handlePatch(call: ResourceCall): Promise<void> {
  const ct = mediaType(call.req.headers['content-type']);
  const format = negotiate(call.req.headers.accept);
  const raw = (await readBody(call.req)).toString('utf8');
  if (ct === 'application/apply-patch+yaml') return handleApply(call, raw, format);
  if (!PATCH_TYPES.has(ct)) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
  }
  if (raw.trim() === '') throw errors.badRequest('the body of the request was empty');
  const { info, r, parts } = call;
  const opts = writeOptions(call);
  const { root, resolver } = parts.admission.schema(r);
  const key = storageKey(r, info.namespace, info.name);
  for (let attempt = 1; ; attempt++) {
    const { kv } = await parts.store.get(key).catch(storeError);
    if (!kv) throw errors.notFound(r.group, r.plural, info.name);
    const current = decodeKv(kv);
    let patched: KubeObject;
    try {
      // Strategic merge patch needs the kind's patch metadata; custom resources have none (415).
      patched = applyPatch(ct, current, raw, r.custom ? undefined : { resolver: resolver!, root });
    } catch (e) {
      if (e instanceof PatchError) throw patchError(e as PatchError);
      throw e;
    }
    if (attempt === 1) call.requestObject = safeJson(raw);
    const wantRv = patched.metadata?.resourceVersion;
    if (wantRv && wantRv !== current.metadata!.resourceVersion) {
      throw errors.conflict(r.group, r.plural, info.name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    checkTypeMeta(r, patched);
    if (patched.metadata?.name !== info.name) throw errors.badRequest('metadata.name: Invalid value: the name of a patched object may not change');
    try {
      const result = await writeUpdate(parts, r, current, kv.modRevision, patched, info.subresource, opts);
      return respondObject(call, 200, result.object, format);
    } catch (e) {
      // Someone wrote in between: re-read and re-apply the patch, unless the patch pinned the version.
      if (e instanceof ApiError && e.reason === 'Conflict' && !wantRv && attempt < MAX_ATTEMPTS) continue;
      throw e;
    }
  }
}

/** A 422 keeps kube-apiserver's terse message; the real cause travels in details.causes. */
export function patchError(e: PatchError): ApiError {
  return new ApiError(e.code, e.reason, e.message, e.detail ? { causes: [{ reason: 'FieldValueInvalid', message: e.detail, field: '' }] } : undefined);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function handleApply(call: ResourceCall, raw: string, format: ReturnType<typeof negotiate>): Promise<void> {
  const { info, r, parts } = call;
  const q = info.query;
  if (!q.get('fieldManager')) {
    throw errors.invalid('meta.k8s.io', 'PatchOptions', '', [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }]);
  }
  const opts = { ...writeOptions(call), skipManagedFields: true };
  const forceParam = q.get('force');
  if (forceParam !== null && forceParam !== 'true' && forceParam !== 'false') throw errors.badRequest(`invalid value for force: ${forceParam}`);
  const force = forceParam === 'true';
  const body = decodeBody(Buffer.from(raw), 'application/apply-patch+yaml');
  call.requestObject = body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of an apply patch must be an object');
  const applied = body as KubeObject;
  if (!applied.apiVersion || !applied.kind) {
    throw errors.badRequest(`error decoding YAML: Object 'Kind' is missing in '${raw.slice(0, 200)}'`.replace("'Kind'", applied.kind ? "'apiVersion'" : "'Kind'"));
  }
  checkTypeMeta(r, applied);
  if (applied.metadata?.name && applied.metadata.name !== info.name) {
    throw errors.badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${info.name})`);
  }
  if (r.namespaced && applied.metadata?.namespace && applied.metadata.namespace !== info.namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const { root, resolver } = parts.admission.schema(r);
  const key = storageKey(r, info.namespace, info.name);
  for (let attempt = 1; ; attempt++) {
    const { kv } = await parts.store.get(key).catch(storeError);
    const live = kv ? decodeKv(kv) : undefined;
    let merged: KubeObject;
    try {
      merged = serverSideApply(live, cloneJson(applied), {
        manager: opts.fieldManager, force, apiVersion: apiVersionOf(r), schema: root, resolver, now: rfc3339(parts.now()),
        subresource: info.subresource || undefined, hasStatusSubresource: r.subresources.includes('status'),
      }).object;
    } catch (e) {
      if (e instanceof ApplyConflictError) throw applyConflict(e);
      if (e instanceof ApplyError) {
        const st = (e as ApplyError).toStatus() as { code: number; reason?: string; message: string };
        throw new ApiError(st.code, st.reason ?? (st.code === 400 ? 'BadRequest' : 'InternalError'), st.message);
      }
      throw e;
    }
    try {
      if (!live) {
        if (info.subresource) throw errors.notFound(r.group, r.plural, info.name);
        merged.metadata = { ...merged.metadata, name: info.name };
        delete merged.metadata.resourceVersion;
        const created = await createObject(parts, r, info.namespace, merged, opts);
        return respondObject(call, 201, created, format);
      }
      merged.metadata = { ...merged.metadata, resourceVersion: undefined };
      const result = await writeUpdate(parts, r, live, kv!.modRevision, merged, info.subresource, opts);
      return respondObject(call, 200, result.object, format);
    } catch (e) {
      if (e instanceof ApiError && (e.reason === 'Conflict' || e.reason === 'AlreadyExists') && attempt < MAX_ATTEMPTS) continue;
      throw e;
    }
  }
}

function applyConflict(e: ApplyConflictError): ApiError {
  return new ApiError(409, 'Conflict', e.message, { causes: e.causes });
}
