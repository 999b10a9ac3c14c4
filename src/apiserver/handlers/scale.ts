// The scale subresource (autoscaling/v1 Scale) of Deployments, ReplicaSets,
// StatefulSets and custom resources that declare one: what `kubectl scale` uses.
import type { KubeObject } from '../../api/types.ts';
import { readCustomResourceScale, writeCustomResourceReplicas } from '../../api/crd.ts';
import { labelSelectorFromMeta, labelSelectorString } from '../../api/selectors/index.ts';
import { applyPatch, PatchError } from '../../api/patch/index.ts';
import { ApiError, errors } from '../errors.ts';
import { decodeBody, mediaType, readBody } from '../http.ts';
import { decodeKv, storageKey } from '../registry/codec.ts';
import { storeError } from '../registry/read.ts';
import { writeUpdate } from '../registry/write.ts';
import { type ResourceCall, writeOptions } from './context.ts';
import { patchError } from './patch.ts';
import { scalePathsFor } from './printer-columns.ts';
import { cloneJson } from '../../api/json-clone.ts';

/** Where the built-in scalable kinds keep their replicas (a CRD declares its own paths). */
const BUILTIN_SCALE_PATHS = { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' };

function toScale(call: ResourceCall, obj: KubeObject): KubeObject {
  const paths = scalePathsFor(call);
  const m = obj.metadata!;
  const scale = readCustomResourceScale(paths ?? BUILTIN_SCALE_PATHS, obj);
  // Built-in kinds show their LabelSelector in its string form, as metav1.LabelSelectorAsSelector does.
  const selector = paths ? scale.selector : obj.spec?.selector ? labelSelectorString(labelSelectorFromMeta(obj.spec.selector)) : '';
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: scale.specReplicas ?? 0 },
    status: { replicas: scale.statusReplicas, ...(selector ? { selector } : {}) },
  };
}

export async function handleScale(call: ResourceCall): Promise<void> {
  const { info, r, parts } = call;
  const key = storageKey(r, info.namespace, info.name);
  const { kv } = await parts.store.get(key).catch(storeError);
  if (!kv) throw errors.notFound(r.group, r.plural, info.name);
  const current = decodeKv(kv);
  const currentScale = toScale(call, current);
  if (info.verb === 'get') {
    call.responseObject = currentScale;
    return sendScale(call, 200, currentScale);
  }
  let wanted: KubeObject;
  const raw = await readBody(call.req);
  if (info.verb === 'update') {
    wanted = decodeBody(raw, call.req.headers['content-type']) as KubeObject;
    if (!wanted || typeof wanted !== 'object') throw errors.badRequest('the body of the request must be a Scale object');
    if (wanted.kind && wanted.kind !== 'Scale') throw errors.badRequest(`the kind in the data (${wanted.kind}) does not match the expected kind (Scale)`);
  } else {
    const ct = mediaType(call.req.headers['content-type']);
    try {
      // A Scale has no lists, so a strategic merge patch behaves as a merge patch.
      wanted = applyPatch(ct === 'application/strategic-merge-patch+json' ? 'application/merge-patch+json' : ct, currentScale, raw.toString('utf8'), undefined);
    } catch (e) {
      if (e instanceof PatchError) throw patchError(e as PatchError);
      throw e;
    }
  }
  call.requestObject = wanted;
  const rv = wanted.metadata?.resourceVersion;
  if (rv && rv !== current.metadata!.resourceVersion) {
    throw errors.conflict(r.group, r.plural, info.name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  const replicas = wanted.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('autoscaling', 'Scale', info.name, [{ reason: 'FieldValueInvalid', field: 'spec.replicas',
      message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` }]);
  }
  const next = cloneJson(current);
  writeCustomResourceReplicas(scalePathsFor(call) ?? BUILTIN_SCALE_PATHS, next, replicas);
  const result = await writeUpdate(parts, r, current, kv.modRevision, next, '', writeOptions(call));
  sendScale(call, 200, toScale(call, result.object));
}

function sendScale(call: ResourceCall, code: number, scale: KubeObject): void {
  const text = JSON.stringify(scale);
  call.res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  call.res.end(text);
}
