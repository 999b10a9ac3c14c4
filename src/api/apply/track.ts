// Field ownership for ordinary writes (create, update, patch): the manager of
// the request takes the fields it changed, as an Update entry.
// https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../types.ts';
import { capUpdateManagers, decodeManagedFields, encodeManagedFields, type Managers } from './managers.ts';
import { FieldPathError } from './shape.ts';
import { type FieldManagerOptions, recordUpdate, resetFieldSet } from './updater.ts';
import { deepEqual } from './values.ts';
import { cloneJson } from '../json-clone.ts';

export interface TrackOptions extends FieldManagerOptions {
  operation: 'Update';
}

/**
 * Returns newObj with metadata.managedFields updated for a write by
 * `opts.manager`. `oldObj` is the stored object (undefined for a create).
 * managedFields in the request body are honoured (and `[]` resets them),
 * except on subresources, where the stored ones are used.
 */
export function trackUpdate(oldObj: KubeObject | undefined, newObj: KubeObject, opts: TrackOptions): KubeObject {
  const out = cloneJson(newObj);
  const requested = newObj.metadata?.managedFields;
  const stored = oldObj?.metadata?.managedFields;
  let managers: Managers;
  if (opts.subresource) managers = decodeOrEmpty(stored);
  else if (isReset(requested)) managers = new Map();
  else {
    const fromRequest = decodeOrUndefined(requested);
    managers = fromRequest && fromRequest.size > 0 ? fromRequest : decodeOrEmpty(stored);
  }
  out.metadata ??= {};
  delete out.metadata.managedFields;

  // kube-apiserver starts tracking an object at its creation or its first
  // apply; an existing object that has no entries stays untracked.
  if (managers.size === 0 && oldObj?.metadata?.uid) return out;

  const old = oldObj ? cloneJson(oldObj) : undefined;
  if (old?.metadata) delete old.metadata.managedFields;
  try {
    recordUpdate(
      managers, old, out, { manager: opts.manager, apiVersion: opts.apiVersion, subresource: opts.subresource }, opts.now,
      { ref: opts.schema, ctx: { resolver: opts.resolver }, ignored: resetFieldSet(opts) },
    );
  } catch (e) {
    // kube-apiserver never fails a write over field tracking: an object its
    // schema can't walk (say, duplicate list keys) keeps its previous entries.
    if (!(e instanceof FieldPathError)) throw e;
    if (stored) out.metadata.managedFields = stored;
    return out;
  }
  capUpdateManagers(managers);
  const encoded = encodeManagedFields(managers);
  if (encoded) out.metadata.managedFields = encoded;
  return out;
}

/** `[]`, or a single empty entry, asks to clear managedFields. */
function isReset(entries: ManagedFieldsEntry[] | undefined): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  return entries.length === 1 && deepEqual(entries[0], {});
}

function decodeOrUndefined(entries: ManagedFieldsEntry[] | undefined): Managers | undefined {
  try {
    return decodeManagedFields(entries);
  } catch (e) {
    // Invalid entries in a request are ignored in favour of the stored ones,
    // as kube-apiserver does (validation reports them separately).
    if (e instanceof Error) return undefined;
    throw e;
  }
}

function decodeOrEmpty(entries: ManagedFieldsEntry[] | undefined): Managers {
  return decodeOrUndefined(entries) ?? new Map();
}
