// Small helpers over decoded JSON values shared by the patch implementations.

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The JSON kind of a value: what Go's reflect.TypeOf tells apart after decoding. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';

export function kindOf(v: unknown): JsonKind {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'object': return 'object';
    case 'string': return 'string';
    case 'number': return 'number';
    case 'boolean': return 'boolean';
    default: throw new TypeError(`not a JSON value: ${typeof v}`);
  }
}

/** The Go type name of a decoded value, as mergepatch.ErrBadArgType prints it. */
export function goTypeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'object': return 'map[string]interface {}';
    case 'array': return '[]interface {}';
    case 'string': return 'string';
    case 'number': return Number.isInteger(v) ? 'int64' : 'float64';
    case 'boolean': return 'bool';
    case 'null': return '<nil>';
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Sets an own property, also for the key "__proto__" (which JSON.parse yields
 * as a plain key but a plain assignment would treat as the prototype).
 */
export function put(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
