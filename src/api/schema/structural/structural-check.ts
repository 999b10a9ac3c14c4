// Whether a schema is structural (apiextensions-apiserver schema.ValidateStructural):
// every specified node has a type (unless int-or-string or preserve-unknown),
// allOf/anyOf/oneOf/not only add value validations (no type, description,
// default, nullable or x-kubernetes-* inside them), every field they mention
// is also specified outside them, metadata only restricts name/generateName.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
import type { StatusCause } from '../../types.ts';
import type { Schema } from '../types.ts';
import { child, forbidden, index, invalid, key, required, sortCauses } from './errors.ts';
import { compilePattern } from './util.ts';

type Level = 'root' | 'item' | 'field';
type Raw = Schema & Record<string, unknown>;

export function checkStructuralInvariants(schema: Schema, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  invariants(schema as Raw, 'root', path, out);
  completeness(schema as Raw, path, out);
  return sortCauses(out);
}

function invariants(s: Raw | undefined, lvl: Level, path: string, out: StatusCause[]): void {
  if (!s) return;
  if (s.type === 'array' && !s.items) out.push(required(child(path, 'items'), 'must be specified'));
  invariants(s.items as Raw, 'item', child(path, 'items'), out);
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    invariants(prop as Raw, 'field', key(child(path, 'properties'), name), out);
  }
  if (s.additionalProperties !== undefined) {
    if (lvl === 'root') out.push(forbidden(child(path, 'additionalProperties'), 'must not be used at the root'));
    if (typeof s.additionalProperties === 'object') invariants(s.additionalProperties as Raw, 'field', child(path, 'additionalProperties'), out);
  }
  const intOrString = !!s['x-kubernetes-int-or-string'];
  const preserve = !!s['x-kubernetes-preserve-unknown-fields'];
  const embedded = !!s['x-kubernetes-embedded-resource'];
  if (intOrString && preserve) {
    out.push(invalid(child(path, 'x-kubernetes-preserve-unknown-fields'), true, 'must be false if x-kubernetes-int-or-string is true'));
  }
  if (intOrString && embedded) {
    out.push(invalid(child(path, 'x-kubernetes-embedded-resource'), true, 'must be false if x-kubernetes-int-or-string is true'));
  }
  valueValidation(s, isIntOrStringAnyOf(s.anyOf), isIntOrStringAnyOf(s.allOf?.[0]?.anyOf), lvl, path, out);

  if (embedded && s.type !== 'object') {
    out.push(s.type
      ? invalid(child(path, 'type'), s.type, 'must be object if x-kubernetes-embedded-resource is true')
      : required(child(path, 'type'), 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (!s.type && !intOrString && !preserve) {
    const detail = lvl === 'root' ? 'must not be empty at the root'
      : lvl === 'item' ? 'must not be empty for specified array items' : 'must not be empty for specified object fields';
    out.push(required(child(path, 'type'), detail));
  }
  if (embedded && s.additionalProperties !== undefined) {
    out.push(forbidden(child(path, 'additionalProperties'), 'must not be used if x-kubernetes-embedded-resource is set'));
  }
  if (lvl === 'root' && s.type && s.type !== 'object') out.push(invalid(child(path, 'type'), s.type, 'must be object at the root'));

  const checkMetadata = lvl === 'root' || embedded;
  const props = s.properties ?? {};
  for (const field of ['kind', 'apiVersion']) {
    if (checkMetadata && Object.hasOwn(props, field) && props[field].type !== 'string') {
      out.push(invalid(child(key(child(path, 'properties'), field), 'type'), props[field].type ?? '', 'must be string'));
    }
  }
  if (Object.hasOwn(props, 'metadata')) metadataInvariants(props.metadata as Raw, checkMetadata, lvl, key(child(path, 'properties'), 'metadata'), out);
  if (embedded && !preserve && Object.keys(props).length === 0) {
    out.push(required(child(path, 'properties'), 'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'));
  }
}

function metadataInvariants(s: Raw, checkMetadata: boolean, lvl: Level, path: string, out: StatusCause[]): void {
  if (checkMetadata && s.type !== 'object') out.push(invalid(child(path, 'type'), s.type ?? '', 'must be object'));
  if (lvl !== 'root') return;
  // Only type: object and (one or both of) name/generateName may be said about the root's metadata.
  const props = Object.keys(s.properties ?? {});
  const onlyNames = props.length > 0 && props.length <= 2 && props.every((p) => p === 'name' || p === 'generateName');
  const rest = Object.keys(s).filter((k) => k !== 'type' && k !== 'default' && !(k === 'properties' && (onlyNames || props.length === 0)));
  if (rest.length > 0) {
    out.push(forbidden(path, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
  }
}

function isIntOrStringAnyOf(anyOf: Schema[] | undefined): boolean {
  if (anyOf?.length !== 2) return false;
  const only = (s: Schema, type: string) => s.type === type && Object.keys(s).length === 1;
  return only(anyOf[0], 'integer') && only(anyOf[1], 'string');
}

// The allOf/anyOf/oneOf/not of a node, and what may not appear inside them.
function valueValidation(v: Raw, skipAnyOf: boolean, skipFirstAllOfAnyOf: boolean, lvl: Level, path: string, out: StatusCause[]): void {
  if (!skipAnyOf) v.anyOf?.forEach((sub, i) => nested(sub as Raw, false, lvl, index(child(path, 'anyOf'), i), out));
  v.allOf?.forEach((sub, i) => nested(sub as Raw, skipFirstAllOfAnyOf && i === 0, lvl, index(child(path, 'allOf'), i), out));
  v.oneOf?.forEach((sub, i) => nested(sub as Raw, false, lvl, index(child(path, 'oneOf'), i), out));
  if (v.not) nested(v.not as Raw, false, lvl, child(path, 'not'), out);
  if (v.pattern) {
    try {
      compilePattern(v.pattern);
    } catch (e) {
      out.push(invalid(child(path, 'pattern'), v.pattern, `must be a valid regular expression, but isn't: ${(e as Error).message}`));
    }
  }
}

const NESTED_FORBIDDEN: [string, (v: unknown) => boolean, string][] = [
  ['type', (v) => !!v, 'must be empty to be structural'],
  ['default', (v) => v !== undefined && v !== null, 'must be undefined to be structural'],
  ['title', (v) => !!v, 'must be empty to be structural'],
  ['description', (v) => !!v, 'must be empty to be structural'],
  ['nullable', (v) => v === true, 'must be false to be structural'],
  ['externalDocs', (v) => v !== undefined, 'must be undefined to be structural'],
  ['x-kubernetes-preserve-unknown-fields', (v) => v === true, 'must be false to be structural'],
  ['x-kubernetes-embedded-resource', (v) => v === true, 'must be false to be structural'],
  ['x-kubernetes-int-or-string', (v) => v === true, 'must be false to be structural'],
  ['x-kubernetes-list-map-keys', (v) => Array.isArray(v) && v.length > 0, 'must be empty to be structural'],
  ['x-kubernetes-list-type', (v) => v !== undefined, 'must be undefined to be structural'],
  ['x-kubernetes-map-type', (v) => v !== undefined, 'must be undefined to be structural'],
  ['x-kubernetes-validations', (v) => Array.isArray(v) && v.length > 0, 'must be empty to be structural'],
];

function nested(v: Raw | undefined, skipAnyOf: boolean, lvl: Level, path: string, out: StatusCause[]): void {
  if (!v) return;
  valueValidation(v, skipAnyOf, false, lvl, path, out);
  nested(v.items as Raw, false, lvl, child(path, 'items'), out);
  for (const [name, prop] of Object.entries(v.properties ?? {})) {
    nested(prop as Raw, false, 'field', key(child(path, 'properties'), name), out);
  }
  // `additionalProperties` is reported before the generic keywords, as upstream does.
  const [typeRule, ...rest] = NESTED_FORBIDDEN;
  if (typeRule[1](v.type)) out.push(forbidden(child(path, 'type'), typeRule[2]));
  if (v.additionalProperties !== undefined) out.push(forbidden(child(path, 'additionalProperties'), 'must be undefined to be structural'));
  for (const [field, present, detail] of rest) {
    if (present(v[field])) out.push(forbidden(child(path, field), detail));
  }
  if (v.properties && Object.hasOwn(v.properties, 'metadata')) {
    out.push(forbidden(key(child(path, 'properties'), 'metadata'), 'must not be specified in a nested context'));
  }
}

// Every field a value validation names must also be specified in the structural part (root only, as upstream).
function completeness(s: Raw, path: string, out: StatusCause[]): void {
  completeJunctors(s, s, path, path, out);
}

function completeJunctors(v: Raw, s: Raw | undefined, sPath: string, vPath: string, out: StatusCause[]): void {
  if (v.not) completeNested(v.not as Raw, s, sPath, child(vPath, 'not'), out);
  for (const j of ['allOf', 'anyOf', 'oneOf'] as const) {
    v[j]?.forEach((sub, i) => completeNested(sub as Raw, s, sPath, index(child(vPath, j), i), out));
  }
}

function completeNested(v: Raw, s: Raw | undefined, sPath: string, vPath: string, out: StatusCause[]): void {
  if (!s) {
    out.push(required(sPath, `because it is defined in ${vPath}`));
    return;
  }
  completeJunctors(v, s, sPath, vPath, out);
  if (v.items) completeNested(v.items as Raw, s.items as Raw | undefined, child(sPath, 'items'), child(vPath, 'items'), out);
  for (const [name, prop] of Object.entries(v.properties ?? {})) {
    const sProp = s.properties?.[name] as Raw | undefined;
    const sp = key(child(sPath, 'properties'), name), vp = key(child(vPath, 'properties'), name);
    if (!sProp) out.push(required(sp, `because it is defined in ${vp}`));
    else completeNested(prop as Raw, sProp, sp, vp, out);
  }
}
