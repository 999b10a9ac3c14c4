// The keyword checks kube-apiserver applies to every node of a CRD's
// openAPIV3Schema before the structural ones
// (apiextensions validation.ValidateCustomResourceDefinitionOpenAPISchema):
// unsupported JSON-schema keywords, uniqueItems, properties next to
// additionalProperties, list/map type extensions, and defaults in metadata.
import type { StatusCause } from '../../types.ts';
import type { Schema } from '../types.ts';
import { child, forbidden, index, invalid, key, notSupported, required } from './errors.ts';

const OPENAPI_V3_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const META_FIELDS = new Set(['metadata', 'kind', 'apiVersion']);

interface Mode {
  defaultsForbidden?: string; // why defaults may not be set here ('' = allowed)
  insideResourceMeta: boolean;
}

type Raw = Schema & Record<string, unknown>;

export function checkOpenAPISchema(schema: Schema, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (schema.nullable) out.push(forbidden(child(path, 'nullable'), 'nullable cannot be true at the root'));
  check(schema as Raw, path, { insideResourceMeta: false }, true, out);
  return out;
}

function checkKeywords(s: Raw, path: string, mode: Mode, out: StatusCause[]): void {
  if (s.type && !OPENAPI_V3_TYPES.includes(s.type)) out.push(notSupported(child(path, 'type'), s.type, OPENAPI_V3_TYPES));
  if (s.default !== undefined && mode.defaultsForbidden !== undefined) {
    out.push(forbidden(child(path, 'default'), `must not be set${mode.defaultsForbidden ? ' ' + mode.defaultsForbidden : ''}`));
  }
  if (s.id) out.push(forbidden(child(path, 'id'), 'id is not supported'));
  if (s.additionalItems !== undefined) out.push(forbidden(child(path, 'additionalItems'), 'additionalItems is not supported'));
  if (isNonEmptyObject(s.patternProperties)) out.push(forbidden(child(path, 'patternProperties'), 'patternProperties is not supported'));
  if (isNonEmptyObject(s.definitions)) out.push(forbidden(child(path, 'definitions'), 'definitions is not supported'));
  if (s.dependencies !== undefined) out.push(forbidden(child(path, 'dependencies'), 'dependencies is not supported'));
  if (s.$ref !== undefined) out.push(forbidden(child(path, '$ref'), '$ref is not supported'));
  if ((s.type as string) === 'null') out.push(forbidden(child(path, 'type'), 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(s.items)) out.push(forbidden(child(path, 'items'), 'items must be a schema object and not an array'));
  if (mode.insideResourceMeta && s['x-kubernetes-embedded-resource']) {
    out.push(forbidden(child(path, 'x-kubernetes-embedded-resource'), 'must not be used inside of resource meta'));
  }
}

function isNonEmptyObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && Object.keys(x).length > 0;
}

function check(s: Raw | undefined, path: string, mode: Mode, isRoot: boolean, out: StatusCause[]): void {
  if (!s || typeof s !== 'object') return;
  checkKeywords(s, path, mode, out);
  if (s.uniqueItems === true) {
    out.push(forbidden(child(path, 'uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  }
  const props = s.properties ?? {};
  if (s.additionalProperties !== undefined) {
    if (Object.keys(props).length > 0 && s.additionalProperties !== true) {
      out.push(forbidden(child(path, 'additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
    }
    // Defaults under additionalProperties of metadata cannot be pruned without knowing the keys.
    const sub = mode.insideResourceMeta ? { ...mode, defaultsForbidden: 'inside additionalProperties applying to object metadata' } : mode;
    if (typeof s.additionalProperties === 'object') check(s.additionalProperties as Raw, child(path, 'additionalProperties'), sub, false, out);
  }
  for (const [name, prop] of Object.entries(props)) {
    let sub = mode;
    if ((isRoot || s['x-kubernetes-embedded-resource']) && META_FIELDS.has(name)) {
      sub = { ...mode, insideResourceMeta: true };
      if (isRoot) sub.defaultsForbidden = `in top-level ${name}`;
    }
    check(prop as Raw, key(child(path, 'properties'), name), sub, false, out);
  }
  check(s.not as Raw, child(path, 'not'), mode, false, out);
  for (const j of ['allOf', 'oneOf', 'anyOf'] as const) {
    (s[j] ?? []).forEach((sub, i) => check(sub as Raw, index(child(path, j), i), mode, false, out));
  }
  if (s.items && !Array.isArray(s.items)) check(s.items as Raw, child(path, 'items'), mode, false, out);
  checkExtensions(s, path, out);
}

function checkExtensions(s: Raw, path: string, out: StatusCause[]): void {
  if (s['x-kubernetes-preserve-unknown-fields'] === false) {
    out.push(invalid(child(path, 'x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'));
  }
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined && s.type !== 'object') {
    out.push(typeRequirement(path, s.type, 'must be object if x-kubernetes-map-type is specified'));
  }
  if (mapType !== undefined && mapType !== 'atomic' && mapType !== 'granular') {
    out.push(notSupported(child(path, 'x-kubernetes-map-type'), mapType, ['atomic', 'granular']));
  }
  const listType = s['x-kubernetes-list-type'];
  const items = s.items && !Array.isArray(s.items) ? s.items : undefined;
  if (listType !== undefined && s.type !== 'array') {
    out.push(typeRequirement(path, s.type, 'must be array if x-kubernetes-list-type is specified'));
  } else if (listType === 'set' && items) {
    if (items.type === 'array' && items['x-kubernetes-list-type'] && items['x-kubernetes-list-type'] !== 'atomic') {
      out.push(invalid(child(child(path, 'items'), 'x-kubernetes-list-type'), items['x-kubernetes-list-type'], 'must be atomic as item of a list with x-kubernetes-list-type=set'));
    }
    if (items.type === 'object' && items['x-kubernetes-map-type'] !== 'atomic') {
      out.push(invalid(child(child(path, 'items'), 'x-kubernetes-map-type'), items['x-kubernetes-list-type'] ?? null, 'must be atomic as item of a list with x-kubernetes-list-type=set'));
    }
  }
  if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType)) {
    out.push(notSupported(child(path, 'x-kubernetes-list-type'), listType, ['atomic', 'set', 'map']));
  }
  const mapKeys = s['x-kubernetes-list-map-keys'] ?? [];
  if (mapKeys.length > 0) {
    if (listType === undefined) {
      out.push(required(child(path, 'x-kubernetes-list-type'), 'must be map if x-kubernetes-list-map-keys is non-empty'));
    } else if (listType !== 'map') {
      out.push(invalid(child(path, 'x-kubernetes-list-type'), listType, 'must be map if x-kubernetes-list-map-keys is non-empty'));
    }
  }
  if (listType === 'map') checkListMap(s, items, mapKeys, path, out);
  if (items && (listType === 'set' || listType === 'map') && items.nullable) {
    out.push(forbidden(child(child(path, 'items'), 'nullable'), `cannot be nullable when x-kubernetes-list-type is ${listType}`));
  }
  const rules = s['x-kubernetes-validations'];
  if (Array.isArray(rules)) {
    rules.forEach((r: { rule?: string; message?: string }, i) => {
      const rulePath = index(child(path, 'x-kubernetes-validations'), i);
      if (!r?.rule?.trim()) out.push(required(child(rulePath, 'rule'), 'rule is not specified'));
      else if (r.message !== undefined && r.message.length > 0 && !r.message.trim()) {
        out.push(invalid(child(rulePath, 'message'), r.message, 'message must be non-empty if specified'));
      }
    });
  }
}

function checkListMap(s: Raw, items: Schema | undefined, mapKeys: string[], path: string, out: StatusCause[]): void {
  if (mapKeys.length === 0) out.push(required(child(path, 'x-kubernetes-list-map-keys'), 'must not be empty if x-kubernetes-list-type is map'));
  if (!s.items) out.push(required(child(path, 'items'), 'must have a schema if x-kubernetes-list-type is map'));
  if (!items) return;
  if (items.type !== 'object') {
    out.push(invalid(child(child(path, 'items'), 'type'), items.type ?? '', "must be object if parent array's x-kubernetes-list-type is map"));
    return;
  }
  const seen = new Set<string>();
  const requiredKeys = new Set(items.required ?? []);
  for (const k of mapKeys) {
    const prop = items.properties?.[k];
    const propPath = key(child(child(path, 'items'), 'properties'), k);
    if (!prop) {
      out.push(invalid(child(path, 'x-kubernetes-list-map-keys'), mapKeys, 'entries must all be names of item properties'));
    } else {
      if (prop.type === 'array' || prop.type === 'object') {
        out.push(invalid(child(propPath, 'type'), items.type, "must be a scalar type if parent array's x-kubernetes-list-type is map"));
      }
      if (!requiredKeys.has(k) && prop.default === undefined) {
        out.push(required(child(propPath, 'default'), 'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property'));
      }
      if (prop.nullable) out.push(forbidden(child(propPath, 'nullable'), 'this property is in x-kubernetes-list-map-keys, so it cannot be nullable'));
    }
    if (seen.has(k)) out.push(invalid(child(path, 'x-kubernetes-list-map-keys'), mapKeys, 'must not contain duplicate entries'));
    seen.add(k);
  }
}

function typeRequirement(path: string, type: string | undefined, detail: string): StatusCause {
  return type ? invalid(child(path, 'type'), type, detail) : required(child(path, 'type'), detail);
}
