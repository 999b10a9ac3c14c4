// Pruning of unknown fields, as kube-apiserver does for custom resources
// (apiextensions-apiserver schema/pruning): fields the structural schema does
// not specify are dropped unless x-kubernetes-preserve-unknown-fields keeps
// them; apiVersion, kind and metadata of the resource root and of embedded
// resources are left to the ObjectMeta handling. The dropped paths
// (`spec.foo`, `spec.items[0].bar`) are what fieldValidation=Warn/Strict report.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#field-pruning
import type { Schema, SchemaResolver } from '../types.ts';
import { deref, fieldSchema, isObject } from './util.ts';

export interface PruneOptions {
  /** Resolves `$ref`; with it, metadata of the root and embedded resources is pruned against ObjectMeta too. */
  resolver?: SchemaResolver;
  /** obj is a whole resource (default): its apiVersion/kind/metadata are not the schema's business. */
  isResourceRoot?: boolean;
}

const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

interface Walk {
  mutate: boolean;
  /** Built-in kinds' schemas: an object schema with neither properties nor additionalProperties is open (RawExtension, JSON). */
  builtin: boolean;
  resolver?: SchemaResolver;
  objectMeta?: Schema;
  found: string[];
}

/** Removes the fields of obj that schema does not specify; returns their paths. */
export function pruneUnknownFields(schema: Schema | undefined, obj: unknown, opts: PruneOptions = {}): string[] {
  const w: Walk = {
    mutate: true, builtin: false, resolver: opts.resolver, found: [],
    objectMeta: opts.resolver?.definition(OBJECT_META),
  };
  walk(w, obj, schema, '', opts.isResourceRoot ?? true);
  return w.found;
}

/**
 * The paths of fields obj has that schema (a built-in kind's, with $refs) does
 * not know, without changing obj: what fieldValidation=Strict rejects.
 */
export function findUnknownFields(schema: Schema | undefined, obj: unknown, resolver?: SchemaResolver): string[] {
  const w: Walk = { mutate: false, builtin: true, resolver, found: [] };
  walk(w, obj, schema, '', false);
  return w.found;
}

/** The warning kube-apiserver sends for fieldValidation=Warn, one per path. */
export function unknownFieldWarning(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

/** The message of the 400 BadRequest for fieldValidation=Strict (runtime.NewStrictDecodingError). */
export function strictDecodingError(paths: string[]): string {
  return `strict decoding error: ${paths.map(unknownFieldWarning).join(', ')}`;
}

function childPath(path: string, k: string): string {
  return path ? `${path}.${k}` : k;
}

function drop(w: Walk, x: Record<string, unknown>, k: string, path: string): void {
  w.found.push(childPath(path, k));
  if (w.mutate) delete x[k];
}

function isOpen(s: Schema): boolean {
  return !s.properties && s.additionalProperties === undefined && !s.items;
}

function walk(w: Walk, x: unknown, schemaIn: Schema | undefined, path: string, embeddedRoot = false): void {
  const s = deref(schemaIn, w.resolver);
  if (s?.['x-kubernetes-preserve-unknown-fields']) {
    keepUnknown(w, x, s, path, embeddedRoot);
    return;
  }
  if (Array.isArray(x)) {
    x.forEach((item, i) => walk(w, item, s?.items, `${path}[${i}]`));
    return;
  }
  if (!isObject(x)) return;
  if (!s) {
    for (const k of Object.keys(x)) drop(w, x, k, path);
    return;
  }
  if (w.builtin && isOpen(s)) return;
  const embedded = embeddedRoot || !!s['x-kubernetes-embedded-resource'];
  for (const k of Object.keys(x)) {
    const p = childPath(path, k);
    if (embedded && META_FIELDS.has(k)) {
      walkMeta(w, x[k], k, p);
    } else if (s.properties && Object.hasOwn(s.properties, k)) {
      walk(w, x[k], s.properties[k], p);
    } else if (s.additionalProperties !== undefined) {
      walkAdditional(w, x[k], s.additionalProperties, p);
    } else {
      drop(w, x, k, path);
    }
  }
}

// Under x-kubernetes-preserve-unknown-fields unknown fields stay, but known ones are still pruned inside.
function keepUnknown(w: Walk, x: unknown, s: Schema, path: string, embeddedRoot: boolean): void {
  if (Array.isArray(x)) {
    const items = deref(s.items, w.resolver);
    if (items) x.forEach((item, i) => keepUnknown(w, item, items, `${path}[${i}]`, false));
    return;
  }
  if (!isObject(x)) return;
  const embedded = embeddedRoot || !!s['x-kubernetes-embedded-resource'];
  for (const k of Object.keys(x)) {
    const p = childPath(path, k);
    if (embedded && META_FIELDS.has(k)) walkMeta(w, x[k], k, p);
    else if (s.properties && Object.hasOwn(s.properties, k)) walk(w, x[k], s.properties[k], p);
    else if (s.additionalProperties !== undefined) walkAdditional(w, x[k], s.additionalProperties, p);
  }
}

// A boolean additionalProperties keeps the keys but, having no schema, prunes
// everything inside their values, as upstream's pruning does; the built-in
// kinds' `true` means "anything".
function walkAdditional(w: Walk, value: unknown, additional: Schema | boolean, path: string): void {
  if (typeof additional === 'object') walk(w, value, additional, path);
  else if (!w.builtin) walk(w, value, undefined, path);
}

// kube-apiserver checks metadata against ObjectMeta (schemaobjectmeta.Coerce), not against the CRD's schema.
function walkMeta(w: Walk, value: unknown, k: string, path: string): void {
  if (k !== 'metadata' || !w.objectMeta) return;
  const found: string[] = [];
  walk({ ...w, builtin: true, found }, value, w.objectMeta, path);
  w.found.push(...found);
}

/**
 * Drops null values of fields that are neither nullable nor defaulted
 * (defaulting.PruneNonNullableNullsWithoutDefaults), which kube-apiserver does
 * right after pruning; nulls of defaulted fields are then defaulted.
 */
export function pruneNonNullableNulls(schema: Schema | undefined, obj: unknown): void {
  if (Array.isArray(obj)) {
    for (const item of obj) pruneNonNullableNulls(schema?.items, item);
    return;
  }
  if (!isObject(obj)) return;
  for (const k of Object.keys(obj)) {
    const sub = fieldSchema(schema, k);
    if (obj[k] === null && sub && !sub.nullable && sub.default === undefined) delete obj[k];
    else pruneNonNullableNulls(sub, obj[k]);
  }
}
