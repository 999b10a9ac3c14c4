// Defaults for a PodSpec wherever it appears (Pod, and templates in workloads), as
// SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Volume, SetDefaults_Probe and the
// generated defaulters of k8s.io/kubernetes/pkg/apis/core/v1 apply them.
import { canonicalQuantity, roundUpToMilli } from '../validation/quantity.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function list(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]).filter(isObj) : [];
}
function setIfAbsent(o: Obj, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null || o[k] === '') o[k] = v;
}

/** The tag of an image reference ('' when it has only a digest), 'latest' when it has neither. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const name = at === -1 ? image : image.slice(0, at);
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  if (tag) return tag;
  return at === -1 ? 'latest' : '';
}

/** Always for :latest (or no tag), IfNotPresent otherwise. */
export function defaultPullPolicy(image: unknown): string {
  return imageTag(typeof image === 'string' ? image : '') === 'latest' ? 'Always' : 'IfNotPresent';
}

/** SetDefaults_ResourceList: round up to milli precision; stored in canonical form. */
export function defaultResourceList(rl: unknown): void {
  if (!isObj(rl)) return;
  for (const [k, v] of Object.entries(rl)) {
    const rounded = roundUpToMilli(v);
    rl[k] = canonicalQuantity(rounded) ?? rounded;
  }
}

function defaultHTTPGet(h: unknown): void {
  if (!isObj(h)) return;
  setIfAbsent(h, 'path', '/');
  setIfAbsent(h, 'scheme', 'HTTP');
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  for (const [k, v] of [['timeoutSeconds', 1], ['periodSeconds', 10], ['successThreshold', 1], ['failureThreshold', 3]] as const) {
    if (p[k] === undefined || p[k] === null || p[k] === 0) p[k] = v;
  }
  defaultHTTPGet(p.httpGet);
  if (isObj(p.grpc)) setIfAbsent(p.grpc, 'service', '');
}

function defaultFieldRef(fr: unknown): void {
  if (isObj(fr)) setIfAbsent(fr, 'apiVersion', 'v1');
}

export function defaultContainer(c: Obj): void {
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === '') c.imagePullPolicy = defaultPullPolicy(c.image);
  setIfAbsent(c, 'terminationMessagePath', '/dev/termination-log');
  setIfAbsent(c, 'terminationMessagePolicy', 'File');
  for (const port of list(c.ports)) setIfAbsent(port, 'protocol', 'TCP');
  for (const e of list(c.env)) if (isObj(e.valueFrom)) defaultFieldRef(e.valueFrom.fieldRef);
  // ResourceRequirements is a struct, so it always shows (as {} when empty).
  if (!isObj(c.resources)) c.resources = {};
  const res = c.resources as Obj;
  defaultResourceList(res.limits);
  defaultResourceList(res.requests);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    for (const h of ['postStart', 'preStop']) if (isObj(c.lifecycle[h])) defaultHTTPGet((c.lifecycle[h] as Obj).httpGet);
  }
}

function defaultVolume(v: Obj): void {
  const sourceKeys = Object.keys(v).filter((k) => k !== 'name' && isObj(v[k]));
  if (sourceKeys.length === 0) v.emptyDir = {};
  if (isObj(v.hostPath) && (v.hostPath.type === undefined || v.hostPath.type === null)) v.hostPath.type = '';
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = v[k];
    if (isObj(s) && (s.defaultMode === undefined || s.defaultMode === null)) s.defaultMode = 420; // 0644
  }
  if (isObj(v.downwardAPI)) for (const it of list(v.downwardAPI.items)) defaultFieldRef(it.fieldRef);
  if (isObj(v.projected)) {
    for (const src of list(v.projected.sources)) {
      if (isObj(src.downwardAPI)) for (const it of list(src.downwardAPI.items)) defaultFieldRef(it.fieldRef);
      if (isObj(src.serviceAccountToken)) setIfAbsent(src.serviceAccountToken, 'expirationSeconds', 3600);
    }
  }
  if (isObj(v.iscsi)) setIfAbsent(v.iscsi, 'iscsiInterface', 'default');
  if (isObj(v.rbd)) {
    setIfAbsent(v.rbd, 'pool', 'rbd');
    setIfAbsent(v.rbd, 'user', 'admin');
    setIfAbsent(v.rbd, 'keyring', '/etc/ceph/keyring');
  }
  if (isObj(v.azureDisk)) {
    setIfAbsent(v.azureDisk, 'cachingMode', 'ReadWrite');
    setIfAbsent(v.azureDisk, 'fsType', 'ext4');
    if (v.azureDisk.readOnly === undefined) v.azureDisk.readOnly = false;
    setIfAbsent(v.azureDisk, 'kind', 'Shared');
  }
  if (isObj(v.emptyDir) && v.emptyDir.sizeLimit !== undefined) v.emptyDir.sizeLimit = canonicalQuantity(v.emptyDir.sizeLimit) ?? v.emptyDir.sizeLimit;
  const claim = isObj(v.ephemeral) ? v.ephemeral.volumeClaimTemplate : undefined;
  if (isObj(claim) && isObj(claim.spec)) defaultPVCSpec(claim.spec);
  if (isObj(v.image) && !v.image.pullPolicy) v.image.pullPolicy = defaultPullPolicy(v.image.reference);
}

export function defaultPVCSpec(spec: Obj): void {
  setIfAbsent(spec, 'volumeMode', 'Filesystem');
  if (isObj(spec.resources)) {
    defaultResourceList(spec.resources.requests);
    defaultResourceList(spec.resources.limits);
  }
}

/** Defaults of every PodSpec (SetDefaults_PodSpec and the nested defaulters). */
export function defaultPodSpec(spec: Obj): void {
  setIfAbsent(spec, 'dnsPolicy', 'ClusterFirst');
  setIfAbsent(spec, 'restartPolicy', 'Always');
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  if (typeof spec.terminationGracePeriodSeconds !== 'number') spec.terminationGracePeriodSeconds = 30;
  setIfAbsent(spec, 'schedulerName', 'default-scheduler');
  for (const v of list(spec.volumes)) defaultVolume(v);
  for (const f of ['initContainers', 'containers', 'ephemeralContainers']) for (const c of list(spec[f])) defaultContainer(c);
  defaultResourceList(spec.overhead);
}

/** A PodTemplateSpec inside a workload: only the PodSpec defaults (no Pod-level ones). */
export function defaultPodTemplate(template: unknown): void {
  if (!isObj(template)) return;
  if (!isObj(template.spec)) template.spec = {};
  defaultPodSpec(template.spec as Obj);
}
