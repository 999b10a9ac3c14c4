// The SchemaResolver over the built-in definitions plus the kinds that
// CustomResourceDefinitions add while the server runs.
import type { Schema, SchemaResolver } from './types.ts';
import { loadDefinitions } from './definitions.ts';

const V3_PREFIX = '#/components/schemas/';
const V2_PREFIX = '#/definitions/';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

export interface KindSchemaResolver extends SchemaResolver {
  /**
   * Registers the schema of a kind served from a CRD (its openAPIV3Schema, or
   * undefined for none). The stored schema is a copy completed the way
   * kube-apiserver publishes CRD schemas: apiVersion, kind, metadata
   * (ObjectMeta) and x-kubernetes-group-version-kind.
   */
  addKind(group: string, version: string, kind: string, schema: Schema | undefined): void;
  removeKind(group: string, version: string, kind: string): void;
  /** The definition name of a kind, e.g. 'io.k8s.api.apps.v1.Deployment' or 'com.example.stable.v1.CronTab'. */
  definitionNameOf(group: string, version: string, kind: string): string | undefined;
  /** Grows by one on every addKind/removeKind: documents built from the resolver are stale when it changes. */
  readonly generation: number;
}

/** kube-apiserver names CRD definitions by reversed group: stable.example.com/v1 CronTab -> com.example.stable.v1.CronTab. */
export function crdDefinitionName(group: string, version: string, kind: string): string {
  return [...group.split('.').reverse(), version, kind].join('.');
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

export function createSchemaResolver(builtin: Record<string, Schema> = loadDefinitions()): KindSchemaResolver {
  const byKind = new Map<string, string>();
  for (const [name, schema] of Object.entries(builtin)) {
    for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
      const key = gvkKey(gvk.group, gvk.version, gvk.kind);
      if (!byKind.has(key)) byKind.set(key, name);
    }
  }
  const custom = new Map<string, Schema>(); // definition name -> schema
  let generation = 0;

  const definition = (name: string): Schema | undefined => custom.get(name) ?? builtin[name];

  return {
    definition,
    forKind(group, version, kind) {
      const name = byKind.get(gvkKey(group, version, kind));
      return name === undefined ? undefined : definition(name);
    },
    resolve(s) {
      // Bounded, so a $ref cycle made of bare refs cannot hang the caller.
      for (let hops = 0; s && hops < 32; hops++) {
        const ref = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0]!.$ref : undefined);
        if (ref === undefined) return s;
        s = definition(refName(ref));
      }
      return s;
    },
    addKind(group, version, kind, schema) {
      const name = crdDefinitionName(group, version, kind);
      const key = gvkKey(group, version, kind);
      const existing = byKind.get(key);
      if (existing !== undefined && !custom.has(existing)) {
        throw new Error(`cannot add kind ${key}: it is a built-in kind (${existing})`);
      }
      custom.set(name, completeCustomSchema(group, version, kind, schema));
      byKind.set(key, name);
      generation++;
    },
    removeKind(group, version, kind) {
      const key = gvkKey(group, version, kind);
      const name = byKind.get(key);
      if (name === undefined || !custom.has(name)) return;
      custom.delete(name);
      byKind.delete(key);
      generation++;
    },
    definitionNameOf(group, version, kind) {
      return byKind.get(gvkKey(group, version, kind));
    },
    get generation() {
      return generation;
    },
  };
}

/** The definition name a $ref points at, in either the v2 or the v3 form. */
export function refName(ref: string): string {
  if (ref.startsWith(V3_PREFIX)) return ref.slice(V3_PREFIX.length);
  if (ref.startsWith(V2_PREFIX)) return ref.slice(V2_PREFIX.length);
  return ref;
}

// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
// apiVersion, kind and metadata are implicit in a CRD's schema; the published
// schema spells them out (metadata as the full ObjectMeta).
function completeCustomSchema(group: string, version: string, kind: string, schema: Schema | undefined): Schema {
  const out: Schema = schema ? structuredClone(schema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  out.type ??= 'object';
  out.properties = {
    ...out.properties,
    apiVersion: {
      description: 'APIVersion defines the versioned schema of this representation of an object. Servers should ' +
        'convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: ' +
        'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
      type: 'string',
    },
    kind: {
      description: 'Kind is a string value representing the REST resource this object represents. Servers may infer ' +
        'this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: ' +
        'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
      type: 'string',
    },
    metadata: {
      allOf: [{ $ref: V3_PREFIX + OBJECT_META }],
      description: "Standard object's metadata. More info: " +
        'https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
    },
  };
  out['x-kubernetes-group-version-kind'] = [{ group, version, kind }];
  return out;
}
