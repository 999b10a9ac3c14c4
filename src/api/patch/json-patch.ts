// JSON patch (RFC 6902, Content-Type application/json-patch+json) as
// kube-apiserver applies it: with gopkg.in/evanphx/json-patch.v4, whose rules
// differ from a strict RFC reading in ways clients rely on:
//  - `replace` of a missing object key adds it; `remove` of one is an error;
//  - negative array indices count from the end;
//  - `test` of a missing or null value passes when the expected value is null;
//  - a path not starting with "/" has its first segment ignored.
// Paths are resolved here (to word errors like kube-apiserver); the edits
// themselves are made with fast-json-patch.
// https://www.rfc-editor.org/rfc/rfc6902
import jsonpatch from 'fast-json-patch';
import { PatchError, badRequest, goJsonType, unprocessable } from './errors.ts';
import { deepEqual, isObject, type JsonObject } from './json-values.ts';
import { cloneJson } from '../json-clone.ts';

/** kube-apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

interface Op {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/**
 * Checks the decoded body has the shape kube-apiserver's strict decode into
 * []jsonPatchOp{op, path, from string; value any} accepts.
 */
export function decodeJsonPatch(body: unknown): Op[] {
  if (body === null) return [];
  if (!Array.isArray(body)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${goJsonType(body)} into Go value of type []handlers.jsonPatchOp`);
  }
  const ops = body.map((element): Op => {
    if (element === null) return {};
    if (!isObject(element)) {
      throw badRequest(`error decoding patch: json: cannot unmarshal ${goJsonType(element)} into Go value of type handlers.jsonPatchOp`);
    }
    for (const field of ['op', 'path', 'from'] as const) {
      const v = element[field];
      if (v !== undefined && v !== null && typeof v !== 'string') {
        throw badRequest(`error decoding patch: json: cannot unmarshal ${goJsonType(v)} into Go struct field jsonPatchOp.${field} of type string`);
      }
    }
    return element;
  });
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(413, 'RequestEntityTooLarge',
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  }
  return ops;
}

/** Applies decoded operations to a copy of `original`; a failing operation throws a 422. */
export function jsonPatch(original: JsonObject, ops: Op[]): JsonObject {
  const doc = { root: cloneJson(original) as unknown };
  for (const op of ops) {
    const kind = typeof op.op === 'string' ? op.op : 'unknown';
    switch (kind) {
      case 'add': add(doc, op); break;
      case 'remove': remove(doc, op); break;
      case 'replace': replace(doc, op); break;
      case 'move': move(doc, op); break;
      case 'copy': copy(doc, op); break;
      case 'test': test(doc, op); break;
      default: throw unprocessable(`Unexpected kind: ${kind}`);
    }
  }
  if (!isObject(doc.root)) throw unprocessable('the patched document is not an object');
  return doc.root;
}

interface Doc { root: unknown }

/** A container (object or array) and the decoded last token of a path within it. */
interface Location {
  container: JsonObject | unknown[];
  /** The container's own pointer, parts already decoded. */
  parents: string[];
  key: string;
}

function decodeToken(t: string): string {
  return t.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointer(tokens: string[]): string {
  return tokens.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** strconv.Atoi: an optional sign and decimal digits. */
function atoi(key: string): number | Error {
  if (!/^[+-]?\d+$/.test(key)) return new Error(`strconv.Atoi: parsing "${key}": invalid syntax`);
  return Number.parseInt(key, 10);
}

function invalidIndex(idx: number): Error {
  return new Error(`Unable to access invalid index: ${idx}: invalid index referenced`);
}

/** An existing array index, negative ones counting from the end. */
function arrayIndex(list: unknown[], key: string): number | Error {
  const idx = atoi(key);
  if (idx instanceof Error) return idx;
  if (idx >= list.length || idx < -list.length) return invalidIndex(idx);
  return idx < 0 ? idx + list.length : idx;
}

/** Finds the parent of the path's last token (evanphx findObject); undefined when it does not exist. */
function locate(doc: Doc, path: string): Location | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  const parts = split.slice(1, -1).map(decodeToken);
  let current: unknown = doc.root;
  const parents: string[] = [];
  for (const part of parts) {
    let next: unknown;
    if (Array.isArray(current)) {
      const idx = arrayIndex(current, part);
      if (idx instanceof Error) return undefined;
      next = current[idx];
      parents.push(String(idx));
    } else if (isObject(current)) {
      next = Object.hasOwn(current, part) ? current[part] : undefined;
      parents.push(part);
    }
    if (!Array.isArray(next) && !isObject(next)) return undefined;
    current = next;
  }
  return { container: current as JsonObject | unknown[], parents, key: decodeToken(split[split.length - 1]) };
}

/** Reads the value at a location: undefined when an object lacks the key; an Error for a bad array index. */
function get(loc: Location): unknown {
  if (Array.isArray(loc.container)) {
    const idx = arrayIndex(loc.container, loc.key);
    return idx instanceof Error ? idx : loc.container[idx];
  }
  return Object.hasOwn(loc.container, loc.key) ? loc.container[loc.key] : undefined;
}

function pathOf(op: Op): string | undefined {
  return typeof op.path === 'string' ? op.path : undefined;
}

function fromOf(op: Op): string | undefined {
  return typeof op.from === 'string' ? op.from : undefined;
}

function valueOf(op: Op): unknown {
  return op.value === undefined ? null : op.value;
}

/** Applies one already-validated edit with fast-json-patch. */
function edit(doc: Doc, operation: Parameters<typeof jsonpatch.applyOperation>[1]): void {
  try {
    doc.root = jsonpatch.applyOperation(doc.root, operation, false, true, true).newDocument;
  } catch (err) {
    throw unprocessable(`${operation.op} operation does not apply: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Inserts into a location (evanphx container.add); returns an Error when the index is bad. */
function insert(doc: Doc, loc: Location, value: unknown): Error | undefined {
  let key = loc.key;
  if (Array.isArray(loc.container) && key !== '-') {
    const idx = atoi(key);
    if (idx instanceof Error) return new Error(`value was not a proper array index: '${key}': ${idx.message}`);
    const size = loc.container.length + 1;
    if (idx >= size || idx < -size) return invalidIndex(idx);
    key = String(idx < 0 ? idx + size : idx);
  }
  edit(doc, { op: 'add', path: pointer([...loc.parents, key]), value });
  return undefined;
}

/** Removes at a location (evanphx container.remove); returns an Error when nothing is there. */
function removeAt(doc: Doc, loc: Location): Error | undefined {
  let key = loc.key;
  if (Array.isArray(loc.container)) {
    const idx = arrayIndex(loc.container, key);
    if (idx instanceof Error) return idx;
    key = String(idx);
  } else if (!Object.hasOwn(loc.container, key)) {
    return new Error(`Unable to remove nonexistent key: ${key}: missing value`);
  }
  edit(doc, { op: 'remove', path: pointer([...loc.parents, key]) });
  return undefined;
}

function add(doc: Doc, op: Op): void {
  const path = pathOf(op);
  if (path === undefined) throw unprocessable('add operation failed to decode path: missing value');
  const loc = locate(doc, path);
  if (!loc) throw unprocessable(`add operation does not apply: doc is missing path: "${path}": missing value`);
  const err = insert(doc, loc, valueOf(op));
  if (err) throw unprocessable(`error in add for path: '${path}': ${err.message}`);
}

function remove(doc: Doc, op: Op): void {
  const path = pathOf(op);
  if (path === undefined) throw unprocessable('remove operation failed to decode path: missing value');
  const loc = locate(doc, path);
  if (!loc) throw unprocessable(`remove operation does not apply: doc is missing path: "${path}": missing value`);
  const err = removeAt(doc, loc);
  if (err) throw unprocessable(`error in remove for path: '${path}': ${err.message}`);
}

function replace(doc: Doc, op: Op): void {
  const path = pathOf(op);
  if (path === undefined) throw unprocessable('replace operation failed to decode path: operation missing path field: missing value');
  const value = valueOf(op);
  if (path === '') {
    if (!isObject(value)) throw unprocessable('replace operation value must be object or array');
    doc.root = value;
    return;
  }
  const loc = locate(doc, path);
  if (!loc) throw unprocessable(`replace operation does not apply: doc is missing path: ${path}: missing value`);
  let key = loc.key;
  if (Array.isArray(loc.container)) {
    // Only an existing index can be replaced; a missing object key is simply set.
    const idx = arrayIndex(loc.container, key);
    if (idx instanceof Error) throw unprocessable(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    key = String(idx);
  }
  edit(doc, { op: 'replace', path: pointer([...loc.parents, key]), value });
}

function move(doc: Doc, op: Op): void {
  const from = fromOf(op);
  if (from === undefined) throw unprocessable('move operation failed to decode from: operation, missing from field: missing value');
  const source = locate(doc, from);
  if (!source) throw unprocessable(`move operation does not apply: doc is missing from path: ${from}: missing value`);
  const value = get(source);
  if (value instanceof Error) throw unprocessable(`error in move for path: '${source.key}': ${value.message}`);
  const removed = removeAt(doc, source);
  if (removed) throw unprocessable(`error in move for path: '${source.key}': ${removed.message}`);
  const path = pathOf(op);
  if (path === undefined) throw unprocessable('move operation failed to decode path: operation missing path field: missing value');
  // The destination is resolved after the removal, as evanphx does.
  const target = locate(doc, path);
  if (!target) throw unprocessable(`move operation does not apply: doc is missing destination path: ${path}: missing value`);
  const err = insert(doc, target, value === undefined ? null : value);
  if (err) throw unprocessable(`error in move for path: '${path}': ${err.message}`);
}

function copy(doc: Doc, op: Op): void {
  const from = fromOf(op);
  if (from === undefined) throw unprocessable('copy operation failed to decode from: operation, missing from field: missing value');
  const source = locate(doc, from);
  const value = source ? get(source) : undefined;
  if (value instanceof Error) throw unprocessable(`error in copy for from: '${from}': ${value.message}`);
  if (!source || value === undefined) throw unprocessable(`copy operation does not apply: doc is missing from path: ${from}: missing value`);
  const path = pathOf(op);
  if (path === undefined) throw unprocessable('copy operation failed to decode path: missing value');
  const target = locate(doc, path);
  if (!target) throw unprocessable(`copy operation does not apply: doc is missing destination path: ${path}: missing value`);
  const err = insert(doc, target, cloneJson(value));
  if (err) throw unprocessable(`error while adding value during copy: ${err.message}`);
}

function test(doc: Doc, op: Op): void {
  const path = pathOf(op);
  if (path === undefined) throw unprocessable('test operation failed to decode path: operation missing path field: missing value');
  const expected = valueOf(op);
  if (path === '') {
    if (deepEqual(doc.root, expected)) return;
    throw unprocessable(`testing value ${path} failed: test failed`);
  }
  const loc = locate(doc, path);
  if (!loc) throw unprocessable(`test operation does not apply: is missing path: ${path}: missing value`);
  const actual = get(loc);
  if (actual instanceof Error) throw unprocessable(`error in test for path: '${path}': ${actual.message}`);
  // A missing value and null are the same to evanphx, and match an expected null.
  const found = actual === undefined ? null : actual;
  if (deepEqual(found, expected)) return;
  throw unprocessable(`testing value ${path} failed: test failed`);
}
