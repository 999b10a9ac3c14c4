// JSON merge patch (RFC 7386, Content-Type application/merge-patch+json):
// objects merge key by key, `null` deletes a key, anything else (lists
// included) replaces. https://www.rfc-editor.org/rfc/rfc7386
import { isObject, put, type JsonObject } from './json-values.ts';
import { cloneJson } from '../json-clone.ts';

/** Applies a merge patch object to a copy of `original`; neither argument is modified. */
export function mergePatch(original: JsonObject, patch: JsonObject): JsonObject {
  return mergeObjects(cloneJson(original), patch);
}

function mergeObjects(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete target[key];
    } else if (isObject(value) && isObject(target[key])) {
      put(target, key, mergeObjects(target[key] as JsonObject, value));
    } else {
      put(target, key, withoutNulls(value));
    }
  }
  return target;
}

/** A value taken whole from the patch: its object members set to null mean "absent". */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === null ? null : withoutNulls(v)));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== null) put(out, k, withoutNulls(v));
    }
    return out;
  }
  return value;
}
