// Plain-data types shared by every layer above the store.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.d.ts';

/** ObjectMeta as the server writes it (kubernetes-types marks server-set fields readonly). */
export type MutableObjectMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** A Kubernetes object as plain JSON: typed metadata, everything else open. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: MutableObjectMeta;
  // deno-lint-ignore no-explicit-any
  [field: string]: any;
}

/** One API resource (a plural name in a group/version), as discovery lists it. */
export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served under `<plural>/<name>`: status, scale, binding, ... */
  subresources: string[];
  /** true for resources a CustomResourceDefinition defines. */
  custom?: boolean;
}

/** A metav1.StatusCause: which field is wrong and why (kubectl prints these). */
export interface StatusCause {
  reason: string; // FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong, FieldValueTypeInvalid, FieldValueUnknown (unknown field)
  message: string;
  field: string; // JSON path like spec.containers[0].name
}

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
