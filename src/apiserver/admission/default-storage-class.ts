// kube-apiserver's DefaultStorageClass admission plugin: a new PersistentVolumeClaim that asks
// for no class (storageClassName absent, not "") gets the default StorageClass, the newest one
// annotated storageclass.kubernetes.io/is-default-class=true when there are several.
// https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#defaultstorageclass
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.d.ts';
import type { StorageClass } from 'kubernetes-types/storage/v1.d.ts';
import type { Store } from '../../store/store.ts';
import { decodeKv } from '../registry/codec.ts';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';
/** The class annotation claims used before spec.storageClassName existed (still honoured). */
export const BETA_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

export function isDefaultClass(sc: StorageClass): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[DEFAULT_CLASS_ANNOTATION] === 'true' || a[BETA_DEFAULT_CLASS_ANNOTATION] === 'true';
}

/** The default class among these: the newest default, by name when created in the same second. */
export function defaultClassOf(classes: StorageClass[]): StorageClass | undefined {
  const defaults = classes.filter(isDefaultClass);
  defaults.sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? '') ||
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return defaults[0];
}

export async function admitClaimStorageClass(store: Store, pvc: PersistentVolumeClaim): Promise<void> {
  if (pvc.spec?.storageClassName !== undefined && pvc.spec.storageClassName !== null) return; // "" asks for no class
  if (pvc.metadata?.annotations?.[BETA_CLASS_ANNOTATION] !== undefined) return;
  const { kvs } = await store.list('/registry/storage.k8s.io/storageclasses/');
  const def = defaultClassOf(kvs.map((kv) => decodeKv(kv) as StorageClass));
  if (def) pvc.spec = { ...pvc.spec, storageClassName: def.metadata!.name };
}
