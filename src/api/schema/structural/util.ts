// Small helpers shared by the structural-schema walkers.
import type { Schema, SchemaResolver } from '../types.ts';

export type JSONObject = Record<string, unknown>;

export function isObject(x: unknown): x is JSONObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Follows `$ref` (and an allOf wrapping one) through the resolver; CRD schemas have none. */
export function deref(s: Schema | undefined, resolver: SchemaResolver | undefined): Schema | undefined {
  if (!s || !resolver) return s;
  if (s.$ref || (s.allOf?.length === 1 && s.allOf[0].$ref)) {
    const target = resolver.resolve(s);
    if (!target) return s;
    // Keep the wrapper's own keywords (a default, nullable ...) next to the resolved definition.
    if (!s.$ref) {
      const { allOf: _wrapped, ...own } = s;
      return { ...target, ...own };
    }
    return target;
  }
  return s;
}

/** The schema that applies to a field of an object: its property, else additionalProperties. */
export function fieldSchema(s: Schema | undefined, field: string): Schema | undefined {
  if (!s) return undefined;
  if (s.properties && Object.hasOwn(s.properties, field)) return s.properties[field];
  return typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function deepCopy<T>(x: T): T {
  return x === undefined ? x : structuredClone(x);
}

/**
 * Compiles an OpenAPI `pattern` (Go RE2 syntax) as a JS RegExp. RE2's inline
 * `(?i)`/`(?s)`/`(?m)` flags at the start become JS flags; `\z` becomes `$`.
 */
export function compilePattern(pattern: string): RegExp {
  let flags = '';
  let src = pattern;
  const inline = /^\(\?([ismU]+)\)/.exec(src);
  if (inline) {
    for (const f of inline[1]) if (f !== 'U' && !flags.includes(f)) flags += f;
    src = src.slice(inline[0].length);
  }
  src = src.replace(/\\z/g, '$').replace(/\\A/g, '^');
  try {
    return new RegExp(src, flags + 'u');
  } catch {
    // Patterns valid for RE2 but not in unicode mode (e.g. escaped `-` in a class) may still compile without it.
    return new RegExp(src, flags);
  }
}
