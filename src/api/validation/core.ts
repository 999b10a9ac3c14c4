// The remaining core/v1 kinds: Namespace, Node, PersistentVolume(Claim), LimitRange,
// ResourceQuota, ServiceAccount, Endpoints and Event.
import type { KubeObject, StatusCause } from '../types.ts';
import { child, duplicate, forbidden, index, invalid, invalidEach, isObject, key, nonNegative, notSupported, required } from './errors.ts';
import { semanticEqual, validateLabels } from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain, isIP, isQualifiedName, isValidLabelValue, isValidPortNum } from './names.ts';
import { specDiff } from './pod.ts';
import { validateTaintEffect } from './podspec.ts';
import { canonicalQuantity, parseQuantity, QUANTITY_FORMAT_ERROR } from './quantity.ts';

type Obj = Record<string, unknown>;

function specOf(o: KubeObject | undefined): Obj {
  return isObject(o?.spec) ? (o!.spec as Obj) : {};
}
function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}
function q(v: unknown): string {
  return canonicalQuantity(v) ?? String(v);
}

/** A map of quantities: each must parse and be non-negative. Returns the parsed values. */
function validateQuantities(list: unknown, path: string, out: StatusCause[]): Map<string, number> {
  const values = new Map<string, number>();
  for (const [name, v] of Object.entries(isObject(list) ? list : {})) {
    const p = key(path, name);
    out.push(...invalidEach(p, name, isQualifiedName(name)));
    const n = parseQuantity(v);
    if (n === undefined) out.push(invalid(p, String(v), QUANTITY_FORMAT_ERROR));
    else if (n < 0) out.push(invalid(p, q(v), 'must be greater than or equal to 0'));
    else values.set(name, n);
  }
  return values;
}

export function validateNamespace(ns: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  arr(specOf(ns).finalizers).forEach((f) => {
    const name = String(f);
    out.push(...invalidEach('spec.finalizers', name, isQualifiedName(name)));
    if (!name.includes('/') && name !== 'kubernetes') {
      out.push(invalid('spec.finalizers', name, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  return out;
}

export function validateNode(node: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(node);
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  arr(spec.taints).forEach((t, i) => {
    const p = index('spec.taints', i);
    if (!t?.key) out.push(required(child(p, 'key')));
    else out.push(...invalidEach(child(p, 'key'), t.key, isQualifiedName(String(t.key))));
    if (t?.value) out.push(...invalidEach(child(p, 'value'), t.value, isValidLabelValue(String(t.value))));
    if (!t?.effect) out.push(required(child(p, 'effect')));
    else out.push(...validateTaintEffect(t.effect, child(p, 'effect')));
    const k = `${t?.key}:${t?.effect}`;
    if (seen.has(k)) out.push(duplicate(p, `${t?.key}:${t?.effect}`));
    seen.add(k);
  });
  const cidrs = Array.isArray(spec.podCIDRs) ? (spec.podCIDRs as string[]) : spec.podCIDR ? [String(spec.podCIDR)] : [];
  cidrs.forEach((c, i) => {
    const [ip, bits] = String(c).split('/');
    if (!isIP(ip ?? '') || !/^[0-9]+$/.test(bits ?? '')) out.push(invalid(index('spec.podCIDRs', i), c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
  });
  if (old) {
    const o = specOf(old);
    if (o.podCIDR && spec.podCIDR !== o.podCIDR) out.push(forbidden('spec.podCIDR', 'node updates may not change podCIDR except from "" to valid'));
    if (o.providerID && spec.providerID !== o.providerID) out.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return out;
}

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const PV_SOURCES = ['gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc',
  'flocker', 'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'local', 'storageos', 'csi'];

function validateAccessModes(modes: unknown, path: string, detail: string): StatusCause[] {
  const list = Array.isArray(modes) ? modes : [];
  if (list.length === 0) return [required(path, detail)];
  return list.filter((m) => !ACCESS_MODES.includes(String(m))).map((m) => notSupported(path, m, ACCESS_MODES));
}

export function validatePersistentVolume(pv: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(pv);
  const out = validateAccessModes(spec.accessModes, 'spec.accessModes', '');
  if (!isObject(spec.capacity) || Object.keys(spec.capacity).length === 0) out.push(required('spec.capacity'));
  else {
    for (const k of Object.keys(spec.capacity)) if (k !== 'storage') out.push(notSupported('spec.capacity', k, ['storage']));
    validateQuantities(spec.capacity, 'spec.capacity', out);
  }
  const rp = spec.persistentVolumeReclaimPolicy;
  if (rp !== undefined && !['Delete', 'Recycle', 'Retain'].includes(String(rp))) out.push(notSupported('spec.persistentVolumeReclaimPolicy', rp, ['Delete', 'Recycle', 'Retain']));
  if (spec.volumeMode !== undefined && spec.volumeMode !== 'Block' && spec.volumeMode !== 'Filesystem') out.push(notSupported('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
  if (typeof spec.storageClassName === 'string' && spec.storageClassName) out.push(...invalidEach('spec.storageClassName', spec.storageClassName, isDNS1123Subdomain(spec.storageClassName)));
  const sources = PV_SOURCES.filter((s) => isObject(spec[s]));
  if (sources.length === 0) out.push(required('spec', 'must specify a volume type'));
  for (const s of sources.slice(1)) out.push(forbidden(child('spec', s), 'may not specify more than 1 volume type'));
  const hp = spec.hostPath as Obj | undefined;
  if (isObject(hp) && !hp.path) out.push(required('spec.hostPath.path'));
  if (old) {
    const strip = (s: Obj) => Object.fromEntries(PV_SOURCES.map((k) => [k, s[k]]));
    if (!semanticEqual(strip(spec), strip(specOf(old)))) out.push(forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
    if (!semanticEqual(spec.volumeMode, specOf(old).volumeMode)) out.push(invalid('volumeMode', spec.volumeMode ?? null, 'field is immutable'));
  }
  return out;
}

export function validatePersistentVolumeClaim(pvc: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(pvc);
  const out = validateAccessModes(spec.accessModes, 'spec.accessModes', 'at least 1 access mode is required');
  const requests = (spec.resources as Obj | undefined)?.requests as Obj | undefined;
  if (!isObject(requests) || requests.storage === undefined) out.push(required(key('spec.resources', 'storage')));
  else {
    const n = parseQuantity(requests.storage);
    if (n === undefined) out.push(invalid(key('spec.resources', 'storage'), String(requests.storage), QUANTITY_FORMAT_ERROR));
    else if (n <= 0) out.push(invalid(key('spec.resources', 'storage'), q(requests.storage), 'must be greater than zero'));
  }
  if (spec.volumeMode !== undefined && spec.volumeMode !== 'Block' && spec.volumeMode !== 'Filesystem') out.push(notSupported('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
  if (typeof spec.storageClassName === 'string' && spec.storageClassName) out.push(...invalidEach('spec.storageClassName', spec.storageClassName, isDNS1123Subdomain(spec.storageClassName)));
  out.push(...validateLabelSelectorish(spec.selector));
  if (old) {
    // ValidatePersistentVolumeClaimUpdate: the claim is immutable (quota and limits rely on it) except
    // volumeName, set once (by the binder or the user), a class given to a claim that had none
    // (the retroactive default StorageClass), and the storage request of a bound claim.
    const o = specOf(old);
    const before: Obj = { ...o, volumeAttributesClassName: undefined };
    const after: Obj = { ...spec, volumeAttributesClassName: undefined };
    if (!o.volumeName) before.volumeName = after.volumeName;
    const betaClass = old.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
    if (betaClass === undefined && (o.storageClassName === undefined || o.storageClassName === null) &&
      typeof spec.storageClassName === 'string' && spec.storageClassName) before.storageClassName = after.storageClassName;
    if ((pvc.status as Obj | undefined)?.phase === 'Bound' && isObject(requests)) {
      const oldRequests = (o.resources as Obj | undefined)?.requests as Obj | undefined;
      after.resources = { ...(spec.resources as Obj), requests: { ...requests, storage: oldRequests?.storage } };
      if (oldRequests?.storage === undefined) delete ((after.resources as Obj).requests as Obj).storage;
    }
    if (!semanticEqual(after, before)) {
      out.push(forbidden('spec', `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${specDiff(before, after)}`));
    }
    const oldSize = parseQuantity(((o.resources as Obj | undefined)?.requests as Obj | undefined)?.storage);
    const newSize = parseQuantity(requests?.storage);
    const statusSize = parseQuantity(((old.status as Obj | undefined)?.capacity as Obj | undefined)?.storage) ?? 0;
    if (oldSize !== undefined && newSize !== undefined && newSize < oldSize && newSize <= statusSize) {
      out.push(forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
    }
  }
  return out;
}

function validateLabelSelectorish(sel: unknown): StatusCause[] {
  return isObject(sel) ? validateLabels(sel.matchLabels, 'spec.selector.matchLabels') : [];
}

const LIMIT_TYPES = ['Container', 'PersistentVolumeClaim', 'Pod'];

export function validateLimitRange(lr: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  arr(specOf(lr).limits).forEach((item, i) => {
    const p = index('spec.limits', i);
    if (!item?.type) out.push(required(child(p, 'type')));
    else if (!LIMIT_TYPES.includes(String(item.type))) out.push(notSupported(child(p, 'type'), item.type, LIMIT_TYPES));
    const max = validateQuantities(item.max, child(p, 'max'), out);
    const min = validateQuantities(item.min, child(p, 'min'), out);
    const def = validateQuantities(item.default, child(p, 'default'), out);
    const defReq = validateQuantities(item.defaultRequest, child(p, 'defaultRequest'), out);
    validateQuantities(item.maxLimitRequestRatio, child(p, 'maxLimitRequestRatio'), out);
    if (item.type === 'Pod') {
      if (isObject(item.default) && Object.keys(item.default).length) out.push(forbidden(child(p, 'default'), "may not be specified when `type` is 'Pod'"));
      if (isObject(item.defaultRequest) && Object.keys(item.defaultRequest).length) out.push(forbidden(child(p, 'defaultRequest'), "may not be specified when `type` is 'Pod'"));
    }
    const raw = (m: unknown, k: string) => q((m as Obj)[k]);
    for (const [k, mn] of min) {
      const mx = max.get(k);
      if (mx !== undefined && mn > mx) out.push(invalid(key(child(p, 'min'), k), raw(item.min, k), `min value ${raw(item.min, k)} is greater than max value ${raw(item.max, k)}`));
    }
    for (const [k, d] of defReq) {
      const mn = min.get(k);
      const mx = max.get(k);
      const df = def.get(k);
      const path = key(child(p, 'defaultRequest'), k);
      if (mn !== undefined && mn > d) out.push(invalid(path, raw(item.defaultRequest, k), `min value ${raw(item.min, k)} is greater than default request value ${raw(item.defaultRequest, k)}`));
      if (mx !== undefined && d > mx) out.push(invalid(path, raw(item.defaultRequest, k), `default request value ${raw(item.defaultRequest, k)} is greater than max value ${raw(item.max, k)}`));
      if (df !== undefined && d > df) out.push(invalid(path, raw(item.defaultRequest, k), `default request value ${raw(item.defaultRequest, k)} is greater than default limit value ${raw(item.default, k)}`));
    }
    for (const [k, d] of def) {
      const mn = min.get(k);
      const mx = max.get(k);
      const path = key(child(p, 'default'), k);
      if (mn !== undefined && mn > d) out.push(invalid(path, raw(item.default, k), `min value ${raw(item.min, k)} is greater than default value ${raw(item.default, k)}`));
      if (mx !== undefined && d > mx) out.push(invalid(path, raw(item.default, k), `default value ${raw(item.default, k)} is greater than max value ${raw(item.max, k)}`));
    }
  });
  return out;
}

const QUOTA_SCOPES = ['BestEffort', 'CrossNamespacePodAffinity', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating', 'VolumeAttributesClass'];

export function validateResourceQuota(rq: KubeObject): StatusCause[] {
  const spec = specOf(rq);
  const out: StatusCause[] = [];
  validateQuantities(spec.hard, 'spec.hard', out);
  (Array.isArray(spec.scopes) ? spec.scopes : []).forEach((s: unknown) => {
    if (!QUOTA_SCOPES.includes(String(s))) out.push(notSupported('spec.scopes', s, QUOTA_SCOPES));
  });
  return out;
}

export function validateServiceAccount(sa: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  for (const f of ['secrets', 'imagePullSecrets']) {
    arr(sa[f]).forEach((s, i) => {
      if (s?.name) out.push(...invalidEach(child(index(f, i), 'name'), s.name, isDNS1123Subdomain(String(s.name))));
    });
  }
  return out;
}

export function validateEndpoints(ep: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  arr(ep.subsets).forEach((ss, i) => {
    const p = index('subsets', i);
    for (const f of ['addresses', 'notReadyAddresses']) {
      arr(ss?.[f]).forEach((a, j) => {
        const ap = index(child(p, f), j);
        if (!isIP(String(a?.ip ?? ''))) out.push(invalid(child(ap, 'ip'), a?.ip ?? '', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
        if (a?.hostname) out.push(...invalidEach(child(ap, 'hostname'), a.hostname, isDNS1123Label(String(a.hostname))));
      });
    }
    const ports = arr(ss?.ports);
    ports.forEach((port, j) => {
      const pp = index(child(p, 'ports'), j);
      if (ports.length > 1 && !port?.name) out.push(required(child(pp, 'name')));
      else if (port?.name) out.push(...invalidEach(child(pp, 'name'), port.name, isDNS1123Label(String(port.name))));
      out.push(...invalidEach(child(pp, 'port'), port?.port ?? 0, isValidPortNum(Number(port?.port ?? 0))));
      if (port?.protocol !== undefined && !['SCTP', 'TCP', 'UDP'].includes(String(port.protocol))) out.push(notSupported(child(pp, 'protocol'), port.protocol, ['SCTP', 'TCP', 'UDP']));
    });
  });
  return out;
}

/** core/v1 Event (the legacy API kubelet and kubectl describe use). */
export function validateCoreEvent(ev: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const involved = isObject(ev.involvedObject) ? ev.involvedObject : {};
  const ns = ev.metadata?.namespace ?? '';
  const ins = String(involved.namespace ?? '');
  if (ins === '' ? ns !== '' && ns !== 'default' : ins !== ns) out.push(invalid('involvedObject.namespace', ins, 'does not match event.namespace'));
  if (ev.reportingComponent) out.push(...invalidEach('reportingComponent', ev.reportingComponent, isQualifiedName(String(ev.reportingComponent))));
  if (ev.type !== undefined && ev.type !== '' && ev.type !== 'Normal' && ev.type !== 'Warning') out.push(notSupported('type', ev.type, ['Normal', 'Warning']));
  out.push(...nonNegative('count', ev.count));
  return out;
}
