// Validates a value against an OpenAPI v3 schema the way kube-apiserver
// validates custom resources: kube-openapi's SchemaValidator (validators run
// in its order: type, allOf/oneOf/anyOf/not, string, format, number, array,
// enum, object) with its results turned into field errors as
// apiextensions-apiserver's kubeOpenAPIResultToFieldErrors does. Names in the
// messages are relative to the validated value (`spec.replicas in body ...`),
// the cause's field is `opts.path` joined with that name.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation
import type { StatusCause } from '../../types.ts';
import type { Schema, SchemaResolver } from '../types.ts';
import {
  formatNumber, invalid, notSupported, required, tooLong, tooMany, typeInvalid,
} from './errors.ts';
import { stringFormat } from './formats.ts';
import { compilePattern, deepEqual, deref, isObject } from './util.ts';

export interface ValidateOptions {
  /** Schemas behind `$ref` (the built-in kinds' schemas). */
  resolver?: SchemaResolver;
  /** Field path the value sits at, e.g. `spec.versions[0].schema.openAPIV3Schema.default`; none for a whole object. */
  path?: string;
}

interface Ctx {
  resolver?: SchemaResolver;
  prefix: string; // '' means a nil field.Path, printed as <nil>
}

const IN = 'body';

/** Validates obj against schema; returns Kubernetes' causes (empty when valid). */
export function validateAgainstSchema(schema: Schema, obj: unknown, opts: ValidateOptions = {}): StatusCause[] {
  return validate({ resolver: opts.resolver, prefix: opts.path ?? '' }, schema, obj, '');
}

// The field a kube-openapi error named `name` is reported at.
function errPath(ctx: Ctx, name: string): string {
  if (!name || name === '.') return ctx.prefix || '<nil>';
  const n = name.startsWith('.') ? name.slice(1) : name;
  return ctx.prefix ? `${ctx.prefix}.${n}` : n;
}
// Errors that are not *errors.Validation land on the bare fldPath with an empty value.
function compositeError(ctx: Ctx, message: string): StatusCause {
  return invalid(ctx.prefix || '<nil>', '', message);
}
function typeFail(ctx: Ctx, name: string, typeName: string, value: unknown): StatusCause {
  const msg = typeof value === 'string'
    ? `${name} in ${IN} must be of type ${typeName}: ${JSON.stringify(value)}`
    : `${name} in ${IN} must be of type ${typeName}`;
  return typeInvalid(errPath(ctx, name), value ?? '', msg);
}

function schemaTypes(s: Schema): string[] {
  // Built-in schemas publish IntOrString as `type: string, format: int-or-string` (OpenAPI v2 style).
  if (s['x-kubernetes-int-or-string'] || s.format === 'int-or-string') return ['integer', 'string'];
  return s.type ? [s.type] : [];
}

/** The format kube-apiserver keeps after stripping the ones it does not support for the type. */
function effectiveFormat(s: Schema): string {
  const f = s.format;
  if (!f) return '';
  const types = schemaTypes(s);
  const t = types.length === 1 ? types[0] : '';
  switch (t) {
    case '': case 'string': return stringFormat(f) ? f : '';
    case 'integer': return f === 'int32' || f === 'int64' ? f : '';
    case 'number': return f === 'float' || f === 'double' ? f : '';
    default: return '';
  }
}

function kindOf(v: unknown): string {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

// resource.Quantity is published as a string but kube-apiserver also decodes JSON numbers into it.
function isQuantityRef(s: Schema | undefined): boolean {
  const ref = s?.$ref ?? (s?.allOf?.length === 1 ? s.allOf[0].$ref : undefined);
  return !!ref && ref.endsWith('.pkg.api.resource.Quantity');
}

function validate(ctx: Ctx, schemaIn: Schema | undefined, data: unknown, path: string): StatusCause[] {
  if (typeof data === 'number' && isQuantityRef(schemaIn)) return [];
  const s = deref(schemaIn, ctx.resolver);
  if (!s) return [];
  const out: StatusCause[] = [];
  const types = schemaTypes(s);
  const format = effectiveFormat(s);

  if (data === null || data === undefined) {
    if (types.length > 0 && !s.nullable) out.push(typeFail(ctx, path, types.join(','), 'null'));
    out.push(...validateEnum(ctx, s, null, path));
    return out;
  }

  out.push(...validateType(ctx, types, format, data, path));
  out.push(...validateJunctors(ctx, s, data, path));
  if (typeof data === 'string') out.push(...validateString(ctx, s, format, data, path));
  if (typeof data === 'number') out.push(...validateNumber(ctx, s, types, format, data, path));
  if (Array.isArray(data)) out.push(...validateArray(ctx, s, data, path));
  out.push(...validateEnum(ctx, s, data, path));
  if (isObject(data)) out.push(...validateObject(ctx, s, data, path));
  return out;
}

function validateType(ctx: Ctx, types: string[], format: string, data: unknown, path: string): StatusCause[] {
  if (types.length === 0 && !format) return [];
  const kind = kindOf(data);
  const isFloatInt = kind === 'number' && Number.isInteger(data) && types.includes('integer');
  const isIntFloat = kind === 'integer' && types.includes('number');
  const dataFormat = kind === 'integer' ? 'int64' : kind === 'number' ? 'float64' : '';
  if (kind !== 'string' && kind !== 'array' && format &&
      !(types.includes(kind) || format === dataFormat || isFloatInt || isIntFloat ||
        (format === 'int64' && kind === 'integer'))) {
    return [typeFail(ctx, path, format, dataFormat)];
  }
  if (!types.includes('number') && !types.includes('integer') && format && (kind === 'string' || kind === 'array')) return [];
  if (!(types.includes(kind) || isFloatInt || isIntFloat)) return [typeFail(ctx, path, types.join(','), kind)];
  return [];
}

function validateJunctors(ctx: Ctx, s: Schema, data: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const quoted = JSON.stringify(path);
  if (s.anyOf?.length) {
    const results = s.anyOf.map((sub) => validate(ctx, sub, data, path));
    if (!results.some((r) => r.length === 0)) {
      out.push(compositeError(ctx, `${quoted} must validate at least one schema (anyOf)`));
      out.push(...fewestErrors(results));
    }
  }
  if (s.oneOf?.length) {
    const results = s.oneOf.map((sub) => validate(ctx, sub, data, path));
    const valid = results.filter((r) => r.length === 0).length;
    if (valid !== 1) {
      const more = valid === 0 ? 'Found none valid' : `Found ${valid} valid alternatives`;
      out.push(compositeError(ctx, `${quoted} must validate one and only one schema (oneOf). ${more}`));
      if (valid === 0) out.push(...fewestErrors(results));
    }
  }
  if (s.allOf?.length) {
    const results = s.allOf.map((sub) => validate(ctx, sub, data, path));
    const valid = results.filter((r) => r.length === 0).length;
    for (const r of results) out.push(...r);
    if (valid !== results.length) {
      out.push(compositeError(ctx, `${quoted} must validate all the schemas (allOf)${valid === 0 ? '. None validated' : ''}`));
    }
  }
  if (s.not && validate(ctx, s.not, data, path).length === 0) {
    out.push(compositeError(ctx, `${quoted} must not validate the schema (not)`));
  }
  return out;
}

// kube-openapi reports the alternative that matched best; the one with the fewest errors is our stand-in.
function fewestErrors(results: StatusCause[][]): StatusCause[] {
  return results.reduce((best, r) => (r.length < best.length ? r : best), results[0]);
}

function validateString(ctx: Ctx, s: Schema, format: string, data: string, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const length = [...data].length; // runes, as utf8.RuneCountInString
  if (s.maxLength !== undefined && length > s.maxLength) {
    out.push(tooLong(errPath(ctx, path), s.maxLength));
  } else if (s.minLength !== undefined && length < s.minLength) {
    out.push(invalid(errPath(ctx, path), data, `${path} in ${IN} should be at least ${s.minLength} chars long`));
  } else if (s.pattern) {
    let re: RegExp | undefined;
    let problem = '';
    try {
      re = compilePattern(s.pattern);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (!re) {
      out.push(invalid(errPath(ctx, path), data, `${path} in ${IN} should match '${s.pattern}, but pattern is invalid: ${problem}'`));
    } else if (!re.test(data)) {
      out.push(invalid(errPath(ctx, path), data, `${path} in ${IN} should match '${s.pattern}'`));
    }
  }
  const check = format ? stringFormat(format) : undefined;
  if (check && !check(data)) {
    out.push(typeInvalid(errPath(ctx, path), data, `${path} in ${IN} must be of type ${format}: ${JSON.stringify(data)}`));
  }
  return out;
}

const INT32 = [-(2 ** 31), 2 ** 31 - 1];
const INT64 = [-(2 ** 63), 2 ** 63];
const FLOAT32_MAX = 3.4028234663852886e38;

function validateNumber(ctx: Ctx, s: Schema, types: string[], format: string, data: number, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const typeName = types.length === 1 && (types[0] === 'integer' || types[0] === 'number') ? types[0] : '';
  if (typeName === 'integer') {
    const [lo, hi] = format === 'int32' ? INT32 : INT64;
    if (!Number.isInteger(data) || data < lo || data > hi) {
      out.push(compositeError(ctx, format
        ? `Checked value must be of type integer with format ${format} in ${path}`
        : `Checked value must be of type integer (default format) in ${path}`));
    }
  } else if (typeName === 'number' && format === 'float' && Math.abs(data) > FLOAT32_MAX) {
    out.push(compositeError(ctx, `Checked value must be of type number with format float in ${path}`));
  }
  const where = errPath(ctx, path);
  if (s.multipleOf !== undefined) {
    if (s.multipleOf <= 0) {
      out.push(invalid(where, s.multipleOf, `factor MultipleOf declared for ${path} must be positive: ${formatNumber(s.multipleOf)}`));
    } else {
      const q = s.multipleOf < 1 ? (1 / s.multipleOf) * data : data / s.multipleOf;
      if (!Number.isInteger(q)) out.push(invalid(where, data, `${path} in ${IN} should be a multiple of ${formatNumber(s.multipleOf)}`));
    }
  }
  if (s.minimum !== undefined) {
    const bad = s.exclusiveMinimum ? data <= s.minimum : data < s.minimum;
    if (bad) {
      const rel = s.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      out.push(invalid(where, data, `${path} in ${IN} should be ${rel} ${formatNumber(s.minimum)}`));
    }
  }
  if (s.maximum !== undefined) {
    const bad = s.exclusiveMaximum ? data >= s.maximum : data > s.maximum;
    if (bad) {
      const rel = s.exclusiveMaximum ? 'less than' : 'less than or equal to';
      out.push(invalid(where, data, `${path} in ${IN} should be ${rel} ${formatNumber(s.maximum)}`));
    }
  }
  return out;
}

function validateArray(ctx: Ctx, s: Schema, data: unknown[], path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (s.items) data.forEach((item, i) => out.push(...validate(ctx, s.items, item, `${path}[${i}]`)));
  const where = errPath(ctx, path);
  if (s.minItems !== undefined && data.length < s.minItems) {
    out.push(invalid(where, data.length, `${path} in ${IN} should have at least ${s.minItems} items`));
  }
  if (s.maxItems !== undefined && data.length > s.maxItems) out.push(tooMany(where, data.length, s.maxItems));
  if (s.uniqueItems && data.some((v, i) => data.slice(0, i).some((u) => deepEqual(u, v)))) {
    out.push(invalid(where, '', `${path} in ${IN} shouldn't contain duplicates`));
  }
  return out;
}

function validateEnum(ctx: Ctx, s: Schema, data: unknown, path: string): StatusCause[] {
  if (!s.enum?.length) return [];
  if (s.enum.some((v) => deepEqual(v, data))) return [];
  const values = s.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return [notSupported(errPath(ctx, path), data, values)];
}

function validateObject(ctx: Ctx, s: Schema, data: Record<string, unknown>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const keys = Object.keys(data);
  const where = errPath(ctx, path);
  if (s.minProperties !== undefined && keys.length < s.minProperties) {
    out.push(invalid(where, keys.length, `${path} in ${IN} should have at least ${s.minProperties} properties`));
  }
  if (s.maxProperties !== undefined && keys.length > s.maxProperties) out.push(tooMany(where, keys.length, s.maxProperties));
  const props = s.properties ?? {};
  if (s.additionalProperties === false) {
    for (const k of keys) {
      if (!Object.hasOwn(props, k)) out.push(invalid(where, k, `${path}.${k} in ${IN} is a forbidden property`));
    }
  } else if (typeof s.additionalProperties === 'object') {
    for (const k of keys) {
      if (!Object.hasOwn(props, k)) out.push(...validate(ctx, s.additionalProperties, data[k], `${path}.${k}`));
    }
  }
  for (const [name, sub] of Object.entries(props)) {
    if (Object.hasOwn(data, name)) out.push(...validate(ctx, sub, data[name], path ? `${path}.${name}` : name));
  }
  for (const k of s.required ?? []) {
    if (!Object.hasOwn(data, k)) out.push(required(errPath(ctx, `${path}.${k}`)));
  }
  if (s['x-kubernetes-embedded-resource']) out.push(...validateEmbeddedTypeMeta(ctx, data, path));
  return out;
}

// schemaobjectmeta.Validate: an embedded resource must say what it is.
function validateEmbeddedTypeMeta(ctx: Ctx, data: Record<string, unknown>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  for (const field of ['apiVersion', 'kind']) {
    const v = data[field];
    if (v === undefined || v === '') out.push(required(errPath(ctx, `${path}.${field}`), 'must not be empty'));
    else if (typeof v !== 'string') out.push(invalid(errPath(ctx, `${path}.${field}`), v, 'must be a string'));
  }
  return out;
}

