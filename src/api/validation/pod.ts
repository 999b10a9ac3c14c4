// Pod create and update validation: the spec, and on update the few fields a pod may change.
// https://kubernetes.io/docs/concepts/workloads/pods/#pod-update-and-replacement
import type { KubeObject, StatusCause } from '../types.ts';
import { forbidden, invalid, isObject, required } from './errors.ts';
import { semanticEqual } from './meta.ts';
import { inclusiveRangeError } from './names.ts';
import { validatePodSpec, validateTolerations } from './podspec.ts';
import { cloneJson } from '../json-clone.ts';

type Obj = Record<string, unknown>;

const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

export function validatePod(pod: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = pod.spec as Obj | undefined;
  const out = validatePodSpec(spec, 'spec', { isPod: true });
  if (!old) {
    if (Array.isArray(spec?.ephemeralContainers) && spec.ephemeralContainers.length > 0) {
      out.push(forbidden('spec.ephemeralContainers', 'cannot be set on create'));
    }
    if (spec?.nodeName && Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0) {
      out.push(forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
    }
    return out;
  }
  return out.concat(validatePodUpdate(spec ?? {}, (old.spec ?? {}) as Obj));
}

function containers(spec: Obj, f: string): Obj[] {
  return Array.isArray(spec[f]) ? (spec[f] as Obj[]) : [];
}

function validatePodUpdate(spec: Obj, oldSpec: Obj): StatusCause[] {
  const out: StatusCause[] = [];
  for (const f of ['containers', 'initContainers']) {
    const n = containers(spec, f);
    const o = containers(oldSpec, f);
    if (n.length !== o.length) return [...out, forbidden(`spec.${f}`, 'pod updates may not add or remove containers')];
    n.forEach((c, i) => {
      if (typeof c.image === 'string' && c.image.trim().length !== c.image.length) {
        out.push(invalid(`spec.${f}[${i}].image`, c.image, 'must not have leading or trailing whitespace'));
      }
    });
  }
  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (typeof ads === 'number') {
    if (ads < 0 || ads > 2147483647) return [...out, invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, 2147483647))];
    if (typeof oldAds === 'number' && oldAds < ads) return [...out, invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value')];
  } else if (typeof oldAds === 'number') {
    out.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  out.push(...validateOnlyAddedTolerations(spec.tolerations, oldSpec.tolerations));
  out.push(...validateOnlyDeletedSchedulingGates(spec.schedulingGates, oldSpec.schedulingGates));

  // Put back what may change, then anything left that differs is a forbidden change.
  const munged: Obj = cloneJson(spec);
  for (const f of ['containers', 'initContainers']) {
    if (Array.isArray(munged[f])) {
      munged[f] = (munged[f] as Obj[]).map((c, i) => ({ ...c, image: containers(oldSpec, f)[i]?.image }));
    }
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.tolerations = oldSpec.tolerations;
  munged.schedulingGates = oldSpec.schedulingGates;
  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1) munged.terminationGracePeriodSeconds = oldGrace;
  if (Array.isArray(oldSpec.schedulingGates) && oldSpec.schedulingGates.length > 0) {
    // Gated pods may gain node selector terms and node affinity before they are scheduled.
    munged.nodeSelector = oldSpec.nodeSelector;
    if (isObject(munged.affinity)) munged.affinity = { ...munged.affinity, nodeAffinity: (oldSpec.affinity as Obj | undefined)?.nodeAffinity };
  }
  if (!semanticEqual(munged, oldSpec)) {
    out.push(forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\n${specDiff(oldSpec, munged)}`));
  }
  return out;
}

function validateOnlyAddedTolerations(tolerations: unknown, oldTolerations: unknown): StatusCause[] {
  const n = Array.isArray(tolerations) ? (tolerations as Obj[]) : [];
  for (const o of Array.isArray(oldTolerations) ? (oldTolerations as Obj[]) : []) {
    const found = n.some((t) => semanticEqual({ ...o, tolerationSeconds: t.tolerationSeconds }, t));
    if (!found) return [forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(n, 'spec.tolerations');
}

function validateOnlyDeletedSchedulingGates(gates: unknown, oldGates: unknown): StatusCause[] {
  const old = new Set((Array.isArray(oldGates) ? (oldGates as Obj[]) : []).map((g) => String(g?.name)));
  const out: StatusCause[] = [];
  (Array.isArray(gates) ? (gates as Obj[]) : []).forEach((g, i) => {
    if (!old.has(String(g?.name))) out.push(forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${g?.name}'`));
  });
  return out;
}

/** A short diff of the changed leaves ("- old" / "+ new" per path), in place of Go's cmp.Diff. */
export function specDiff(oldSpec: unknown, newSpec: unknown): string {
  const lines: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (semanticEqual(a, b)) return;
    if (isObject(a) && isObject(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((x, i) => walk(x, b[i], `${path}[${i}]`));
      return;
    }
    if (a !== undefined) lines.push(`- ${path}: ${JSON.stringify(a)}`);
    if (b !== undefined) lines.push(`+ ${path}: ${JSON.stringify(b)}`);
  };
  walk(oldSpec, newSpec, 'spec');
  return lines.join('\n');
}

export function requiredSpec(obj: KubeObject): StatusCause[] {
  return isObject(obj.spec) ? [] : [required('spec')];
}
