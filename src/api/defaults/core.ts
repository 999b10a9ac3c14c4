// Defaults of the core/v1 kinds other than Pod (pkg/apis/core/v1/defaults.go), plus what the
// registry strategies set on create that `kubectl get -o yaml` shows (Namespace finalizers,
// Service ipFamilies, initial statuses).
import type { KubeObject } from '../types.ts';
import { isNew } from './pod.ts';
import { defaultPVCSpec, defaultResourceList } from './podspec.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function list(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]).filter(isObj) : [];
}
function spec(obj: KubeObject): Obj {
  if (!isObj(obj.spec)) obj.spec = {};
  return obj.spec as Obj;
}
function status(obj: KubeObject): Obj {
  if (!isObj(obj.status)) obj.status = {};
  return obj.status as Obj;
}

export function defaultService(svc: KubeObject): void {
  const s = spec(svc);
  if (!s.sessionAffinity) s.sessionAffinity = 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP') {
    const cfg = isObj(s.sessionAffinityConfig) ? s.sessionAffinityConfig : {};
    const clientIP = isObj(cfg.clientIP) ? cfg.clientIP : {};
    if (typeof clientIP.timeoutSeconds !== 'number') s.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!s.type) s.type = 'ClusterIP';
  for (const p of list(s.ports)) {
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externallyAccessible = s.type === 'NodePort' || s.type === 'LoadBalancer' ||
    (s.type === 'ClusterIP' && Array.isArray(s.externalIPs) && s.externalIPs.length > 0);
  if (externallyAccessible && !s.externalTrafficPolicy) s.externalTrafficPolicy = 'Cluster';
  if (!s.internalTrafficPolicy && (s.type === 'ClusterIP' || s.type === 'NodePort' || s.type === 'LoadBalancer')) {
    s.internalTrafficPolicy = 'Cluster';
  }
  if (s.type === 'LoadBalancer' && typeof s.allocateLoadBalancerNodePorts !== 'boolean') s.allocateLoadBalancerNodePorts = true;
  if (s.type !== 'ExternalName') {
    // Skiff's service network is single-stack IPv4 (the service REST storage sets these on a real cluster).
    if (!s.ipFamilyPolicy) s.ipFamilyPolicy = 'SingleStack';
    if (!Array.isArray(s.ipFamilies) || s.ipFamilies.length === 0) s.ipFamilies = ['IPv4'];
  }
  if (isNew(svc) && !isObj(svc.status)) svc.status = { loadBalancer: {} };
}

export function defaultNamespace(ns: KubeObject): void {
  const name = ns.metadata?.name;
  if (name) {
    ns.metadata!.labels = { ...(ns.metadata!.labels ?? {}), 'kubernetes.io/metadata.name': name };
  }
  if (isNew(ns)) {
    const s = spec(ns);
    if (!Array.isArray(s.finalizers)) s.finalizers = ['kubernetes'];
  }
  const st = status(ns);
  if (!st.phase) st.phase = 'Active';
}

/** Secret type defaults to Opaque; stringData is folded into data as kube-apiserver does on write. */
export function defaultSecret(secret: KubeObject): void {
  if (!secret.type) secret.type = 'Opaque';
  if (isObj(secret.stringData)) {
    const data = isObj(secret.data) ? secret.data : {};
    for (const [k, v] of Object.entries(secret.stringData)) data[k] = Buffer.from(String(v ?? ''), 'utf8').toString('base64');
    secret.data = data;
    delete secret.stringData;
  }
}

export function defaultPersistentVolume(pv: KubeObject): void {
  const s = spec(pv);
  if (!s.persistentVolumeReclaimPolicy) s.persistentVolumeReclaimPolicy = 'Retain';
  if (!s.volumeMode) s.volumeMode = 'Filesystem';
  defaultResourceList(s.capacity);
  if (isObj(s.hostPath) && (s.hostPath.type === undefined || s.hostPath.type === null)) s.hostPath.type = '';
  const st = status(pv);
  if (!st.phase) st.phase = 'Pending';
}

export function defaultPersistentVolumeClaim(pvc: KubeObject): void {
  defaultPVCSpec(spec(pvc));
  const st = status(pvc);
  if (!st.phase) st.phase = 'Pending';
}

export function defaultNode(node: KubeObject): void {
  if (!isObj(node.status)) return;
  const st = node.status as Obj;
  defaultResourceList(st.capacity);
  if (!isObj(st.allocatable) && isObj(st.capacity)) st.allocatable = { ...st.capacity };
  defaultResourceList(st.allocatable);
}

export function defaultLimitRange(lr: KubeObject): void {
  for (const item of list(spec(lr).limits)) {
    if (item.type === 'Container') {
      const def = (isObj(item.default) ? item.default : {}) as Obj;
      const defReq = (isObj(item.defaultRequest) ? item.defaultRequest : {}) as Obj;
      // default limit ← max; default request ← default limit, then ← min.
      for (const [k, v] of Object.entries(isObj(item.max) ? item.max : {})) if (!Object.hasOwn(def, k)) def[k] = v;
      for (const [k, v] of Object.entries(def)) if (!Object.hasOwn(defReq, k)) defReq[k] = v;
      for (const [k, v] of Object.entries(isObj(item.min) ? item.min : {})) if (!Object.hasOwn(defReq, k)) defReq[k] = v;
      if (Object.keys(def).length) item.default = def;
      if (Object.keys(defReq).length) item.defaultRequest = defReq;
    }
    for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) defaultResourceList(item[f]);
  }
}

export function defaultResourceQuota(rq: KubeObject): void {
  if (isObj(rq.spec)) defaultResourceList((rq.spec as Obj).hard);
  if (isObj(rq.status)) {
    defaultResourceList((rq.status as Obj).hard);
    defaultResourceList((rq.status as Obj).used);
  }
}

export function defaultEndpoints(ep: KubeObject): void {
  for (const ss of list(ep.subsets)) for (const p of list(ss.ports)) if (!p.protocol) p.protocol = 'TCP';
}

/** core/v1 Event: the two string fields Go always serializes. */
export function defaultCoreEvent(ev: KubeObject): void {
  if (typeof ev.reportingComponent !== 'string') ev.reportingComponent = '';
  if (typeof ev.reportingInstance !== 'string') ev.reportingInstance = '';
}
