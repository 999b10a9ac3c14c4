// ObjectMeta, labels, annotations and label selectors, as apimachinery validates them.
// https://github.com/kubernetes/apimachinery/blob/master/pkg/api/validation/objectmeta.go
import type { StatusCause } from '../types.ts';
import type { KubeObject } from '../types.ts';
import { child, forbidden, goQuote, goStringMap, index, invalid, invalidEach, isObject, raw, required, tooLong } from './errors.ts';
import { isDNS1123Label, isQualifiedName, isValidLabelValue, type NameFn } from './names.ts';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: unknown, path: string): StatusCause[] {
  if (!isObject(labels)) return [];
  const out: StatusCause[] = [];
  for (const [k, v] of Object.entries(labels)) {
    out.push(...invalidEach(path, k, isQualifiedName(k)));
    out.push(...invalidEach(path, v, isValidLabelValue(typeof v === 'string' ? v : String(v))));
  }
  return out;
}

export function validateAnnotations(annotations: unknown, path: string): StatusCause[] {
  if (!isObject(annotations)) return [];
  const out: StatusCause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    // Annotation keys are qualified names, case-insensitively.
    out.push(...invalidEach(path, k, isQualifiedName(k.toLowerCase())));
    size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : String(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return out;
}

export function validateLabelSelector(sel: unknown, path: string): StatusCause[] {
  if (!isObject(sel)) return [];
  const out = validateLabels(sel.matchLabels, child(path, 'matchLabels'));
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  exprs.forEach((e: Record<string, unknown>, i: number) => {
    const p = index(child(path, 'matchExpressions'), i);
    const values = Array.isArray(e?.values) ? e.values : [];
    switch (e?.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) out.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) out.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        out.push(invalid(child(p, 'operator'), e?.operator ?? '', 'not a valid selector operator'));
    }
    out.push(...invalidEach(child(p, 'key'), e?.key ?? '', isQualifiedName(String(e?.key ?? ''))));
  });
  return out;
}

/** Whether a metav1.LabelSelector selects the given labels (an empty selector selects everything). */
export function selectorMatches(sel: unknown, labels: Record<string, string> | undefined): boolean {
  if (!isObject(sel)) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries((sel.matchLabels as Record<string, string>) ?? {})) if (l[k] !== v) return false;
  for (const e of (sel.matchExpressions as Record<string, unknown>[]) ?? []) {
    const k = String(e.key);
    const values = (e.values as string[]) ?? [];
    const has = Object.hasOwn(l, k);
    if (e.operator === 'In' && !(has && values.includes(l[k]))) return false;
    if (e.operator === 'NotIn' && has && values.includes(l[k])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function selectorIsEmpty(sel: unknown): boolean {
  if (!isObject(sel)) return true;
  const ml = isObject(sel.matchLabels) ? Object.keys(sel.matchLabels).length : 0;
  const me = Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0;
  return ml + me === 0;
}

/** %#v of a *metav1.LabelSelector, the way "field is immutable" errors print it. */
export function goLabelSelector(sel: unknown) {
  if (!isObject(sel)) return raw('nil');
  const ml = isObject(sel.matchLabels) ? goStringMap(sel.matchLabels as Record<string, string>) : 'map[string]string(nil)';
  const exprs = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : undefined;
  const me = exprs === undefined
    ? '[]v1.LabelSelectorRequirement(nil)'
    : `[]v1.LabelSelectorRequirement{${exprs.map((e: Record<string, unknown>) =>
      `v1.LabelSelectorRequirement{Key:${goQuote(String(e.key ?? ''))}, Operator:${goQuote(String(e.operator ?? ''))}, Values:${
        Array.isArray(e.values) ? `[]string{${e.values.map((v: string) => goQuote(v)).join(', ')}}` : '[]string(nil)'}}`).join(', ')}}`;
  return raw(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

/** ValidateObjectMeta: name/generateName, namespace, labels, annotations, owner references, finalizers. */
export function validateObjectMeta(obj: KubeObject, namespaced: boolean, nameFn: NameFn): StatusCause[] {
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  const out: StatusCause[] = [];
  const name = typeof meta.name === 'string' ? meta.name : '';
  const generateName = typeof meta.generateName === 'string' ? meta.generateName : '';
  if (generateName) out.push(...invalidEach('metadata.generateName', generateName, nameFn(generateName, true)));
  if (!name) {
    // A server generates the name before validating; only a missing both is an error.
    if (!generateName) out.push(required('metadata.name', 'name or generateName is required'));
  } else {
    out.push(...invalidEach('metadata.name', name, nameFn(name, false)));
  }
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (namespaced) {
    if (!ns) out.push(required('metadata.namespace'));
    else out.push(...invalidEach('metadata.namespace', ns, isDNS1123Label(ns)));
  } else if (ns) {
    out.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0) {
    out.push(invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  }
  out.push(...validateLabels(meta.labels, 'metadata.labels'));
  out.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  out.push(...validateOwnerReferences(meta.ownerReferences, 'metadata.ownerReferences'));
  out.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  return out;
}

function validateOwnerReferences(refs: unknown, path: string): StatusCause[] {
  if (!Array.isArray(refs)) return [];
  const out: StatusCause[] = [];
  let firstController = '';
  for (const r of refs as Record<string, unknown>[]) {
    const apiVersion = String(r?.apiVersion ?? '');
    const version = apiVersion.includes('/') ? apiVersion.split('/')[1] : apiVersion;
    if (!version) out.push(invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (!r?.kind) out.push(invalid(child(path, 'kind'), String(r?.kind ?? ''), 'must not be empty'));
    if (!r?.name) out.push(invalid(child(path, 'name'), String(r?.name ?? ''), 'must not be empty'));
    if (!r?.uid) out.push(invalid(child(path, 'uid'), String(r?.uid ?? ''), 'must not be empty'));
    if (apiVersion === 'v1' && r?.kind === 'Event') out.push(invalid(path, r, '/v1, Kind=Event is disallowed from being an owner'));
    if (r?.controller === true) {
      const cur = `${r.kind}/${r.name}`;
      if (firstController) {
        out.push(invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`));
      } else firstController = cur;
    }
  }
  return out;
}

function validateFinalizers(finalizers: unknown, path: string): StatusCause[] {
  if (!Array.isArray(finalizers)) return [];
  const out: StatusCause[] = [];
  for (const f of finalizers) out.push(...invalidEach(path, f, isQualifiedName(String(f))));
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    out.push(invalid(path, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return out;
}

/** ValidateObjectMetaUpdate: identity fields are immutable; labels/annotations are re-validated. */
export function validateObjectMetaUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const m = (obj.metadata ?? {}) as Record<string, unknown>;
  const o = (old.metadata ?? {}) as Record<string, unknown>;
  const out: StatusCause[] = [];
  if (o.deletionTimestamp) {
    const before = new Set((o.finalizers as string[]) ?? []);
    const extra = ((m.finalizers as string[]) ?? []).filter((f) => !before.has(f)).sort();
    if (extra.length) {
      out.push(forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map(goQuote).join(', ')}}`));
    }
  }
  if (typeof m.generation === 'number' && typeof o.generation === 'number' && m.generation < o.generation) {
    out.push(invalid('metadata.generation', m.generation, 'must not be decremented'));
  }
  for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
    const nv = m[f] ?? (f === 'name' || f === 'namespace' || f === 'uid' ? '' : null);
    const ov = o[f] ?? (f === 'name' || f === 'namespace' || f === 'uid' ? '' : null);
    if (f === 'uid' && !m.uid) continue; // the server carries the uid over when a client omits it
    if (f === 'creationTimestamp' && !m.creationTimestamp) continue;
    if (JSON.stringify(nv) !== JSON.stringify(ov)) out.push(invalid(`metadata.${f}`, nv, 'field is immutable'));
  }
  out.push(...validateLabels(m.labels, 'metadata.labels'));
  out.push(...validateAnnotations(m.annotations, 'metadata.annotations'));
  out.push(...validateOwnerReferences(m.ownerReferences, 'metadata.ownerReferences'));
  out.push(...validateFinalizers(m.finalizers, 'metadata.finalizers'));
  return out;
}

/** Deep equality of plain JSON data (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** Semantic equality as Go's DeepEqual sees decoded structs: absent, null, {} and [] collapse where Go omits them. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return deepEqual(prune(a), prune(b));
}

function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(prune) : undefined;
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p !== undefined && p !== null) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}
