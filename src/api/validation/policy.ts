// policy/v1 PodDisruptionBudget (pkg/apis/policy/validation: ValidatePodDisruptionBudget and
// ValidatePodDisruptionBudgetStatusUpdate).
// https://kubernetes.io/docs/tasks/run-application/configure-pdb/
import type { KubeObject, StatusCause } from '../types.ts';
import { child, duplicate, index, invalid, invalidEach, isObject, nonNegative, notSupported, raw, required, tooLong } from './errors.ts';
import { validateLabelSelector } from './meta.ts';
import { isQualifiedName } from './names.ts';

type Obj = Record<string, unknown>;

export const UNHEALTHY_POD_EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];

const PERCENT_MESSAGE = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** ValidatePositiveIntOrPercent + IsNotMoreThan100Percent, as the apps validation applies them. */
function validateIntOrPercent(v: unknown, path: string): StatusCause[] {
  if (typeof v === 'number') return nonNegative(path, v);
  if (typeof v !== 'string') return [invalid(path, v, "must be an integer or percentage (e.g '5%')")];
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) return [invalid(path, raw(v), PERCENT_MESSAGE)];
  return Number(m[1]) > 100 ? [invalid(path, raw(v), 'must not be greater than 100%')] : [];
}

export function validatePodDisruptionBudget(pdb: KubeObject, _old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = (isObject(pdb.spec) ? pdb.spec : {}) as Obj;
  const has = (v: unknown) => v !== undefined && v !== null;
  if (has(spec.minAvailable) && has(spec.maxUnavailable)) {
    out.push(invalid('spec', raw(`{minAvailable: ${String(spec.minAvailable)}, maxUnavailable: ${String(spec.maxUnavailable)}}`),
      'minAvailable and maxUnavailable cannot be both set'));
  }
  if (has(spec.minAvailable)) out.push(...validateIntOrPercent(spec.minAvailable, 'spec.minAvailable'));
  if (has(spec.maxUnavailable)) out.push(...validateIntOrPercent(spec.maxUnavailable, 'spec.maxUnavailable'));
  if (has(spec.selector)) out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (has(policy) && !UNHEALTHY_POD_EVICTION_POLICIES.includes(String(policy))) {
    out.push(notSupported('spec.unhealthyPodEvictionPolicy', policy, UNHEALTHY_POD_EVICTION_POLICIES));
  }
  if (isObject(pdb.status)) out.push(...validateStatus(pdb.status));
  return out;
}

function validateStatus(status: Obj): StatusCause[] {
  const out = validateConditions(status.conditions, 'status.conditions');
  for (const f of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) {
    out.push(...nonNegative(child('status', f), status[f]));
  }
  return out;
}

const REASON_RE = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const CONDITION_STATUSES = ['False', 'True', 'Unknown'];

/** metav1.Condition lists (apimachinery's ValidateConditions). */
export function validateConditions(conditions: unknown, path: string): StatusCause[] {
  if (!Array.isArray(conditions)) return [];
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  conditions.forEach((c: unknown, i: number) => {
    const p = index(path, i);
    const cond = (isObject(c) ? c : {}) as Obj;
    const type = typeof cond.type === 'string' ? cond.type : '';
    if (!type) out.push(required(child(p, 'type')));
    else out.push(...invalidEach(child(p, 'type'), type, isQualifiedName(type)));
    if (type && seen.has(type)) out.push(duplicate(child(p, 'type'), type));
    seen.add(type);
    if (!CONDITION_STATUSES.includes(String(cond.status))) out.push(notSupported(child(p, 'status'), cond.status ?? '', CONDITION_STATUSES));
    out.push(...nonNegative(child(p, 'observedGeneration'), cond.observedGeneration));
    if (!cond.lastTransitionTime) out.push(required(child(p, 'lastTransitionTime'), 'must be set'));
    const reason = typeof cond.reason === 'string' ? cond.reason : '';
    if (!reason) out.push(required(child(p, 'reason')));
    else {
      if (reason.length > 1024) out.push(tooLong(child(p, 'reason'), 1024));
      if (!REASON_RE.test(reason)) {
        out.push(invalid(child(p, 'reason'), reason, "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName',  or 'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used for validation is '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')"));
      }
    }
    if (typeof cond.message === 'string' && cond.message.length > 32768) out.push(tooLong(child(p, 'message'), 32768));
  });
  return out;
}
