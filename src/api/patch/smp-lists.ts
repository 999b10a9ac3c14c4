// Strategic merge patch of lists: merging by merge key, the `$patch`
// directives inside list elements, primitive-list union/deletion, and the
// element order rules (patch order, then $setElementOrder, with server-only
// items kept near where they were).
// Semantics follow k8s.io/apimachinery/pkg/util/strategicpatch (mergeSlice,
// normalizeElementOrder); see
// https://github.com/kubernetes/design-proposals-archive/blob/main/cli/preserve-order-in-strategic-merge-patch.md
import { badRequest, goFormat, unprocessable } from './errors.ts';
import { isObject, kindOf, goTypeName, type JsonKind, type JsonObject } from './json-values.ts';
import type { SchemaCursor } from './patch-meta.ts';

export const DIRECTIVE = '$patch';

/** Merges one patch map into one original map (the caller's mergeMap). */
export type MergeMapFn = (original: JsonObject, patch: JsonObject, cursor: SchemaCursor) => JsonObject;
/** Removes directives and nulls from a value taken from the patch as-is; keep=false drops it. */
export type CleanFn = (v: unknown) => { value: unknown; keep: boolean };

export interface ListContext {
  /** The list's field name, for messages. */
  field: string;
  mergeKey: string;
  /** Schema of the list's elements. */
  items: SchemaCursor;
  mergeMap: MergeMapFn;
  clean: CleanFn;
}

export function errNoMergeKey(m: unknown, mergeKey: string): Error {
  return badRequest(`map: ${goFormat(m)} does not contain declared merge key: ${mergeKey}`);
}

export function errBadArgType(expected: string, actual: unknown): Error {
  return badRequest(`expected a ${expected}, but received a ${goTypeName(actual)}`);
}

/**
 * The kind shared by all elements of the given lists (strategicpatch.sliceElementType):
 * lists of lists are refused, mixed kinds are an error. undefined when all are empty.
 */
export function sliceElementKind(...lists: unknown[][]): JsonKind | undefined {
  let kind: JsonKind | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (kind === undefined) {
        if (k === 'array') throw unprocessable('lists of lists are not supported');
        kind = k;
      } else if (k !== kind) {
        throw badRequest(`list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  return kind;
}

/**
 * What the caller ordering by $setElementOrder should take as the live order.
 * In apimachinery the caller's view of the live list shares memory with the
 * list being merged: deleting elements shifts the survivors left and new
 * elements are appended into the freed slots, so new elements take the
 * deleted ones' places at the end. kube-apiserver's ordering (and its tests)
 * depend on that, so we reproduce it.
 */
export interface LiveOrderTrace {
  serverView?: unknown[];
}

/** Merges two lists with the 'merge' patch strategy (or deletes from a primitive list). */
export function mergeList(original: unknown[], patch: unknown[], ctx: ListContext, isDeleteList: boolean, trace?: LiveOrderTrace): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch);
  let merged: unknown[];
  let patchOrder: unknown[] = patch;
  let serverOrder: unknown[] = original;
  if (kind !== 'object') {
    if (isDeleteList) {
      // $deleteFromPrimitiveList/<field>: drop every listed value.
      return original.filter((v) => !patch.includes(v));
    }
    // A primitive list with the merge strategy is a set union.
    merged = [...new Set([...original, ...patch])];
  } else {
    if (ctx.mergeKey === '') {
      throw badRequest(`cannot merge lists without merge key for ${ctx.field}`);
    }
    const special = applySpecialElements(original, patch, ctx);
    serverOrder = special.original;
    patchOrder = special.patch;
    merged = mergeByKey(special.original, special.patch, ctx);
    // Survivors first, then as many new elements as were deleted (see LiveOrderTrace).
    if (trace && !special.replaced) trace.serverView = merged.slice(0, original.length);
  }
  const { inPatch, serverOnly } = partition(merged, patchOrder, ctx.mergeKey);
  return normalizeElementOrder(inPatch, serverOnly, patchOrder, serverOrder, ctx.mergeKey, kind);
}

/**
 * Handles list elements carrying `$patch`: `delete` removes the elements with
 * that merge key value, `replace` makes the list exactly the other elements.
 */
function applySpecialElements(original: unknown[], patch: unknown[], ctx: ListContext): { original: unknown[]; patch: unknown[]; replaced: boolean } {
  const plain: unknown[] = [];
  let replace = false;
  let kept = original;
  for (const v of patch) {
    const element = v as JsonObject;
    if (!Object.hasOwn(element, DIRECTIVE)) {
      plain.push(element);
      continue;
    }
    const directive = element[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(element, ctx.mergeKey)) throw errNoMergeKey(element, ctx.mergeKey);
      const value = element[ctx.mergeKey];
      kept = kept.filter((o) => !(isObject(o) && Object.hasOwn(o, ctx.mergeKey) && o[ctx.mergeKey] === value));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw badRequest('merging lists cannot yet be specified in the patch');
    } else {
      throw badRequest(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(element)}`);
    }
  }
  if (replace) {
    const replaced: unknown[] = [];
    for (const v of plain) {
      const c = ctx.clean(v);
      if (c.keep) replaced.push(c.value);
    }
    return { original: replaced, patch: [], replaced: true };
  }
  return { original: kept, patch: plain, replaced: false };
}

function mergeByKey(original: unknown[], patch: unknown[], ctx: ListContext): unknown[] {
  const result = original.slice();
  for (const v of patch) {
    const element = v as JsonObject;
    if (!Object.hasOwn(element, ctx.mergeKey)) throw errNoMergeKey(element, ctx.mergeKey);
    const value = element[ctx.mergeKey];
    const at = result.findIndex((o) => isObject(o) && Object.hasOwn(o, ctx.mergeKey) && o[ctx.mergeKey] === value);
    if (at >= 0) {
      result[at] = ctx.mergeMap(result[at] as JsonObject, element, ctx.items);
    } else {
      const c = ctx.clean(element);
      if (c.keep) result.push(c.value);
    }
  }
  return result;
}

/** Splits `merged` into the items present in `by` (the patch or $setElementOrder) and the server-only rest. */
export function partition(merged: unknown[], by: unknown[], mergeKey: string): { inPatch: unknown[]; serverOnly: unknown[] } {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    let found: boolean;
    if (mergeKey === '') {
      found = by.includes(v);
    } else {
      if (!isObject(v)) throw errBadArgType('map[string]interface {}', v);
      if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      found = by.some((b) => isObject(b) && Object.hasOwn(b, mergeKey) && b[mergeKey] === v[mergeKey]);
    }
    (found ? inPatch : serverOnly).push(v);
  }
  return { inPatch, serverOnly };
}

function indexIn(list: unknown[], item: unknown, mergeKey: string, kind: JsonKind | undefined): number {
  if (kind === 'object') {
    const key = isObject(item) ? item[mergeKey] : undefined;
    return list.findIndex((v) => isObject(v) && v[mergeKey] === key);
  }
  return list.indexOf(item);
}

/** Stable sort of `toSort` by position in `order`; items absent from `order` go last. */
function sortByOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: JsonKind | undefined): unknown[] {
  if (kind === 'object') {
    for (const v of [...toSort, ...order]) {
      if (!isObject(v)) throw errBadArgType('map[string]interface {}', v);
      if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    }
  }
  const position = (v: unknown) => {
    const i = indexIn(order, v, mergeKey, kind);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return toSort.map((v) => ({ v, p: position(v) })).sort((a, b) => a.p - b.p).map((e) => e.v);
}

/**
 * Orders the patch items by `patchOrder` and the server-only items by
 * `serverOrder`, then interleaves them: a server-only item goes before a patch
 * item only when both are in `serverOrder` and it came first there. So items
 * new to the list come before the server-only items that follow them, which is
 * why a strategic merge patch without $setElementOrder puts new elements first.
 */
export function normalizeElementOrder(
  inPatch: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: JsonKind | undefined,
): unknown[] {
  const right = sortByOrder(inPatch, patchOrder, mergeKey, kind);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) {
      out.push(left[i++]);
    } else if (i >= left.length) {
      out.push(right[j++]);
    } else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/**
 * Checks that the patch list's items appear in $setElementOrder in the same
 * relative order (deletions aside), as strategicpatch.validatePatchWithSetOrderList does.
 */
export function validateSetElementOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  let items = patchList;
  if (mergeKey !== '') {
    items = patchList.filter((v) => {
      if (!isObject(v)) throw errBadArgType('map[string]interface {}', v);
      return v[DIRECTIVE] !== 'delete';
    });
  }
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p];
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(item, order[s], mergeKey)) p++;
    s++;
  }
  if (p < items.length && s >= order.length) {
    throw badRequest(`The order in patch list:\n${goFormat(patchList)}\n doesn't match $setElementOrder list:\n${goFormat(order)}\n`);
  }
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isObject(left)) throw errBadArgType('map[string]interface {}', left);
  if (!isObject(right)) throw errBadArgType('map[string]interface {}', right);
  if (!Object.hasOwn(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}
