// Defaulting from a structural schema's `default` values, as kube-apiserver
// does for custom resources on create/update and when reading from storage
// (apiextensions-apiserver schema/defaulting): a missing field, or a null one
// that is not nullable, gets a deep copy of its default; defaults are applied
// top-down so a defaulted object gets its own fields' defaults too.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#defaulting
import type { Schema } from '../types.ts';
import { deepCopy, isObject } from './util.ts';

function isNonNullableNull(x: unknown, s: Schema | undefined): boolean {
  return x === null && !!s && !s.nullable;
}

/** Applies the schema's defaults to obj in place. */
export function applySchemaDefaults(schema: Schema | undefined, obj: unknown): void {
  if (!schema) return;
  if (Array.isArray(obj)) {
    const items = schema.items;
    for (let i = 0; i < obj.length; i++) {
      if (isNonNullableNull(obj[i], items) && items?.default !== undefined) obj[i] = deepCopy(items.default);
      applySchemaDefaults(items, obj[i]);
    }
    return;
  }
  if (!isObject(obj)) return;
  const props = schema.properties ?? {};
  for (const [k, prop] of Object.entries(props)) {
    if (prop.default === undefined) continue;
    if (!Object.hasOwn(obj, k) || isNonNullableNull(obj[k], prop)) obj[k] = deepCopy(prop.default);
  }
  const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const k of Object.keys(obj)) {
    if (Object.hasOwn(props, k)) {
      applySchemaDefaults(props[k], obj[k]);
    } else if (additional) {
      if (isNonNullableNull(obj[k], additional) && additional.default !== undefined) obj[k] = deepCopy(additional.default);
      applySchemaDefaults(additional, obj[k]);
    }
  }
}
