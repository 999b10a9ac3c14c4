// Server-side apply: merge an applied configuration into the live object and
// record the applier as owner of exactly the fields it sent.
// https://kubernetes.io/docs/reference/using-api/server-side-apply/
import type { KubeObject } from '../types.ts';
import { ApplyError } from './errors.ts';
import {
  difference, emptySet, type FieldSet, hasPath, intersection, isEmptySet, listPaths, recursiveDifference,
  union,
} from './fieldset.ts';
import { ensureNamedFieldsAreMembers, removeItems, toFieldSet } from './fieldsof.ts';
import { lastAppliedAllowance, syncLastApplied } from './lastapplied.ts';
import { decodeManagedFields, encodeManagedFields, managerKey, type Managers } from './managers.ts';
import { mergeObjects } from './merge.ts';
import { FieldPathError } from './shape.ts';
import {
  type FieldManagerOptions, OwnershipConflicts, recordUpdate, resetFieldSet, stripMeta, type UpdateContext,
  updateOwnership,
} from './updater.ts';
import { deepEqual } from './values.ts';
import { cloneJson } from '../json-clone.ts';

export interface ApplyOptions extends FieldManagerOptions {
  force: boolean;
}

/**
 * Applies `applied` (the request body) to `live` (undefined for a create) as
 * `opts.manager`. Returns the object to store, with metadata.managedFields set;
 * throws ApplyConflictError (409) or ApplyError (400/500).
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): { object: KubeObject } {
  if (applied.metadata?.managedFields != null) throw new ApplyError(400, 'metadata.managedFields must be nil');
  try {
    let object: KubeObject;
    try {
      object = applyOnce(live, applied, opts, opts.force);
    } catch (e) {
      if (!(e instanceof OwnershipConflicts)) throw e;
      // `kubectl apply --server-side` may take over fields that client-side
      // apply set, as long as they still hold what last-applied says.
      const allowed = opts.manager === 'kubectl' && live ? lastAppliedAllowance(live, opts) : undefined;
      if (!allowed) throw e.toError();
      const notAllowed = (p: string[]) => !hasPath(allowed, p);
      if (e.sets.some(({ set }) => listPaths(set).some(notAllowed))) throw e.toError(notAllowed);
      object = applyOnce(live, applied, opts, true);
    }
    if (opts.manager === 'kubectl' && live) syncLastApplied(live, applied, object);
    return { object };
  } catch (e) {
    if (e instanceof OwnershipConflicts) throw e.toError();
    if (e instanceof FieldPathError) throw new ApplyError(500, `failed to merge the applied configuration (${describe(applied, opts)}): ${e.message}`);
    throw e;
  }
}

/** `default/web; apps/v1, Kind=Deployment`, as kube-apiserver names an object in these errors. */
function describe(obj: KubeObject, opts: FieldManagerOptions): string {
  const gv = opts.apiVersion.includes('/') ? opts.apiVersion : `/${opts.apiVersion}`;
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}; ${gv}, Kind=${obj.kind ?? ''}`;
}

function withoutManagedFields(obj: KubeObject): KubeObject {
  const copy = cloneJson(obj);
  if (copy.metadata) delete copy.metadata.managedFields;
  return copy;
}

function applyOnce(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions, force: boolean): KubeObject {
  const u: UpdateContext = { ref: opts.schema, ctx: { resolver: opts.resolver }, ignored: resetFieldSet(opts) };
  let managers: Managers;
  try {
    managers = decodeManagedFields(live?.metadata?.managedFields);
  } catch (e) {
    throw new ApplyError(500, `failed to decode managed fields: ${(e as Error).message}`);
  }
  const liveObj: KubeObject = live ? withoutManagedFields(live) : {};

  // An object nobody tracked yet: whoever wrote it owns what is there.
  if (managers.size === 0 && live) {
    recordUpdate(managers, undefined, liveObj, { manager: 'before-first-apply', apiVersion: opts.apiVersion, subresource: opts.subresource }, opts.now, u);
  }

  const config = cloneJson(applied);
  let appliedSet: FieldSet;
  try {
    appliedSet = toFieldSet(config, u.ref, u.ctx, { allowDuplicates: false });
  } catch (e) {
    if (e instanceof FieldPathError) throw new ApplyError(500, `failed to create typed patch object (${describe(applied, opts)}): ${e.message}`);
    throw e;
  }
  appliedSet = recursiveDifference(appliedSet, u.ignored);

  const merged = (mergeObjects(liveObj, config, u.ref, u.ctx) ?? {}) as KubeObject;
  const key = managerKey({ manager: opts.manager, operation: 'Apply', apiVersion: opts.apiVersion, subresource: opts.subresource });
  const previous = managers.get(key);
  managers.set(key, {
    manager: opts.manager, operation: 'Apply', apiVersion: opts.apiVersion, subresource: opts.subresource,
    time: previous?.time, set: appliedSet,
  });
  const pruned = prune(merged, managers, previous?.set, u);
  updateOwnership(liveObj, pruned, managers, key, force, u);

  const mine = managers.get(key);
  if (mine) {
    mine.set = stripMeta(mine.set);
    if (isEmptySet(mine.set)) managers.delete(key);
  }
  const changed = !deepEqual(liveObj, pruned);
  if (changed && managers.has(key)) managers.get(key)!.time = opts.now;
  const object = changed ? pruned : liveObj;
  const encoded = encodeManagedFields(managers);
  object.metadata ??= {};
  if (encoded) object.metadata.managedFields = encoded;
  else delete object.metadata.managedFields;
  return object;
}

/**
 * Removes what the applier applied last time and no longer applies, unless
 * another manager (or the new configuration) still owns it. Fields below a
 * removed struct that nobody owned go with it.
 */
function prune(merged: KubeObject, managers: Managers, lastSet: FieldSet | undefined, u: UpdateContext): KubeObject {
  if (!lastSet || isEmptySet(lastSet)) return merged;
  const named = (s: FieldSet) => ensureNamedFieldsAreMembers(s, u.ref, u.ctx);
  const fieldsOf = (v: unknown) => (v === undefined ? emptySet() : toFieldSet(v, u.ref, u.ctx, { allowDuplicates: true }));
  const last = named(lastSet);

  const withoutLast = removeItems(merged, last, u.ref, u.ctx);
  let managed = emptySet();
  for (const e of managers.values()) managed = union(managed, e.set);
  const mergedSet = named(fieldsOf(merged));
  const keptSet = union(named(fieldsOf(withoutLast)), named(managed));
  const ownedBack = removeItems(merged, difference(mergedSet, keptSet), u.ref, u.ctx);

  const removed = intersection(difference(mergedSet, named(fieldsOf(ownedBack))), last);
  return (removeItems(merged, removed, u.ref, u.ctx) ?? {}) as KubeObject;
}
