// Kubernetes' strategic merge patch (Content-Type application/strategic-merge-patch+json):
// a JSON merge patch whose lists merge by a key when the schema says so, plus
// the directives `$patch`, `$retainKeys`, `$setElementOrder/<list>` and
// `$deleteFromPrimitiveList/<list>`.
// https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md
// Semantics follow k8s.io/apimachinery/pkg/util/strategicpatch with
// IgnoreUnmatchedNulls and MergeParallelList, as kube-apiserver applies it.
// kube-apiserver then decodes the result into Go structs, which drops
// leftover directives and nulls; we store JSON as-is, so every value taken
// whole from the patch is cleaned here instead.
import { badRequest, goFormat } from './errors.ts';
import { isObject, kindOf, put, type JsonObject } from './json-values.ts';
import { lookupField, type SchemaCursor } from './patch-meta.ts';
import {
  DIRECTIVE,
  errBadArgType,
  mergeList,
  normalizeElementOrder,
  partition,
  sliceElementKind,
  validateSetElementOrder,
  type ListContext,
  type LiveOrderTrace,
} from './smp-lists.ts';
import { cloneJson } from '../json-clone.ts';

const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';

/** Applies `patch` to a copy of `original`; neither argument is modified. */
export function strategicMergePatch(original: JsonObject, patch: JsonObject, cursor: SchemaCursor): JsonObject {
  return mergeMap(cloneJson(original), cloneJson(patch), cursor);
}

function isDirectiveKey(key: string): boolean {
  return key === DIRECTIVE || key === RETAIN_KEYS ||
    key.startsWith(SET_ELEMENT_ORDER + '/') || key.startsWith(DELETE_FROM_PRIMITIVE_LIST + '/');
}

/**
 * Prepares a value taken from the patch as-is (a new field, a replaced value,
 * an appended list element): drops maps and list elements that carry `$patch`
 * (strategicpatch.removeDirectives), other directive keys, and null fields
 * (strategicpatch.discardNullValuesFromPatch).
 */
function clean(v: unknown): { value: unknown; keep: boolean } {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const e of v) {
      const c = clean(e);
      if (c.keep) out.push(c.value);
    }
    return { value: out, keep: true };
  }
  if (isObject(v)) {
    if (Object.hasOwn(v, DIRECTIVE)) return { value: undefined, keep: false };
    const out: JsonObject = {};
    for (const [k, e] of Object.entries(v)) {
      if (e === null || isDirectiveKey(k)) continue;
      const c = clean(e);
      if (c.keep) put(out, k, c.value);
    }
    return { value: out, keep: true };
  }
  return { value: v, keep: true };
}

function setCleaned(target: JsonObject, key: string, v: unknown): void {
  const c = clean(v);
  if (c.keep) put(target, key, c.value);
  else delete target[key];
}

/** The part of a directive key after "<prefix>/" (strategicpatch.extractKey). */
function extractKey(key: string, prefix: string, error: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) throw badRequest(error);
  return key.slice(slash + 1);
}

function mergeMap(original: JsonObject, patch: JsonObject, cursor: SchemaCursor): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      // The map becomes exactly the patch's other fields.
      delete patch[DIRECTIVE];
      return clean(patch).value as JsonObject;
    }
    if (directive === 'delete') return {};
    throw badRequest(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(patch)}`);
  }

  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, cursor);

  for (const patchKey of Object.keys(patch)) {
    const patchValue = patch[patchKey];
    let key = patchKey;
    let isDeleteList = false;
    if (patchKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = extractKey(patchKey, DELETE_FROM_PRIMITIVE_LIST, 'invalid patch format of primitive list');
      isDeleteList = true;
    }

    if (patchValue === null) {
      delete original[key];
      continue;
    }
    if (!Object.hasOwn(original, key) || kindOf(original[key]) !== kindOf(patchValue)) {
      // Nothing to merge with: take the patch's value (a deletion list has nothing to delete from).
      if (!isDeleteList) setCleaned(original, key, patchValue);
      continue;
    }

    const current = original[key];
    if (isObject(current)) {
      const meta = lookupField(cursor, key);
      if (meta.strategy === 'replace') setCleaned(original, key, patchValue);
      else put(original, key, mergeMap(current, patchValue as JsonObject, meta.value));
    } else if (Array.isArray(current)) {
      put(original, key, mergeListField(current, patchValue as unknown[], key, cursor, isDeleteList));
    } else {
      put(original, key, patchValue);
    }
  }
  return original;
}

function listContext(field: string, cursor: SchemaCursor): { ctx: ListContext; strategy: string } {
  const meta = lookupField(cursor, field);
  return {
    strategy: meta.strategy,
    ctx: { field, mergeKey: meta.mergeKey, items: meta.items, mergeMap, clean },
  };
}

/** strategicpatch.mergeSliceHandler: lists without the merge strategy are replaced. */
function mergeListField(original: unknown[], patch: unknown[], field: string, cursor: SchemaCursor, isDeleteList: boolean): unknown[] {
  const { ctx, strategy } = listContext(field, cursor);
  if (strategy === 'merge' || isDeleteList) return mergeList(original, patch, ctx, isDeleteList);
  return clean(patch).value as unknown[];
}

/**
 * `$retainKeys: [...]` lists the fields the map keeps: all others are cleared
 * from the original (used for unions such as volume sources and a
 * Deployment's strategy). Every field the patch sets must be listed.
 */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retainKeys = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retainKeys)) throw badRequest('invalid patch format of retainKeys');
  const keep = new Set(retainKeys);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw badRequest('invalid patch format of retainKeys');
  }
  for (const k of Object.keys(original)) {
    if (!keep.has(k)) delete original[k];
  }
}

/**
 * `$setElementOrder/<list>: [...]` (sent by kubectl apply) gives the final
 * order of the list's items the client knows about; the list's patch is
 * merged together with it here and removed from the patch. Items only the
 * server has keep their place relative to their old neighbours.
 */
function applySetElementOrder(original: JsonObject, patch: JsonObject, cursor: SchemaCursor): void {
  for (const directiveKey of Object.keys(patch)) {
    if (!directiveKey.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[directiveKey];
    delete patch[directiveKey];
    if (!Array.isArray(order)) throw errBadArgType('[]interface {}', order);
    const key = extractKey(directiveKey, SET_ELEMENT_ORDER, 'invalid patch format of setElementOrder list');

    const foundOriginal = Object.hasOwn(original, key);
    const foundPatch = Object.hasOwn(patch, key);
    const originalList = original[key];
    const patchList = patch[key];
    if (foundOriginal && !Array.isArray(originalList)) throw errBadArgType('[]interface {}', originalList);
    if (foundPatch && !Array.isArray(patchList)) throw errBadArgType('[]interface {}', patchList);
    const originalItems = (originalList ?? []) as unknown[];
    const patchItems = (patchList ?? []) as unknown[];

    const { ctx, strategy } = listContext(key, cursor);
    validateSetElementOrder(patchItems, order, ctx.mergeKey);

    let merged: unknown[];
    const trace: LiveOrderTrace = {};
    if (foundOriginal && foundPatch) {
      merged = strategy === 'merge' ? mergeList(originalItems, patchItems, ctx, false, trace) : clean(patchItems).value as unknown[];
    } else if (foundPatch) {
      merged = clean(patchItems).value as unknown[];
    } else if (foundOriginal) {
      merged = originalItems;
    } else {
      continue;
    }

    const kind = sliceElementKind(originalItems, patchItems);
    if (kind !== undefined && !(kind === 'object' && ctx.mergeKey === '')) {
      const { inPatch, serverOnly } = partition(merged, order, ctx.mergeKey);
      merged = normalizeElementOrder(inPatch, serverOnly, order, trace.serverView ?? originalItems, ctx.mergeKey, kind);
    }
    put(original, key, merged);
    delete patch[key];
  }
}
