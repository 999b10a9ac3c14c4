// Per-field strategic-merge-patch metadata, read from the OpenAPI schema of a
// kind. kube-apiserver reads the same facts from Go struct tags
// (patchStrategy / patchMergeKey); the published OpenAPI carries them as
// x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key.
import type { Schema, SchemaResolver } from '../schema/types.ts';

/** Where we are in the schema while walking an object, with the means to go deeper. */
export interface SchemaCursor {
  resolver: SchemaResolver;
  /** The resolved schema of the current value; undefined when unknown (no metadata below). */
  schema: Schema | undefined;
}

export interface FieldPatchMeta {
  /** 'merge' | 'replace' | '' (the retainKeys part is split out, as apimachinery does). */
  strategy: string;
  retainKeys: boolean;
  mergeKey: string;
  /** The schema of the field's value (for a list: of the list itself). */
  value: SchemaCursor;
  /** For a list: the schema of its elements. */
  items: SchemaCursor;
}

/** Splits 'merge,retainKeys' the way strategicpatch.extractRetainKeysPatchStrategy does. */
export function parsePatchStrategy(raw: string | undefined): { strategy: string; retainKeys: boolean } {
  const parts = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const retainKeys = parts.includes('retainKeys');
  const others = parts.filter((s) => s !== 'retainKeys');
  if (others.length > 1) throw new Error(`unexpected patch strategy: [${parts.join(' ')}]`);
  return { strategy: others[0] ?? '', retainKeys };
}

function extension(s: Schema | undefined, name: 'x-kubernetes-patch-strategy' | 'x-kubernetes-patch-merge-key'): string | undefined {
  if (!s) return undefined;
  const own = s[name];
  if (typeof own === 'string') return own;
  // A property written as allOf: [{$ref}] with the extensions on a sibling
  // allOf member rather than beside it.
  for (const member of s.allOf ?? []) {
    const v = member[name];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/** Metadata for field `key` of the object whose schema the cursor points at. */
export function lookupField(cursor: SchemaCursor, key: string): FieldPatchMeta {
  const { resolver } = cursor;
  const schema = cursor.schema;
  let field: Schema | undefined;
  if (schema?.properties && Object.hasOwn(schema.properties, key)) {
    field = schema.properties[key];
  } else if (schema && typeof schema.additionalProperties === 'object') {
    // map[string]T: every key has the element's schema and no patch metadata.
    field = schema.additionalProperties;
  }
  const resolved = field ? resolver.resolve(field) : undefined;
  const { strategy, retainKeys } = parsePatchStrategy(extension(field, 'x-kubernetes-patch-strategy') ?? extension(resolved, 'x-kubernetes-patch-strategy'));
  const mergeKey = extension(field, 'x-kubernetes-patch-merge-key') ?? extension(resolved, 'x-kubernetes-patch-merge-key') ?? '';
  const items = resolved?.items ? resolver.resolve(resolved.items) : undefined;
  return {
    strategy,
    retainKeys,
    mergeKey,
    value: { resolver, schema: resolved },
    items: { resolver, schema: items },
  };
}
