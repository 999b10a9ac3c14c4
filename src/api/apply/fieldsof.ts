// The set of fields a value sets, and removing a set of fields from a value:
// the two walks server-side apply needs besides merge and compare.
import {
  emptySet, fieldElement, type FieldPath, type FieldSet, insertPath, pathString,
} from './fieldset.ts';
import { fieldType, FieldPathError, listItemElement, type Shape, shapeOf, type ShapeContext, type TypeRef } from './shape.ts';
import { isObject } from './values.ts';

/** The path element of each item of a granular list, with the list's path in errors. */
export function listItemElements(
  shape: Extract<Shape, { kind: 'list' }>, items: unknown[], path: FieldPath,
): string[] {
  return items.map((item, i) => {
    try {
      return listItemElement(shape, item);
    } catch (e) {
      // Re-thrown with where it happened, as kube-apiserver reports it.
      if (e instanceof FieldPathError) throw new FieldPathError(`${pathString(path)}: element ${i}: ${e.message}`);
      throw e;
    }
  });
}

/**
 * The fields a value sets (structured-merge-diff's ToFieldSet): every leaf, every
 * list item, and map entries that aren't declared struct fields. Struct fields
 * that have children are not members themselves.
 */
export function toFieldSet(
  value: unknown, ref: TypeRef, ctx: ShapeContext, opts: { allowDuplicates: boolean },
): FieldSet {
  const set = emptySet();
  visit(value, ref, [], set, ctx, opts.allowDuplicates);
  return set;
}

function visit(v: unknown, ref: TypeRef, path: FieldPath, set: FieldSet, ctx: ShapeContext, allowDups: boolean): void {
  if (v === null || v === undefined) {
    insertPath(set, path);
    return;
  }
  const shape = shapeOf(ref, v, ctx);
  if (shape.kind === 'map' && isObject(v)) {
    if (shape.atomic) {
      insertPath(set, path);
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      if (child === undefined) continue;
      const { ref: childRef, declared } = fieldType(shape, key);
      const childPath = [...path, fieldElement(key)];
      visit(child, childRef, childPath, set, ctx, allowDups);
      if (child === null || (isObject(child) && Object.keys(child).length === 0) || !declared) {
        insertPath(set, childPath);
      }
    }
    return;
  }
  if (shape.kind === 'list' && Array.isArray(v)) {
    if (shape.atomic) {
      insertPath(set, path);
      return;
    }
    const pes = listItemElements(shape, v, path);
    const seen = new Set<string>();
    const duplicates = new Set<string>();
    for (const pe of pes) {
      if (!seen.has(pe)) {
        seen.add(pe);
        continue;
      }
      if (!allowDups) {
        throw new FieldPathError(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
      }
      if (!duplicates.has(pe)) {
        insertPath(set, [...path, pe]);
        duplicates.add(pe);
      }
    }
    v.forEach((item, i) => {
      if (duplicates.has(pes[i])) return;
      const itemPath = [...path, pes[i]];
      visit(item, shape.elem, itemPath, set, ctx, allowDups);
      insertPath(set, itemPath);
    });
    return;
  }
  insertPath(set, path); // a scalar, or a value whose type doesn't match its schema
}

/**
 * Adds as members the declared struct fields that only appear as parents of
 * other paths ("a.b.c" also owns "a" when it is a struct field, not when a map
 * key), so that pruning can remove whole structs.
 */
export function ensureNamedFieldsAreMembers(set: FieldSet, ref: TypeRef, ctx: ShapeContext): FieldSet {
  const shape = ref === undefined ? undefined : shapeOf(ref, undefined, ctx);
  const out: FieldSet = { members: new Set(set.members), children: new Map() };
  for (const [pe, child] of set.children) {
    let childRef: TypeRef;
    if (pe.startsWith('f:') && shape?.kind === 'map') {
      const { ref: t, declared } = fieldType(shape, pe.slice(2));
      if (declared) out.members.add(pe);
      childRef = t;
    } else if (!pe.startsWith('f:') && shape?.kind === 'list') {
      childRef = shape.elem;
    }
    out.children.set(pe, ensureNamedFieldsAreMembers(child, childRef, ctx));
  }
  return out;
}

/**
 * The value without the fields and items named by `set` (members are removed
 * with everything below them). A map or list left empty becomes undefined, as
 * a null field disappears from a Kubernetes object.
 */
export function removeItems(v: unknown, set: FieldSet, ref: TypeRef, ctx: ShapeContext): unknown {
  const shape = shapeOf(ref, v, ctx);
  if (shape.kind === 'map' && isObject(v)) {
    if (shape.atomic || Object.keys(v).length === 0) return v;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(v)) {
      const pe = fieldElement(key);
      if (set.members.has(pe)) continue;
      const sub = set.children.get(pe);
      const kept = sub ? removeItems(child, sub, fieldType(shape, key).ref, ctx) : child;
      if (kept !== undefined) out[key] = kept;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (shape.kind === 'list' && Array.isArray(v)) {
    if (shape.atomic || v.length === 0) return v;
    const pes = listItemElements(shape, v, []);
    const out: unknown[] = [];
    v.forEach((item, i) => {
      if (set.members.has(pes[i])) return;
      const sub = set.children.get(pes[i]);
      const kept = sub ? removeItems(item, sub, shape.elem, ctx) : item;
      if (kept !== undefined) out.push(kept);
    });
    return out.length > 0 ? out : undefined;
  }
  return v;
}
