// PATCH bodies: picks the patch flavour from the Content-Type and applies it
// to a copy of the stored object, failing the way kube-apiserver does.
// https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/
// Server-side apply (application/apply-patch+yaml) is not handled here.
import type { KubeObject } from '../types.ts';
import type { Schema, SchemaResolver } from '../schema/types.ts';
import { badRequest, goJsonType, parseJsonBody, unsupportedMediaType } from './errors.ts';
import { isObject, type JsonObject } from './json-values.ts';
import { decodeJsonPatch, jsonPatch } from './json-patch.ts';
import { mergePatch } from './merge-patch.ts';
import { strategicMergePatch } from './strategic-merge-patch.ts';
import { cloneJson } from '../json-clone.ts';

export { PatchError, type PatchErrorCode, type PatchErrorReason } from './errors.ts';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** What kube-apiserver accepts for PATCH of a built-in resource, in its order. */
export const BUILTIN_PATCH_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
/** What it accepts for a custom resource: no strategic merge patch (no patch metadata). */
export const CUSTOM_RESOURCE_PATCH_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];

/** The schema of the object's kind; undefined for a custom resource. */
export type PatchSchema = { resolver: SchemaResolver; root: Schema | undefined } | undefined;

/** The media type of a Content-Type header, without parameters such as "; charset=utf-8". */
export function patchMediaType(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon > 0 ? contentType.slice(0, semicolon) : contentType).trim();
}

/**
 * Applies a PATCH body to `original` (never modified) and returns the patched
 * object. Throws PatchError: 400 for a malformed patch, 415 for a Content-Type
 * the resource does not accept (strategic merge patch needs `schema`, which
 * custom resources lack), 422 for a patch that does not apply (e.g. a failed
 * JSON patch `test`), 413 for a JSON patch of over 10000 operations.
 */
export function applyPatch(contentType: string, original: KubeObject, patchBody: string, schema: PatchSchema): KubeObject {
  const mediaType = patchMediaType(contentType);
  const accepted = schema ? BUILTIN_PATCH_TYPES : CUSTOM_RESOURCE_PATCH_TYPES;
  switch (mediaType) {
    case JSON_PATCH: {
      const ops = decodeJsonPatch(parseJsonBody(patchBody, 'error decoding patch: '));
      return jsonPatch(original as JsonObject, ops) as KubeObject;
    }
    case MERGE_PATCH: {
      const patch = parseJsonBody(patchBody, 'error decoding patch: ');
      // A null body decodes to no map at all: evanphx's ErrBadJSONPatch.
      if (patch === null) throw badRequest('Invalid JSON Patch');
      if (!isObject(patch)) throw badRequest(`error decoding patch: ${cannotUnmarshalIntoMap(patch)}`);
      return mergePatch(original as JsonObject, patch) as KubeObject;
    }
    case STRATEGIC_MERGE_PATCH: {
      if (!schema) throw unsupportedMediaType(accepted);
      const patch = parseJsonBody(patchBody, '');
      if (patch === null) return cloneJson(original);
      if (!isObject(patch)) throw badRequest(cannotUnmarshalIntoMap(patch));
      const root = schema.root ? schema.resolver.resolve(schema.root) : undefined;
      return strategicMergePatch(original as JsonObject, patch, { resolver: schema.resolver, schema: root }) as KubeObject;
    }
    default:
      throw unsupportedMediaType(accepted);
  }
}

function cannotUnmarshalIntoMap(v: unknown): string {
  return `json: cannot unmarshal ${goJsonType(v)} into Go value of type map[string]interface {}`;
}
