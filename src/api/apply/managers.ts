// metadata.managedFields as a map from manager identity to its field set, and
// back. https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management
import type { FieldsV1 as WireFieldsV1, ManagedFieldsEntry } from 'kubernetes-types/meta/v1.d.ts';
import { difference, type FieldSet, fromFieldsV1, isEmptySet, toFieldsV1, union } from './fieldset.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Entries by identity: appliers are one entry whatever the apiVersion; updaters one per apiVersion. */
export type Managers = Map<string, ManagerEntry>;

/** The identity kube-apiserver keys entries by (the entry without time, fields and, for Apply, apiVersion). */
export function managerKey(e: { manager: string; operation: Operation; apiVersion: string; subresource?: string }): string {
  const id: Record<string, string> = {};
  if (e.manager) id.manager = e.manager;
  id.operation = e.operation;
  if (e.operation === 'Update' && e.apiVersion) id.apiVersion = e.apiVersion;
  if (e.subresource) id.subresource = e.subresource;
  return JSON.stringify(id);
}

/** Decodes managedFields; throws on an entry kube-apiserver would not decode. */
export function decodeManagedFields(entries: ManagedFieldsEntry[] | undefined): Managers {
  const out: Managers = new Map();
  (entries ?? []).forEach((e, i) => {
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType "${e.fieldsType}" in managed fields entry ${i}`);
    const entry: ManagerEntry = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: e.subresource || undefined,
      time: e.time,
      set: fromFieldsV1(e.fieldsV1 ?? {}),
    };
    out.set(managerKey(entry), entry);
  });
  return out;
}

/** Encodes entries in kube-apiserver's order: Apply before Update, then oldest first, then by name. */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] | undefined {
  if (managers.size === 0) return undefined;
  const entries = [...managers.values()].sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const ps = seconds(p.time), qs = seconds(q.time);
    if (ps !== qs) return ps - qs;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    return (p.subresource ?? '') < (q.subresource ?? '') ? -1 : (p.subresource ?? '') > (q.subresource ?? '') ? 1 : 0;
  });
  return entries.map((e) => {
    const wire: ManagedFieldsEntry = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time) wire.time = e.time;
    wire.fieldsType = 'FieldsV1';
    wire.fieldsV1 = toFieldsV1(e.set) as WireFieldsV1;
    if (e.subresource) wire.subresource = e.subresource;
    return wire;
  });
}

function seconds(time: string | undefined): number {
  if (!time) return 0;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/**
 * Keeps at most `max` Update entries by folding the oldest ones into one
 * "ancient-changes" entry per apiVersion, as kube-apiserver does (max 10).
 */
export function capUpdateManagers(managers: Managers, max = 10): void {
  const updaters = [...managers.entries()].filter(([, e]) => e.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ka, a], [kb, b]) => seconds(a.time) - seconds(b.time) || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const firstOfVersion = new Map<string, string>();
  let count = updaters.length;
  for (let i = 0; i < updaters.length && count > max; i++) {
    const [key, entry] = updaters[i];
    const bucket: ManagerEntry = { manager: 'ancient-changes', operation: 'Update', apiVersion: entry.apiVersion, set: entry.set };
    const bucketKey = managerKey(bucket);
    const first = firstOfVersion.get(entry.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(entry.apiVersion, key);
      continue;
    }
    if (!managers.has(bucketKey)) {
      const firstEntry = managers.get(first)!;
      managers.delete(first);
      managers.set(bucketKey, { ...bucket, set: firstEntry.set, time: firstEntry.time });
    }
    const b = managers.get(bucketKey)!;
    b.set = union(entry.set, b.set);
    b.time = entry.time; // the more recent of the two
    managers.delete(key);
    count--;
  }
}

/** Removes `remove` (exact paths) from the entry at key, dropping the entry if nothing is left. */
export function subtractFromManager(managers: Managers, key: string, remove: FieldSet): void {
  const e = managers.get(key);
  if (!e) return;
  e.set = difference(e.set, remove);
  if (isEmptySet(e.set)) managers.delete(key);
}

/** How kube-apiserver names a manager in conflict messages. */
export function printManager(e: { manager: string; operation: Operation; apiVersion: string; subresource?: string }): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}
