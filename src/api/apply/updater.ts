// Ownership bookkeeping shared by apply and ordinary writes (structured-merge-diff's
// Updater.update plus kube-apiserver's wrappers): fields a write changes move to
// its manager; other managers lose them (or the write fails with a conflict).
import type { Schema, SchemaResolver } from '../schema/types.ts';
import { type Comparison, compareObjects } from './compare.ts';
import {
  difference, emptySet, fieldElement, type FieldSet, insertPath, intersection, isEmptySet, listPaths,
  pathString, recursiveDifference, union,
} from './fieldset.ts';
import { type ManagerEntry, managerKey, type Managers, printManager, subtractFromManager } from './managers.ts';
import type { ShapeContext } from './shape.ts';
import { ApplyConflictError } from './errors.ts';

export interface FieldManagerOptions {
  manager: string;
  /** The version the request was made in, e.g. 'apps/v1'. */
  apiVersion: string;
  schema: Schema | undefined;
  resolver: SchemaResolver | undefined;
  /** RFC 3339 time of the request, written to entries whose fields changed. */
  now: string;
  subresource?: string;
  /**
   * Fields this endpoint resets, never owned (Kubernetes' ResetFields): by default
   * `status` on the main resource when it has a status subresource, `spec` on
   * the status subresource.
   */
  resetFields?: string[][];
  /** Whether the resource has a status subresource (for the default resetFields). */
  hasStatusSubresource?: boolean;
}

/** The fields kube-apiserver never records as owned (its stripMeta set). */
const STRIPPED = ((): FieldSet => {
  const s = emptySet();
  for (const f of ['apiVersion', 'kind', 'metadata']) insertPath(s, [fieldElement(f)]);
  for (const f of ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion']) {
    insertPath(s, [fieldElement('metadata'), fieldElement(f)]);
  }
  return s;
})();

export function stripMeta(set: FieldSet): FieldSet {
  return difference(set, STRIPPED);
}

export function resetFieldSet(opts: FieldManagerOptions): FieldSet {
  const paths = opts.resetFields ??
    (opts.subresource === 'status' ? [['spec']] : !opts.subresource && opts.hasStatusSubresource ? [['status']] : []);
  const s = emptySet();
  for (const p of paths) insertPath(s, p.map(fieldElement));
  return s;
}

/** Conflicts found while updating ownership, before they are worded for the user. */
export class OwnershipConflicts extends Error {
  readonly sets: { entry: ManagerEntry; set: FieldSet }[];
  constructor(sets: { entry: ManagerEntry; set: FieldSet }[]) {
    super('conflicts');
    this.sets = sets;
  }

  toError(keep: (path: string[]) => boolean = () => true): ApplyConflictError {
    const sorted = [...this.sets].sort((a, b) => {
      const pa = printManager(a.entry), pb = printManager(b.entry);
      return pa < pb ? -1 : pa > pb ? 1 : 0;
    });
    const conflicts = sorted.flatMap(({ entry, set }) =>
      listPaths(set).filter(keep).map((p) => ({ manager: printManager(entry), field: pathString(p) }))
    );
    return new ApplyConflictError(conflicts);
  }
}

export interface UpdateContext {
  ref: Schema | undefined;
  ctx: ShapeContext;
  ignored: FieldSet;
}

/**
 * Compares old and new, then takes the changed fields away from every manager
 * but `workflow` (or throws OwnershipConflicts when !force and some were owned),
 * and the removed fields from everyone. Returns the raw comparison.
 */
export function updateOwnership(
  oldObj: unknown, newObj: unknown, managers: Managers, workflow: string, force: boolean, u: UpdateContext,
  fromZero = false,
): Comparison {
  const raw = compareObjects(oldObj, newObj, u.ref, u.ctx, { fromZero });
  const changed = recursiveDifference(union(raw.modified, raw.added), u.ignored);
  const removed = recursiveDifference(raw.removed, u.ignored);
  const conflicts: { key: string; entry: ManagerEntry; set: FieldSet }[] = [];
  for (const [key, entry] of managers) {
    if (key === workflow) continue;
    const owned = intersection(entry.set, changed);
    if (!isEmptySet(owned)) conflicts.push({ key, entry, set: owned });
  }
  if (!force && conflicts.length > 0) throw new OwnershipConflicts(conflicts);
  for (const c of conflicts) subtractFromManager(managers, c.key, c.set);
  if (!isEmptySet(removed)) {
    for (const key of [...managers.keys()]) if (key !== workflow) subtractFromManager(managers, key, removed);
  }
  for (const [key, entry] of managers) if (isEmptySet(entry.set)) managers.delete(key);
  return raw;
}

/**
 * Records an ordinary write by `id` (an Update operation): the fields it
 * changed join its entry, with a new time; a write that changed nothing leaves
 * the entries as they were. `oldObj` undefined means a create.
 */
export function recordUpdate(
  managers: Managers, oldObj: unknown, newObj: unknown,
  id: { manager: string; apiVersion: string; subresource?: string }, now: string, u: UpdateContext,
): void {
  // Compared under a name of its own so that the manager's earlier entry loses
  // what this write changes too, and only gets a new time if something changed.
  const current = '\u0000current-operation';
  const cmp = updateOwnership(oldObj ?? {}, newObj, managers, current, true, u, oldObj === undefined);
  const set = stripMeta(recursiveDifference(union(cmp.modified, cmp.added), u.ignored));
  if (isEmptySet(set)) return;
  const entry: ManagerEntry = { manager: id.manager, operation: 'Update', apiVersion: id.apiVersion, subresource: id.subresource, time: now, set };
  const key = managerKey(entry);
  const previous = managers.get(key);
  if (previous) entry.set = union(set, previous.set);
  managers.set(key, entry);
}
