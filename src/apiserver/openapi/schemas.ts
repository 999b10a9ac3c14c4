// Picks the definitions an OpenAPI document needs and converts schemas from
// the stored (OpenAPI 3.0, #/components/schemas) form to Swagger 2.0.
import type { Schema } from '../../api/schema/types.ts';
import { refName } from '../../api/schema/resolver.ts';
import { META } from './operations.ts';

export const V3_PREFIX = '#/components/schemas/';
export const V2_PREFIX = '#/definitions/';

/** The named definitions plus every definition they reach through $ref, sorted by name. */
export function collectDefinitions(roots: Iterable<string>, lookup: (name: string) => Schema | undefined): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const pending = [...roots];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!v || typeof v !== 'object') return;
    for (const [key, child] of Object.entries(v)) {
      if (key === '$ref' && typeof child === 'string') pending.push(refName(child));
      else visit(child);
    }
  };
  while (pending.length) {
    const name = pending.pop()!;
    if (name in out) continue;
    const schema = lookup(name);
    if (!schema) throw new Error(`OpenAPI: no schema for definition ${name}`);
    out[name] = schema;
    visit(schema);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The list kind of a CRD kind, as kube-apiserver publishes it (CRDs have no list schema of their own). */
export function listSchema(itemDefinition: string, group: string, version: string, listKind: string, kind: string): Schema {
  return {
    description: `${listKind} is a list of ${kind}`,
    type: 'object',
    properties: {
      apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
      items: {
        description: `List of ${kind.toLowerCase()}s. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`,
        type: 'array',
        items: { $ref: V3_PREFIX + itemDefinition },
      },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      metadata: {
        allOf: [{ $ref: V3_PREFIX + META + 'ListMeta' }],
        description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
      },
    },
    required: ['items'],
    'x-kubernetes-group-version-kind': [{ group, version, kind: listKind }],
  };
}

/** A kind that has no schema: any object is accepted. */
export function openSchema(group: string, version: string, kind: string): Schema {
  return {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': [{ group, version, kind }],
  };
}

// Swagger 2.0 knows neither oneOf/anyOf/not nor nullable; kube-apiserver drops
// them when it publishes CRD schemas in /openapi/v2, and so do we.
const V3_ONLY = new Set(['oneOf', 'anyOf', 'not', 'nullable']);

const V2_TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean']);

/**
 * Whether kubectl's v2 model (k8s.io/kube-openapi/pkg/util/proto) could not
 * take this schema as it is: one unparsable definition fails the whole
 * document. Such schemas (only CRDs write them) are published as "any value",
 * as are objects that keep unknown fields, which kubectl would otherwise
 * reject client-side.
 */
function publishAsAnyValue(s: Schema): boolean {
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return true;
  if (s.type !== undefined && !V2_TYPES.has(s.type)) return true;
  return s.type === 'array' && (!s.items || Array.isArray(s.items));
}

/** The Swagger 2.0 form of a stored schema: `$ref`s to #/definitions, `allOf: [{$ref}]` unwrapped. */
export function toV2Schema(s: Schema): Schema {
  if (publishAsAnyValue(s)) {
    return Object.fromEntries(Object.entries(s).filter(([k]) => k === 'description' || k.startsWith('x-'))) as Schema;
  }
  const out: Record<string, unknown> = {};
  const single = s.allOf?.length === 1 && s.allOf[0]!.$ref !== undefined ? s.allOf[0]!.$ref : undefined;
  if (single !== undefined) out.$ref = V2_PREFIX + refName(single);
  for (const [key, value] of Object.entries(s)) {
    if (V3_ONLY.has(key) || (key === 'allOf' && single !== undefined) || (key === 'default' && single !== undefined)) continue;
    if (key === '$ref') out.$ref = V2_PREFIX + refName(value as string);
    else if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, toV2Schema(v)]));
    } else if (key === 'items' || key === 'not') out[key] = toV2Schema(value as Schema);
    else if (key === 'additionalProperties' && typeof value === 'object') out[key] = toV2Schema(value as Schema);
    else if (key === 'allOf') out[key] = (value as Schema[]).map(toV2Schema);
    else out[key] = value;
  }
  return out as Schema;
}
