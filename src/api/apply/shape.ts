// How server-side apply sees a schema node: a scalar, a struct or map (granular
// or atomic), or a list (atomic, set, or map keyed by some fields). This follows
// kube-openapi's conversion of OpenAPI into structured-merge-diff schemas:
// https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy
import type { Schema, SchemaResolver } from '../schema/types.ts';
import { keyElement, valueElement } from './fieldset.ts';

/** A schema reference; undefined means "no schema": the shape is deduced from the value. */
export type TypeRef = Schema | undefined;

export type Shape =
  | { kind: 'scalar' }
  | {
    kind: 'map';
    atomic: boolean;
    /** Declared fields (a struct); empty for a plain map. */
    fields: Record<string, Schema>;
    /** The type of keys that aren't declared fields. */
    elem: TypeRef;
    required: string[];
  }
  | {
    kind: 'list';
    atomic: boolean;
    /** Key fields of a list of type map; undefined for a set. */
    keys: string[] | undefined;
    keyDefaults: Record<string, unknown>;
    elem: TypeRef;
  };

/** Thrown when a value can't be walked with its schema (duplicate or missing list keys). */
export class FieldPathError extends Error {
  override name = 'FieldPathError';
}

export interface ShapeContext {
  resolver: SchemaResolver | undefined;
}

// Lists whose SSA keys are more than their strategic-merge key. The OpenAPI that
// kube-apiserver publishes says so with x-kubernetes-list-map-keys; these are the
// built-in ones, for schemas that carry only the patch merge key.
const MERGE_KEY_LIST_KEYS: Record<string, { keys: string[]; defaults: Record<string, unknown> }> = {
  containerPort: { keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } }, // Container.ports
  port: { keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } }, // ServiceSpec.ports
  topologyKey: { keys: ['topologyKey', 'whenUnsatisfiable'], defaults: {} }, // PodSpec.topologySpreadConstraints
};

export function resolveSchema(ref: Schema, ctx: ShapeContext): Schema {
  let s: Schema = ref;
  for (let depth = 0; depth < 32; depth++) {
    const r = ctx.resolver?.resolve(s) ?? s;
    // OpenAPI v3 wraps a $ref that carries a description or default in allOf.
    if (r.allOf?.length === 1 && !r.properties && !r.type && r.allOf[0] !== r) {
      s = r.allOf[0];
      continue;
    }
    return r;
  }
  return s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Shapes by schema node, per resolver: a schema's shape never changes, and every write walks the
// object's schema node by node (field tracking compares old and new objects on each one).
// null: a schema that says nothing, so the value decides.
const NO_RESOLVER = {};
const shapeCache = new WeakMap<object, WeakMap<Schema, Shape | null>>();

/** The shape of a node, from its schema, or from the value when there is none. */
export function shapeOf(ref: TypeRef, value: unknown, ctx: ShapeContext): Shape {
  if (ref === undefined) return deducedShape(value);
  const owner = ctx.resolver ?? NO_RESOLVER;
  let cache = shapeCache.get(owner);
  if (!cache) shapeCache.set(owner, cache = new WeakMap());
  let shape = cache.get(ref);
  if (shape === undefined) cache.set(ref, shape = schemaShape(ref, ctx));
  return shape ?? deducedShape(value);
}

/** A schema's shape; null when the value decides. */
function schemaShape(ref: Schema, ctx: ShapeContext): Shape | null {
  const s = resolveSchema(ref, ctx);
  if (s['x-kubernetes-int-or-string']) return { kind: 'scalar' };
  const isList = s.type === 'array' || (s.type === undefined && s.items !== undefined);
  if (isList) return listShape(s, ctx);
  const isMap = s.type === 'object' || s.properties !== undefined ||
    (s.type === undefined && s.additionalProperties !== undefined && s.additionalProperties !== false);
  if (isMap) {
    const fields = s.properties ?? {};
    const extra = s.additionalProperties;
    return {
      kind: 'map',
      atomic: s['x-kubernetes-map-type'] === 'atomic',
      fields,
      // Undeclared keys of a struct (preserve-unknown-fields, or fields the server
      // didn't prune) are walked without a schema rather than rejected.
      elem: typeof extra === 'object' ? extra : undefined,
      required: s.required ?? [],
    };
  }
  if (s.type === undefined && s.properties === undefined) return null; // `{}` or preserve-unknown
  return { kind: 'scalar' };
}

function deducedShape(value: unknown): Shape {
  if (isObject(value)) return { kind: 'map', atomic: false, fields: {}, elem: undefined, required: [] };
  if (Array.isArray(value)) return { kind: 'list', atomic: true, keys: undefined, keyDefaults: {}, elem: undefined };
  return { kind: 'scalar' };
}

function listShape(s: Schema, ctx: ShapeContext): Shape {
  const elem = s.items;
  const atomic = (): Shape => ({ kind: 'list', atomic: true, keys: undefined, keyDefaults: {}, elem });
  const keyed = (keys: string[], fallbackDefaults: Record<string, unknown>): Shape => {
    const itemSchema = elem ? resolveSchema(elem, ctx) : undefined;
    const keyDefaults: Record<string, unknown> = {};
    for (const k of keys) {
      const prop = itemSchema?.properties?.[k];
      const d = prop ? resolveSchema(prop, ctx).default : undefined;
      if (d !== undefined) keyDefaults[k] = d;
      else if (fallbackDefaults[k] !== undefined) keyDefaults[k] = fallbackDefaults[k];
    }
    return { kind: 'list', atomic: false, keys, keyDefaults, elem };
  };
  const listType = s['x-kubernetes-list-type'];
  const mergeKey = s['x-kubernetes-patch-merge-key'];
  if (listType === 'atomic') return atomic();
  if (listType === 'set') return { kind: 'list', atomic: false, keys: undefined, keyDefaults: {}, elem };
  if (listType === 'map') {
    const keys = s['x-kubernetes-list-map-keys'] ?? (mergeKey ? [mergeKey] : []);
    const known = mergeKey ? MERGE_KEY_LIST_KEYS[mergeKey] : undefined;
    return keyed(keys, known?.defaults ?? {});
  }
  const strategy = s['x-kubernetes-patch-strategy'] ?? '';
  if (strategy.split(',').includes('merge')) {
    if (!mergeKey) return { kind: 'list', atomic: false, keys: undefined, keyDefaults: {}, elem };
    const known = MERGE_KEY_LIST_KEYS[mergeKey];
    const itemSchema = elem ? resolveSchema(elem, ctx) : undefined;
    if (known && known.keys.every((k) => itemSchema?.properties?.[k] !== undefined)) {
      return keyed(known.keys, known.defaults);
    }
    return keyed([mergeKey], {});
  }
  return atomic();
}

/** The type of a map's entry or a struct's field, and whether it is a declared field. */
export function fieldType(shape: Extract<Shape, { kind: 'map' }>, key: string): { ref: TypeRef; declared: boolean } {
  const declared = Object.hasOwn(shape.fields, key);
  return { ref: declared ? shape.fields[key] : shape.elem, declared };
}

/** The path element naming a list item: its keys (list of type map) or its value (set). */
export function listItemElement(shape: Extract<Shape, { kind: 'list' }>, item: unknown): string {
  if (shape.keys !== undefined) {
    if (!isObject(item)) throw new FieldPathError('associative list with keys may not have non-map elements');
    const keys: Record<string, unknown> = {};
    for (const k of shape.keys) {
      if (item[k] !== undefined && item[k] !== null) keys[k] = item[k];
      else if (shape.keyDefaults[k] !== undefined) keys[k] = shape.keyDefaults[k];
    }
    if (shape.keys.length > 0 && Object.keys(keys).length === 0) {
      throw new FieldPathError(
        `associative list with keys has an element that omits all key fields ${goQuoteList(shape.keys)} (and doesn't have default values for any key fields)`,
      );
    }
    return keyElement(keys);
  }
  if (isObject(item)) throw new FieldPathError("associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new FieldPathError('not supported: associative list with lists as elements');
  if (item === null) throw new FieldPathError("associative list without keys has an element that's an explicit null");
  return valueElement(item);
}

function goQuoteList(keys: string[]): string {
  return `[${keys.map((k) => JSON.stringify(k)).join(' ')}]`;
}
