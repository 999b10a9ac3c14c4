// Merging an applied configuration into the live object (structured-merge-diff's
// Merge with "keep the right-hand side" for leaves): granular maps and structs
// merge key by key, lists of type map/set merge item by item, and everything
// atomic is replaced. https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy
import { listItemElements } from './fieldsof.ts';
import { fieldType, type Shape, shapeOf, type ShapeContext, type TypeRef } from './shape.ts';
import { isObject } from './values.ts';
import { cloneJson } from '../json-clone.ts';

export function mergeObjects(lhs: unknown, rhs: unknown, ref: TypeRef, ctx: ShapeContext): unknown {
  return merge(lhs, rhs, ref, ctx);
}

function merge(l: unknown, r: unknown, ref: TypeRef, ctx: ShapeContext): unknown {
  if (r === undefined) return cloneJson(l);
  if (l === undefined) return cloneJson(r);
  const shape = shapeOf(ref, r !== null ? r : l, ctx);

  if (shape.kind === 'map') {
    const lm = isObject(l) ? l : undefined;
    const rm = isObject(r) ? r : undefined;
    if ((l !== null && !lm) || (r !== null && !rm) || shape.atomic) return cloneJson(r);
    const lEmpty = !lm || Object.keys(lm).length === 0;
    const rEmpty = !rm || Object.keys(rm).length === 0;
    if (lEmpty && rEmpty) return cloneJson(r);
    const out: Record<string, unknown> = {};
    const keys = [...Object.keys(lm ?? {}), ...Object.keys(rm ?? {}).filter((k) => !lm || !Object.hasOwn(lm, k))];
    for (const key of keys) {
      const rv = rm?.[key];
      const v = merge(lm?.[key], rv, fieldType(shape, key).ref, ctx);
      // A null set by the applier clears the field, as decoding into a Go object would.
      if (v === undefined || (v === null && rv === null)) continue;
      out[key] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  if (shape.kind === 'list') {
    const la = Array.isArray(l) ? l : undefined;
    const ra = Array.isArray(r) ? r : undefined;
    if ((l !== null && !la) || (r !== null && !ra) || shape.atomic) return cloneJson(r);
    if ((la?.length ?? 0) === 0 && (ra?.length ?? 0) === 0) return cloneJson(r);
    const out = mergeListItems(shape, la ?? [], ra ?? [], ctx);
    return out.length > 0 ? out : undefined;
  }

  return cloneJson(r);
}

/**
 * Items keep the live order, except that items present on both sides follow
 * the applied order; items only in the applied config are placed after the
 * shared item they follow there.
 */
function mergeListItems(shape: Extract<Shape, { kind: 'list' }>, la: unknown[], ra: unknown[], ctx: ShapeContext): unknown[] {
  const lpes = listItemElements(shape, la, []);
  const rpes = listItemElements(shape, ra, []);
  const lByPe = new Map<string, unknown>();
  lpes.forEach((pe, i) => { if (!lByPe.has(pe)) lByPe.set(pe, la[i]); });
  const rByPe = new Map<string, unknown>();
  rpes.forEach((pe, i) => { if (!rByPe.has(pe)) rByPe.set(pe, ra[i]); });

  const shared = rpes.filter((pe) => lByPe.has(pe));
  let next = 0; // index in `shared` of the shared item to place next
  const done = new Set<string>();
  const out: unknown[] = [];
  const push = (v: unknown) => { if (v !== undefined) out.push(v); };

  let li = 0, ri = 0;
  while (li < lpes.length || ri < rpes.length) {
    if (li < lpes.length && ri < rpes.length) {
      const pe = lpes[li];
      if (pe === rpes[ri]) {
        done.add(pe);
        push(merge(lByPe.get(pe), rByPe.get(pe), shape.elem, ctx));
        li++;
        ri++;
        next++; // this was the next shared item in applied order
        continue;
      }
      if (rByPe.has(pe) && next < shared.length && shared[next] !== pe) {
        li++; // a shared item, placed when the applied order reaches it
        continue;
      }
    }
    if (li < lpes.length) {
      const pe = lpes[li];
      if (!rByPe.has(pe)) {
        push(cloneJson(la[li]));
        li++;
        continue;
      }
      if (done.has(pe)) li++;
    }
    if (ri < rpes.length) {
      const pe = rpes[ri];
      if (!done.has(pe)) {
        done.add(pe);
        push(merge(lByPe.get(pe), rByPe.get(pe), shape.elem, ctx));
      }
      ri++;
      if (next < shared.length && shared[next] === pe) next++;
    }
  }
  return out;
}
