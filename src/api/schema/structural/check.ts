// Validation of a CRD version's openAPIV3Schema as kube-apiserver does it on
// CRD create/update: keyword checks, structurality, then the defaults.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
import type { StatusCause } from '../../types.ts';
import type { Schema } from '../types.ts';
import { child, invalid, key } from './errors.ts';
import { checkOpenAPISchema } from './openapi-check.ts';
import { pruneUnknownFields } from './prune.ts';
import { checkStructuralInvariants } from './structural-check.ts';
import { deepCopy, deepEqual } from './util.ts';
import { validateAgainstSchema } from './validate.ts';

/**
 * The causes that make kube-apiserver reject schema as a CRD version's
 * openAPIV3Schema; empty when it is an acceptable structural schema. `path` is
 * where the schema sits, e.g. `spec.versions[0].schema.openAPIV3Schema`.
 * CEL rules (x-kubernetes-validations) are accepted but not evaluated: see
 * unsupportedSchemaFeatures.
 */
export function checkStructural(schema: Schema, path = 'openAPIV3Schema'): StatusCause[] {
  const out = checkOpenAPISchema(schema, path);
  const structural = checkStructuralInvariants(schema, path);
  out.push(...structural);
  if (structural.length === 0) out.push(...checkDefaults(schema, path));
  return out;
}

/**
 * Defaults must validate against their own schema and survive pruning
 * (defaulting.ValidateDefaults). Defaults of metadata are not checked: they
 * are forbidden at the root and rare in embedded resources.
 */
export function checkDefaults(schema: Schema, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  walkDefaults(schema, path, false, out);
  return out;
}

function walkDefaults(s: Schema | undefined, path: string, insideMeta: boolean, out: StatusCause[]): void {
  if (!s) return;
  const embedded = !!s['x-kubernetes-embedded-resource'];
  if (embedded) insideMeta = false;
  if (s.default !== undefined && s.default !== null && !insideMeta) {
    const where = child(path, 'default');
    const pruned = deepCopy(s.default);
    pruneUnknownFields(s, pruned, { isResourceRoot: embedded });
    if (!deepEqual(pruned, s.default)) out.push(invalid(where, s.default, 'must not have unknown fields'));
    out.push(...validateAgainstSchema(s, s.default, { path: where }));
  }
  // additionalProperties are not followed: defaults are not allowed there.
  if (s.items) walkDefaults(s.items, child(path, 'items'), insideMeta, out);
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const meta = insideMeta || (embedded && (name === 'metadata' || name === 'apiVersion' || name === 'kind'));
    walkDefaults(prop, key(child(path, 'properties'), name), meta, out);
  }
}

/**
 * What a schema asks for that Skiff accepts but does not enforce, as warnings
 * for the CRD's author: CEL validation rules (x-kubernetes-validations).
 */
export function unsupportedSchemaFeatures(schema: Schema, path = 'openAPIV3Schema'): string[] {
  const out: string[] = [];
  const visit = (s: Schema | undefined, p: string): void => {
    if (!s || typeof s !== 'object') return;
    const rules = s['x-kubernetes-validations'];
    if (Array.isArray(rules) && rules.length > 0) {
      out.push(`${child(p, 'x-kubernetes-validations')}: ${rules.length} CEL validation rule(s) accepted but not enforced by this server`);
    }
    visit(s.items, child(p, 'items'));
    if (typeof s.additionalProperties === 'object') visit(s.additionalProperties, child(p, 'additionalProperties'));
    for (const [name, prop] of Object.entries(s.properties ?? {})) visit(prop, key(child(p, 'properties'), name));
    for (const j of ['allOf', 'anyOf', 'oneOf'] as const) s[j]?.forEach((sub, i) => visit(sub, `${child(p, j)}[${i}]`));
    visit(s.not, child(p, 'not'));
  };
  visit(schema, path);
  return out;
}
