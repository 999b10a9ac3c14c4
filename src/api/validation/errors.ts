// Field errors shaped like apimachinery's field.Error: `reason` is the StatusCause
// type, `message` the ErrorBody (what kubectl prints after "<field>: "), `field` the path.
// https://github.com/kubernetes/apimachinery/blob/master/pkg/util/validation/field/errors.go
import type { StatusCause } from '../types.ts';

/** A value that prints as-is (Go values implementing fmt.Stringer, e.g. IntOrString). */
export interface Raw { raw: string }
export function raw(s: string): Raw {
  return { raw: s };
}

function isRaw(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && Object.keys(v).length === 1 && typeof (v as Raw).raw === 'string';
}

/** Go's %q for strings (close enough: JSON escaping of ASCII matches Go's for the common cases). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Formats a bad value as Go's field.Error does: %q for strings, %v for numbers, %#v otherwise. */
export function goValue(v: unknown): string {
  if (isRaw(v)) return v.raw;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    return `[]string{${v.map((x) => goQuote(x)).join(', ')}}`;
  }
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) {
    return goStringMap(v as Record<string, string>);
  }
  return JSON.stringify(v);
}

/** %#v of a map[string]string: keys sorted, as fmt prints maps. */
export function goStringMap(m: Record<string, string> | undefined): string {
  if (m === undefined || m === null) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(m[k])}`).join(', ')}}`;
}

export function required(field: string, detail = ''): StatusCause {
  return { reason: 'FieldValueRequired', field, message: withDetail('Required value', detail) };
}

export function invalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: withDetail(`Invalid value: ${goValue(value)}`, detail) };
}

export function notSupported(field: string, value: unknown, valid: readonly string[]): StatusCause {
  const detail = valid.length ? 'supported values: ' + valid.map((v) => goQuote(v)).join(', ') : '';
  return { reason: 'FieldValueNotSupported', field, message: withDetail(`Unsupported value: ${goValue(value)}`, detail) };
}

export function duplicate(field: string, value: unknown): StatusCause {
  return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${goValue(value)}` };
}

export function forbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', field, message: withDetail('Forbidden', detail) };
}

export function tooLong(field: string, maxBytes: number): StatusCause {
  return { reason: 'FieldValueTooLong', field, message: `Too long: must have at most ${maxBytes} bytes` };
}

export function notFound(field: string, value: unknown): StatusCause {
  return { reason: 'FieldValueNotFound', field, message: `Not found: ${goValue(value)}` };
}

export function typeInvalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueTypeInvalid', field, message: withDetail(`Invalid value: ${goValue(value)}`, detail) };
}

/** Each message of a string-returning checker (IsDNS1123Label ...) as an Invalid cause. */
export function invalidEach(field: string, value: unknown, msgs: string[]): StatusCause[] {
  return msgs.map((m) => invalid(field, value, m));
}

function withDetail(head: string, detail: string): string {
  return detail ? `${head}: ${detail}` : head;
}

// Field paths, printed as field.Path.String() does: a.b[0].c[key].
export function child(path: string, ...names: string[]): string {
  return [path, ...names].filter((p) => p !== '').join('.');
}
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** `must be greater than or equal to 0` for negative numbers (ValidateNonnegativeField). */
export function nonNegative(field: string, value: unknown): StatusCause[] {
  return typeof value === 'number' && value < 0 ? [invalid(field, value, 'must be greater than or equal to 0')] : [];
}

/** The JSON kind of a value, for type checks on plain data. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}
