// The OpenAPI (v3 / JSON-schema subset) shape that Skiff's schemas use: the
// built-in kinds' schemas generated from kubernetes-types, and CRD schemas as
// users write them. Patch, apply and validation code walks these.

export interface Schema {
  $ref?: string; // '#/components/schemas/<name>' (v3) or '#/definitions/<name>' (v2)
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  not?: Schema;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string; // int32, int64, double, byte, date-time, int-or-string ...
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number; maximum?: number; exclusiveMinimum?: boolean; exclusiveMaximum?: boolean;
  minLength?: number; maxLength?: number; pattern?: string;
  minItems?: number; maxItems?: number; uniqueItems?: boolean;
  minProperties?: number; maxProperties?: number;
  multipleOf?: number;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string; // 'merge', 'retainKeys', 'merge,retainKeys', 'replace'
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-unions'?: unknown[];
  [extension: `x-${string}`]: unknown;
}

/** Looks schemas up by definition name or by kind, resolving nothing itself. */
export interface SchemaResolver {
  /** A definition by its OpenAPI name, e.g. 'io.k8s.api.core.v1.Pod'. */
  definition(name: string): Schema | undefined;
  /** The root schema of a kind, e.g. ('apps', 'v1', 'Deployment'). */
  forKind(group: string, version: string, kind: string): Schema | undefined;
  /** Follows $ref (and a single-element allOf wrapping a $ref) to the schema it names. */
  resolve(s: Schema | undefined): Schema | undefined;
}
