// Defaults of EndpointSlice (discovery/v1), PriorityClass (scheduling/v1), StorageClass
// (storage/v1) and CustomResourceDefinition (apiextensions/v1).
import type { KubeObject } from '../types.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function defaultEndpointSlice(es: KubeObject): void {
  for (const p of Array.isArray(es.ports) ? (es.ports as Obj[]) : []) {
    if (!isObj(p)) continue;
    if (p.name === undefined || p.name === null) p.name = '';
    if (!p.protocol) p.protocol = 'TCP';
  }
}

export function defaultPriorityClass(pc: KubeObject): void {
  if (!pc.preemptionPolicy) pc.preemptionPolicy = 'PreemptLowerPriority';
}

export function defaultStorageClass(sc: KubeObject): void {
  if (!sc.reclaimPolicy) sc.reclaimPolicy = 'Delete';
  if (!sc.volumeBindingMode) sc.volumeBindingMode = 'Immediate';
}

export function defaultCustomResourceDefinition(crd: KubeObject): void {
  if (!isObj(crd.spec)) return;
  const spec = crd.spec as Obj;
  const names = (isObj(spec.names) ? spec.names : (spec.names = {})) as Obj;
  if (!names.singular && typeof names.kind === 'string') names.singular = names.kind.toLowerCase();
  if (!names.listKind && typeof names.kind === 'string' && names.kind) names.listKind = `${names.kind}List`;
  if (!isObj(spec.conversion)) spec.conversion = { strategy: 'None' };
  const conv = spec.conversion as Obj;
  const svc = ((conv.webhook as Obj | undefined)?.clientConfig as Obj | undefined)?.service;
  if (isObj(svc) && (svc.port === undefined || svc.port === null)) svc.port = 443;
  const status = (isObj(crd.status) ? crd.status : undefined) as Obj | undefined;
  const stored = status?.storedVersions;
  if (!Array.isArray(stored) || stored.length === 0) {
    const storage = (Array.isArray(spec.versions) ? (spec.versions as Obj[]) : []).find((v) => isObj(v) && v.storage === true);
    if (storage) crd.status = { ...(status ?? {}), storedVersions: [storage.name] };
  }
}
