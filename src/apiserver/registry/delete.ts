// DELETE with grace periods, preconditions, finalizers and propagation policy
// (https://kubernetes.io/docs/concepts/architecture/garbage-collection/).
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { errors } from '../errors.ts';
import { decodeKv, encodeObject, storageKey } from './codec.ts';
import { rfc3339 } from '../../api/time.ts';
import { storeError } from './read.ts';
import type { WriteContext } from './write.ts';
import { cloneJson } from '../../api/json-clone.ts';

const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string; // Orphan | Background | Foreground
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

export interface DeleteResult {
  object: KubeObject;
  /** true when the object is gone from the store; false when deletion is pending (grace, finalizers). */
  deleted: boolean;
}

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export async function deleteObject(ctx: WriteContext, r: ResourceInfo, namespace: string, name: string, opts: DeleteOptions): Promise<DeleteResult> {
  if (r.kind === 'Namespace' && r.group === '' && PROTECTED_NAMESPACES.has(name)) {
    throw errors.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
  }
  // Until the cache's watch shows it Terminating, creates in it must read it live (kube's forceLiveLookup).
  if (r.kind === 'Namespace' && r.group === '') ctx.namespaces?.forceLiveLookup(name);
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw errors.invalid('meta.k8s.io', 'DeleteOptions', '', [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy',
      message: `Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"` }]);
  }
  if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0) opts.gracePeriodSeconds = 1;
  const key = storageKey(r, namespace, name);
  for (let attempt = 0; ; attempt++) {
    const { kv } = await ctx.store.get(key).catch(storeError);
    if (!kv) throw errors.notFound(r.group, r.plural, name);
    const obj = decodeKv(kv);
    const meta = obj.metadata!;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== meta.uid) {
      throw errors.conflict(r.group, r.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
      throw errors.conflict(r.group, r.plural, name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`);
    }
    const pending = pendingDeletion(r, obj, opts, ctx.now());
    if (!pending) {
      if (opts.dryRun) return { object: obj, deleted: true };
      const res = await ctx.store.delete(key, kv.modRevision).catch(storeError);
      if (res.ok) {
        await ctx.admission.release?.(r, obj);
        return { object: obj, deleted: true };
      }
    } else {
      if (opts.dryRun || pending === obj) return { object: pending, deleted: false };
      const res = await ctx.store.update(key, encodeObject(pending), kv.modRevision).catch(storeError);
      if (res.ok) {
        pending.metadata!.resourceVersion = String(res.revision);
        return { object: pending, deleted: false };
      }
    }
    if (attempt >= 5) throw errors.conflict(r.group, r.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
}

/**
 * The object as it should be stored while deletion waits (deletionTimestamp set, finalizers
 * for the propagation policy), the unchanged object when nothing new is to be written, or
 * undefined when it can be removed now.
 */
function pendingDeletion(r: ResourceInfo, obj: KubeObject, opts: DeleteOptions, now: Date): KubeObject | undefined {
  const meta = obj.metadata!;
  const finalizers = [...(meta.finalizers ?? [])];
  const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
  if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
  // A CRD's custom resources are deleted before the CRD itself (see crd-controller.ts).
  if (r.group === 'apiextensions.k8s.io' && r.kind === 'CustomResourceDefinition' && !finalizers.includes(CRD_CLEANUP_FINALIZER)) {
    finalizers.push(CRD_CLEANUP_FINALIZER);
  }
  if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
  if (policy === 'Background') {
    // Background removes the GC's own finalizers a previous request asked for.
    for (const f of ['orphan', 'foregroundDeletion']) {
      const i = finalizers.indexOf(f);
      if (i >= 0 && !meta.deletionTimestamp) finalizers.splice(i, 1);
    }
  }
  // Pods bound to a node terminate gracefully: the kubelet confirms with a delete of grace 0.
  let grace = 0;
  if (r.group === '' && r.kind === 'Pod' && obj.spec?.nodeName && !['Succeeded', 'Failed'].includes(obj.status?.phase)) {
    grace = opts.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
  }
  const namespaceFinalizers = r.group === '' && r.kind === 'Namespace' ? (obj.spec?.finalizers ?? []) : [];
  if (finalizers.length === 0 && grace === 0 && namespaceFinalizers.length === 0) {
    // A pod already terminating gracefully and now deleted with grace 0 goes at once.
    return undefined;
  }
  if (meta.deletionTimestamp) {
    // Already deleting: only a shorter grace period or new finalizers change anything.
    const current = meta.deletionGracePeriodSeconds ?? 0;
    const changedFinalizers = finalizers.length !== (meta.finalizers ?? []).length;
    if (grace >= current && !changedFinalizers) return obj;
    const next = cloneJson(obj);
    if (grace < current) {
      next.metadata!.deletionGracePeriodSeconds = grace;
      next.metadata!.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
    }
    next.metadata!.finalizers = finalizers;
    return next;
  }
  const next = cloneJson(obj);
  next.metadata!.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
  next.metadata!.deletionGracePeriodSeconds = grace;
  if (finalizers.length > 0) next.metadata!.finalizers = finalizers;
  if (namespaceFinalizers.length > 0 || (r.group === '' && r.kind === 'Namespace')) {
    next.status = { ...(next.status ?? {}), phase: 'Terminating' };
  }
  return next;
}
