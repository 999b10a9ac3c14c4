// What the server does to an object's metadata and status on create and update,
// the rules kube-apiserver's generic registry and per-kind strategies apply
// (k8s.io/apiserver/pkg/registry/rest: BeforeCreate / BeforeUpdate).
import { randomBytes, randomUUID } from 'node:crypto';
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { rfc3339 } from '../../api/time.ts';
import { isCsr, prepareCsrUpdate } from './csr.ts';

/** Kinds whose metadata.generation counts spec changes. Custom resources always do. */
const GENERATION_GROUPS = new Set(['apps', 'batch', 'apiextensions.k8s.io', 'networking.k8s.io', 'policy']);

export function tracksGeneration(r: ResourceInfo): boolean {
  return r.custom === true || GENERATION_GROUPS.has(r.group);
}

export function hasStatusSubresource(r: ResourceInfo): boolean {
  return r.subresources.includes('status');
}

// generateName suffixes use this alphabet (no vowels, no look-alikes), 5 characters.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateNameSuffix(): string {
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += NAME_ALPHABET[b % NAME_ALPHABET.length];
  return s;
}


/** Fills server-owned metadata of a new object and resets what a create may not set. */
export function prepareForCreate(r: ResourceInfo, obj: KubeObject, now: Date): void {
  const meta = (obj.metadata ??= {});
  if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${generateNameSuffix()}`;
  meta.uid = randomUUID();
  meta.creationTimestamp = rfc3339(now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  if (tracksGeneration(r)) meta.generation = 1;
  else delete meta.generation;
  if (hasStatusSubresource(r) && r.kind !== 'Node') {
    // Status is written through the status subresource; a create starts it empty.
    delete obj.status;
    if (r.kind === 'Pod') obj.status = { phase: 'Pending' };
    if (r.kind === 'Namespace') obj.status = { phase: 'Active' };
    if (r.kind === 'PersistentVolume' || r.kind === 'PersistentVolumeClaim') obj.status = { phase: 'Pending' };
  }
}

function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

/**
 * Carries over what an update may not change and bumps generation on spec changes.
 * subresource 'status' keeps everything but status; the main resource keeps status
 * when the kind has a status subresource.
 */
export function prepareForUpdate(r: ResourceInfo, obj: KubeObject, old: KubeObject, subresource: string): KubeObject {
  const meta = (obj.metadata ??= {});
  const oldMeta = old.metadata ?? {};
  let next: KubeObject;
  if (subresource === 'status') {
    // Status updates change status only (ResetObjectMetaForStatus keeps managedFields).
    next = { ...old, status: obj.status, metadata: { ...oldMeta, managedFields: meta.managedFields ?? oldMeta.managedFields } };
    if (obj.status === undefined) delete next.status;
  } else {
    next = { ...obj, metadata: { ...meta } };
    if (hasStatusSubresource(r)) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
  }
  const nm = next.metadata!;
  nm.name = oldMeta.name;
  if (oldMeta.namespace !== undefined) nm.namespace = oldMeta.namespace;
  else delete nm.namespace;
  nm.uid = oldMeta.uid;
  nm.creationTimestamp = oldMeta.creationTimestamp;
  if (oldMeta.deletionTimestamp) {
    nm.deletionTimestamp = oldMeta.deletionTimestamp;
    nm.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  } else {
    delete nm.deletionTimestamp;
    delete nm.deletionGracePeriodSeconds;
  }
  delete nm.selfLink;
  if (tracksGeneration(r)) {
    const oldGen = oldMeta.generation ?? 1;
    nm.generation = subresource === '' && specOf(next) !== specOf(old) ? oldGen + 1 : oldGen;
  } else {
    delete nm.generation;
  }
  return isCsr(r) ? prepareCsrUpdate(next, obj, old, subresource) : next;
}

/** Same content apart from resourceVersion: the write can be skipped (Kubernetes does not bump RV for a no-op). */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined } });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
