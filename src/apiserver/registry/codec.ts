// How objects sit in the store: JSON with apiVersion, kind and metadata first
// and without metadata.resourceVersion, which is the store's modRevision and is
// spliced in on the way out. Keeping it out of the stored bytes lets a LIST be
// answered by concatenating stored strings without parsing them.
import type { KeyValue } from '../../store/store.ts';
import type { KubeObject, ResourceInfo } from '../../api/types.ts';

export function storageKey(r: ResourceInfo, namespace: string, name: string): string {
  return `${storagePrefix(r, r.namespaced ? namespace : '')}${name}`;
}

/** Prefix of every object of the resource (namespace '' = all namespaces). */
export function storagePrefix(r: ResourceInfo, namespace: string): string {
  const base = `/registry/${r.group || 'core'}/${r.plural}/`;
  return r.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function encodeObject(obj: KubeObject): string {
  const { apiVersion, kind, metadata, ...rest } = obj;
  const { resourceVersion: _rv, ...meta } = metadata ?? {};
  return JSON.stringify({ apiVersion, kind, metadata: meta, ...rest });
}

const META = '"metadata":{';

/** The stored JSON with metadata.resourceVersion set to the kv's modRevision. */
export function storedJsonWithVersion(value: string, rev: number): string {
  const i = value.indexOf(META);
  if (i < 0) throw new Error('stored object has no metadata');
  const at = i + META.length;
  const sep = value[at] === '}' ? '' : ',';
  return `${value.slice(0, at)}"resourceVersion":"${rev}"${sep}${value.slice(at)}`;
}

export function decodeKv(kv: KeyValue): KubeObject {
  const obj = JSON.parse(kv.value) as KubeObject;
  obj.metadata!.resourceVersion = String(kv.modRevision);
  return obj;
}
