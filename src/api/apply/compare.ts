// Which fields an update added, modified and removed (structured-merge-diff's
// Compare). Leaves (scalars, atomic lists and maps) are compared by value; a
// granular map, struct, list or list item that appears or disappears is
// itself added or removed, which is where `.` entries in fieldsV1 come from.
import { emptySet, fieldElement, type FieldPath, type FieldSet, insertPath } from './fieldset.ts';
import { listItemElements } from './fieldsof.ts';
import { fieldType, type Shape, shapeOf, type ShapeContext, type TypeRef } from './shape.ts';
import { deepEqual, isObject } from './values.ts';

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * Compares two objects. With `fromZero`, `lhs` stands for a freshly made object
 * (a create): kube-apiserver compares against the Go zero value of the kind, in
 * which struct-valued fields exist as `{}` and required fields as null, so those
 * are not "added" as nodes. Pointer structs can't be told apart from schemas, so
 * they are treated as present too.
 */
export function compareObjects(
  lhs: unknown, rhs: unknown, ref: TypeRef, ctx: ShapeContext, opts: { fromZero: boolean } = { fromZero: false },
): Comparison {
  const c: Comparison = { added: emptySet(), modified: emptySet(), removed: emptySet() };
  walk(lhs, rhs, ref, [], opts.fromZero, c, ctx);
  return c;
}

function walk(
  l: unknown, r: unknown, ref: TypeRef, path: FieldPath, zero: boolean, c: Comparison, ctx: ShapeContext,
): void {
  const leaf = () => {
    if (l === undefined) insertPath(c.added, path);
    else if (r === undefined) insertPath(c.removed, path);
    else if (!deepEqual(l, r)) insertPath(c.modified, path);
  };
  const node = () => {
    if (l === undefined) insertPath(c.added, path);
    else if (r === undefined) insertPath(c.removed, path);
  };
  const sample = r !== undefined && r !== null ? r : l;
  const shape = shapeOf(ref, sample, ctx);

  if (shape.kind === 'map') {
    const lm = isObject(l) ? l : undefined;
    const rm = isObject(r) ? r : undefined;
    const mismatch = (l != null && !lm) || (r != null && !rm);
    const empty = (m: Record<string, unknown> | undefined) => !m || Object.keys(m).length === 0;
    if (mismatch || shape.atomic || (empty(lm) && empty(rm))) return leaf();
    const keys = new Set([...Object.keys(lm ?? {}), ...Object.keys(rm ?? {})]);
    for (const key of keys) {
      let lv = lm?.[key];
      const rv = rm?.[key];
      if (lv === undefined && rv === undefined) continue;
      const { ref: childRef, declared } = fieldType(shape, key);
      let childZero = false;
      if (zero && lv === undefined && declared) {
        lv = zeroValue(childRef, shape.required.includes(key), ctx);
        childZero = lv !== undefined;
      }
      walk(lv, rv, childRef, [...path, fieldElement(key)], childZero, c, ctx);
    }
    return node();
  }

  if (shape.kind === 'list') {
    const la = Array.isArray(l) ? l : undefined;
    const ra = Array.isArray(r) ? r : undefined;
    const mismatch = (l != null && !la) || (r != null && !ra);
    if (mismatch || shape.atomic || ((la?.length ?? 0) === 0 && (ra?.length ?? 0) === 0)) return leaf();
    compareListItems(shape, la ?? [], ra ?? [], path, c, ctx);
    return node();
  }

  leaf();
}

function compareListItems(
  shape: Extract<Shape, { kind: 'list' }>, la: unknown[], ra: unknown[], path: FieldPath, c: Comparison, ctx: ShapeContext,
): void {
  const byElement = new Map<string, { l: unknown[]; r: unknown[] }>();
  const entry = (pe: string) => {
    let e = byElement.get(pe);
    if (!e) byElement.set(pe, e = { l: [], r: [] });
    return e;
  };
  listItemElements(shape, la, path).forEach((pe, i) => entry(pe).l.push(la[i]));
  listItemElements(shape, ra, path).forEach((pe, i) => entry(pe).r.push(ra[i]));
  for (const [pe, { l, r }] of byElement) {
    const itemPath = [...path, pe];
    if (l.length <= 1 && r.length <= 1) {
      walk(l[0], r[0], shape.elem, itemPath, false, c, ctx);
    } else if (l.length >= 2 && r.length >= 2) {
      // Duplicated items (allowed in stored objects) are compared as one atomic value.
      if (!deepEqual(l, r)) insertPath(c.modified, itemPath);
    } else if (l.length >= 2) {
      if (r.length) walk(undefined, r[0], shape.elem, itemPath, false, c, ctx);
      insertPath(c.removed, itemPath);
    } else {
      if (l.length) walk(l[0], undefined, shape.elem, itemPath, false, c, ctx);
      insertPath(c.added, itemPath);
    }
  }
}

/** A field's value in the Go zero object: `{}` for a struct, null when required, else absent. */
function zeroValue(ref: TypeRef, required: boolean, ctx: ShapeContext): unknown {
  if (ref === undefined) return required ? null : undefined;
  const shape = shapeOf(ref, undefined, ctx);
  if (shape.kind === 'map' && !shape.atomic && Object.keys(shape.fields).length > 0) return {};
  return required ? null : undefined;
}
