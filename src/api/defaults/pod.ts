// Pod-only defaults (SetDefaults_Pod), plus what the default admission plugins add to a new
// pod: ServiceAccount (serviceAccountName), Priority (priority, preemptionPolicy) and
// DefaultTolerationSeconds. https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/
import type { KubeObject } from '../types.ts';
import { parseQuantity } from '../validation/quantity.ts';
import { defaultPodSpec } from './podspec.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function list(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]).filter(isObj) : [];
}

/** Priorities of the built-in classes; others are resolved from the PriorityClass by the server. */
const SYSTEM_PRIORITIES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };

const DEFAULT_TOLERATION_SECONDS = 300;
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';

/** Whether the object has never been stored (admission-time defaults apply only then). */
export function isNew(obj: KubeObject): boolean {
  return !obj.metadata?.resourceVersion;
}

export function defaultPod(pod: KubeObject): void {
  if (!isObj(pod.spec)) pod.spec = {};
  const spec = pod.spec as Obj;
  // Requests default to limits, for containers and init containers of a Pod (not of templates).
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const res = isObj(c.resources) ? c.resources : undefined;
    if (!res || !isObj(res.limits)) continue;
    if (!isObj(res.requests)) res.requests = {};
    for (const [k, v] of Object.entries(res.limits)) if (!Object.hasOwn(res.requests as Obj, k)) (res.requests as Obj)[k] = v;
  }
  if (typeof spec.enableServiceLinks !== 'boolean') spec.enableServiceLinks = true;
  if (spec.hostNetwork === true) {
    for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
      for (const p of list(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }
  defaultPodSpec(spec);
  if (isNew(pod)) admitPod(pod, spec);
}

function admitPod(pod: KubeObject, spec: Obj): void {
  // ServiceAccount admission: the namespace's "default" account unless one is named; mirror pods
  // get none (src/apiserver/admission/service-account.ts checks the account and mounts its token).
  const meta = isObj(pod.metadata) ? pod.metadata : {};
  const mirror = isObj(meta.annotations) && (meta.annotations as Obj)['kubernetes.io/config.mirror'] !== undefined;
  if (!spec.serviceAccountName && !mirror) spec.serviceAccountName = spec.serviceAccount || 'default';
  // The deprecated alias kube-apiserver fills in from serviceAccountName on conversion.
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;

  // Priority admission.
  const pcName = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  if (typeof spec.priority !== 'number') {
    if (!pcName) spec.priority = 0;
    else if (pcName in SYSTEM_PRIORITIES) spec.priority = SYSTEM_PRIORITIES[pcName];
  }
  if (!spec.preemptionPolicy && (typeof spec.priority === 'number')) spec.preemptionPolicy = 'PreemptLowerPriority';

  // DefaultTolerationSeconds: tolerate not-ready/unreachable nodes for 5 minutes.
  const tolerations = list(spec.tolerations);
  const tolerates = (key: string) => tolerations.some((t) =>
    (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
  const added: Obj[] = [];
  for (const key of [NOT_READY_TAINT, UNREACHABLE_TAINT]) {
    if (!tolerates(key)) added.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  }
  if (added.length) spec.tolerations = [...tolerations, ...added];

  // The status a new pod starts with (the pod strategy's PrepareForCreate).
  const status = isObj(pod.status) ? pod.status : {};
  if (!status.phase) {
    pod.status = { ...status, phase: 'Pending', qosClass: podQOSClass(spec) };
  }
}

/** The pod's QoS class: https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/ */
export function podQOSClass(spec: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const res = isObj(c.resources) ? c.resources : {};
    const limits = (isObj(res.limits) ? res.limits : {}) as Obj;
    const requests = (isObj(res.requests) ? res.requests : {}) as Obj;
    for (const r of ['cpu', 'memory']) {
      const req = parseQuantity(requests[r]);
      const lim = parseQuantity(limits[r]);
      if ((req !== undefined && req !== 0) || (lim !== undefined && lim !== 0)) any = true;
      if (lim === undefined || (req !== undefined && req !== lim)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
