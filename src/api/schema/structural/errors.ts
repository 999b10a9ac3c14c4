// Field errors worded as k8s.io/apimachinery/pkg/util/validation/field does:
// a StatusCause's message is the error's "body" (`Required value: ...`,
// `Invalid value: "x": ...`) and its field is the path
// (`spec.versions[0].schema.openAPIV3Schema.properties[spec].type`).
import type { StatusCause } from '../../types.ts';

/** A field path built the way field.Path prints: `a.b[key][0]`. */
export function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** Omit the value from the message (field.TooMany with an unknown count does this). */
export const OMIT = Symbol('omit value');

function cause(reason: string, field: string, body: string, detail: string): StatusCause {
  return { reason, field, message: detail ? `${body}: ${detail}` : body };
}

export function required(field: string, detail = ''): StatusCause {
  return cause('FieldValueRequired', field, 'Required value', detail);
}
export function forbidden(field: string, detail: string): StatusCause {
  return cause('FieldValueForbidden', field, 'Forbidden', detail);
}
export function invalid(field: string, value: unknown, detail: string): StatusCause {
  return cause('FieldValueInvalid', field, `Invalid value: ${formatValue(value)}`, detail);
}
export function typeInvalid(field: string, value: unknown, detail: string): StatusCause {
  return cause('FieldValueTypeInvalid', field, `Invalid value: ${formatValue(value)}`, detail);
}
export function notSupported(field: string, value: unknown, supported: string[]): StatusCause {
  const detail = supported.length ? `supported values: ${supported.map((v) => JSON.stringify(v)).join(', ')}` : '';
  return cause('FieldValueNotSupported', field, `Unsupported value: ${formatValue(value)}`, detail);
}
export function tooLong(field: string, maxLength: number): StatusCause {
  return cause('FieldValueTooLong', field, 'Too long', maxLength >= 0 ? `may not be longer than ${maxLength}` : 'value is too long');
}
export function tooMany(field: string, actual: number, max: number): StatusCause {
  const body = actual >= 0 ? `Too many: ${actual}` : 'Too many';
  return cause('FieldValueTooMany', field, body, max >= 0 ? `must have at most ${max} items` : 'has too many items');
}

/** `field: body`, as field.Error.Error() prints a cause (and kubectl shows it). */
export function causeString(c: StatusCause): string {
  return `${c.field}: ${c.message}`;
}

/** Sorts causes by their printed form, as ValidateStructural does to make output stable. */
export function sortCauses(causes: StatusCause[]): StatusCause[] {
  return causes.sort((a, b) => {
    const x = causeString(a), y = causeString(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * Prints a bad value as ErrorBody does: strings %q, numbers and booleans %v,
 * null as null, and maps/slices in Go's %#v syntax (what users of a real
 * cluster see for e.g. `Unsupported value: map[string]interface {}{...}`).
 */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return String(value);
  return goSyntax(value);
}

/** Go's %v of an int64 or float64 decoded from JSON. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  const s = String(n);
  // Go's %g switches to exponent form with a two-digit exponent: 1e+21, 1e-07.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function goSyntax(value: unknown): string {
  if (value === null || value === undefined) return 'interface {}(nil)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map(goSyntax).join(', ')}}`;
  const entries = Object.keys(value as object).sort()
    .map((k) => `${JSON.stringify(k)}:${goSyntax((value as Record<string, unknown>)[k])}`);
  return `map[string]interface {}{${entries.join(', ')}}`;
}
