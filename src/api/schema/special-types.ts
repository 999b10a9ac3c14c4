// Facts about the built-in schemas that kubernetes-types' .d.ts files cannot
// express: number widths, types that are aliases or empty interfaces in
// TypeScript but have a JSON shape of their own, and fields it leaves out.
// The shapes follow what kube-apiserver publishes at /openapi/v2 and /openapi/v3.
import type { Schema } from './types.ts';

export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const APIEXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.';

/**
 * Fields Kubernetes declares as int64 (kubernetes-types says only `number`).
 * Every other number is an int32, except the doubles below.
 */
const INT64_FIELDS = new Set([
  'activeDeadlineSeconds', 'capacity', 'deletionGracePeriodSeconds', 'expirationSeconds', 'fsGroup', 'generation',
  'gid', 'gracePeriodSeconds', 'int', 'ints', 'observedGeneration', 'remainingItemCount', 'revision', 'runAsGroup',
  'runAsUser', 'seconds', 'sizeBytes', 'startingDeadlineSeconds', 'supplementalGroups', 'terminationGracePeriodSeconds',
  'tolerationSeconds', 'uid',
]);
const INT64_IN: Record<string, Set<string>> = {
  [APIEXT + 'JSONSchemaProps']: new Set(['maxItems', 'maxLength', 'maxProperties', 'minItems', 'minLength', 'minProperties']),
};
const DOUBLE_IN: Record<string, Set<string>> = {
  [APIEXT + 'JSONSchemaProps']: new Set(['maximum', 'minimum', 'multipleOf']),
};

/** The schema of a TypeScript `number` property of a definition. */
export function numberSchema(definition: string, property: string): Schema {
  if (DOUBLE_IN[definition]?.has(property)) return { type: 'number', format: 'double' };
  if (INT64_FIELDS.has(property) || INT64_IN[definition]?.has(property)) return { type: 'integer', format: 'int64' };
  return { type: 'integer', format: 'int32' };
}

/**
 * Definitions whose TypeScript form is an alias or an empty interface. The
 * generator keeps the doc comment and takes the shape from here.
 */
export const SPECIAL_SHAPES: Record<string, Schema> = {
  [META + 'Time']: { type: 'string', format: 'date-time' },
  [META + 'MicroTime']: { type: 'string', format: 'date-time' },
  [META + 'FieldsV1']: { type: 'object' },
  [META + 'Patch']: { type: 'object' },
  'io.k8s.apimachinery.pkg.runtime.RawExtension': { type: 'object' },
  // Kubernetes publishes Quantity as a plain string; parsing accepts numbers too.
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  // Any JSON value: no type at all.
  [APIEXT + 'JSON']: {},
  [APIEXT + 'JSONSchemaPropsOrArray']: {},
  [APIEXT + 'JSONSchemaPropsOrBool']: {},
  [APIEXT + 'JSONSchemaPropsOrStringArray']: {},
};

/** Definitions that kubernetes-types inlines (IntOrString is `number | string` there). */
export const EXTRA_DEFINITIONS: Record<string, Schema> = {
  [INT_OR_STRING]: {
    description: 'IntOrString is a type that can hold an int32 or a string. In JSON or YAML it is written as the ' +
      'inner type, so a field of this type accepts either a number or a name.',
    type: 'string',
    format: 'int-or-string',
  },
};

/** Properties that kubernetes-types leaves out of a definition. */
export const EXTRA_PROPERTIES: Record<string, Record<string, Schema>> = {
  // The structural-schema extensions of CRD schemas (kubernetes-types drops the x- fields).
  // https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
  [APIEXT + 'JSONSchemaProps']: {
    'x-kubernetes-embedded-resource': {
      description: 'x-kubernetes-embedded-resource defines that the value is an embedded Kubernetes runtime.Object, ' +
        'with TypeMeta and ObjectMeta. The type must be object.',
      type: 'boolean',
    },
    'x-kubernetes-int-or-string': {
      description: 'x-kubernetes-int-or-string specifies that this value is either an integer or a string.',
      type: 'boolean',
    },
    'x-kubernetes-list-map-keys': {
      description: 'x-kubernetes-list-map-keys annotates a list of list-type "map" with the keys that identify an item.',
      type: 'array',
      items: { type: 'string' },
    },
    'x-kubernetes-list-type': {
      description: 'x-kubernetes-list-type annotates an array to further describe its topology: "atomic", "set" or "map".',
      type: 'string',
    },
    'x-kubernetes-map-type': {
      description: 'x-kubernetes-map-type annotates an object to further describe its topology: "granular" or "atomic".',
      type: 'string',
    },
    'x-kubernetes-preserve-unknown-fields': {
      description: 'x-kubernetes-preserve-unknown-fields stops the API server decoding step from pruning fields ' +
        'which are not specified in the validation schema.',
      type: 'boolean',
    },
    'x-kubernetes-validations': {
      description: 'x-kubernetes-validations describes a list of validation rules written in the CEL expression language.',
      type: 'array',
      items: { $ref: '#/components/schemas/' + APIEXT + 'ValidationRule' },
    },
  },
};

/** Kinds kube-apiserver tags with a GVK though kubernetes-types types their apiVersion as plain string. */
export const EXTRA_KINDS: Record<string, { group: string; version: string; kind: string }[]> = {
  [META + 'Status']: [{ group: '', version: 'v1', kind: 'Status' }],
};
