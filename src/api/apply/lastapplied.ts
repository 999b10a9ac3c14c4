// Moving from client-side to server-side apply with kubectl: kube-apiserver lets
// the "kubectl" applier take over fields that kubectl.kubernetes.io/last-applied-configuration
// still describes, and keeps that annotation in step with what is applied.
// https://kubernetes.io/docs/reference/using-api/server-side-apply/#upgrading-from-client-side-apply-to-server-side-apply
import type { KubeObject } from '../types.ts';
import { compareObjects } from './compare.ts';
import { difference, type FieldSet } from './fieldset.ts';
import { toFieldSet } from './fieldsof.ts';
import { FieldPathError } from './shape.ts';
import type { FieldManagerOptions } from './updater.ts';
import { isObject } from './values.ts';
import { cloneJson } from '../json-clone.ts';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The fields the last client-side apply set that still hold the value it set;
 * undefined when there is no usable annotation.
 */
export function lastAppliedAllowance(live: KubeObject, opts: FieldManagerOptions): FieldSet | undefined {
  const text = live.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) return undefined; // a hand-edited annotation grants nothing
    throw e;
  }
  if (!isObject(lastApplied) || lastApplied.apiVersion !== opts.apiVersion) return undefined;
  const ctx = { resolver: opts.resolver };
  const liveObj = cloneJson(live);
  if (liveObj.metadata) delete liveObj.metadata.managedFields;
  try {
    const set = toFieldSet(lastApplied, opts.schema, ctx, { allowDuplicates: false });
    const cmp = compareObjects(lastApplied, liveObj, opts.schema, ctx);
    return difference(difference(difference(set, cmp.modified), cmp.added), cmp.removed);
  } catch (e) {
    if (e instanceof FieldPathError) return undefined; // an annotation that isn't a valid object grants nothing
    throw e;
  }
}

/** After a successful apply by "kubectl": the annotation becomes the applied configuration, if there was one. */
export function syncLastApplied(live: KubeObject, applied: KubeObject, result: KubeObject): void {
  if (!live.metadata?.annotations?.[LAST_APPLIED_ANNOTATION]) return;
  const config = cloneJson(applied);
  if (config.metadata?.annotations) delete config.metadata.annotations[LAST_APPLIED_ANNOTATION];
  result.metadata ??= {};
  result.metadata.annotations = { ...result.metadata.annotations, [LAST_APPLIED_ANNOTATION]: encodeLikeGo(config) + '\n' };
}

/** JSON as Go writes an unstructured object: keys sorted, HTML characters escaped. */
function encodeLikeGo(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (isObject(x)) return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])]));
    return x;
  };
  return JSON.stringify(sortKeys(v))
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}
