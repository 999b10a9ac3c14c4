// apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision
// (pkg/apis/apps/validation).
import type { KubeObject, StatusCause } from '../types.ts';
import { child, forbidden, goStringMap, invalid, isObject, nonNegative, notSupported, raw, required } from './errors.ts';
import { goLabelSelector, selectorIsEmpty, selectorMatches, semanticEqual, validateLabelSelector } from './meta.ts';
import { validatePodTemplateSpec } from './podspec.ts';

type Obj = Record<string, unknown>;

function specOf(o: KubeObject | undefined): Obj {
  return isObject(o?.spec) ? (o!.spec as Obj) : {};
}

/** Selector present, valid, non-empty, and selecting the template's labels. */
function validateSelectorAndTemplate(spec: Obj, kindWord: string): StatusCause[] {
  const out: StatusCause[] = [];
  const sel = spec.selector;
  if (sel === undefined || sel === null) out.push(required('spec.selector'));
  else {
    out.push(...validateLabelSelector(sel, 'spec.selector'));
    if (selectorIsEmpty(sel)) out.push(invalid('spec.selector', goLabelSelector(sel), `empty selector is invalid for ${kindWord}`));
  }
  const template = spec.template as Obj | undefined;
  if (!isObject(template)) {
    out.push(required('spec.template'));
    return out;
  }
  const labels = ((template.metadata as Obj | undefined)?.labels ?? undefined) as Record<string, string> | undefined;
  if (isObject(sel) && !selectorIsEmpty(sel) && !selectorMatches(sel, labels)) {
    out.push(invalid('spec.template.metadata.labels', raw(goStringMap(labels)), '`selector` does not match template `labels`'));
  }
  out.push(...validatePodTemplateSpec(template, 'spec.template'));
  const rp = (template.spec as Obj | undefined)?.restartPolicy;
  if (rp !== undefined && rp !== 'Always') out.push(notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  return out;
}

/** An IntOrString that is a non-negative int or a percent; returns its value (percent as-is) or undefined. */
function intOrPercent(v: unknown, path: string, out: StatusCause[]): { n: number; percent: boolean } | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') {
    out.push(...nonNegative(path, v));
    return { n: v, percent: false };
  }
  const m = /^([0-9]+)%$/.exec(String(v));
  if (!m) {
    out.push(invalid(path, raw(String(v)), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
    return undefined;
  }
  return { n: Number(m[1]), percent: true };
}

function validateRollingUpdate(ru: Obj, path: string, maxUnavailableMax100: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  const mu = intOrPercent(ru.maxUnavailable, child(path, 'maxUnavailable'), out);
  const ms = intOrPercent(ru.maxSurge, child(path, 'maxSurge'), out);
  if (maxUnavailableMax100 && mu?.percent && mu.n > 100) out.push(invalid(child(path, 'maxUnavailable'), raw(String(ru.maxUnavailable)), 'must not be greater than 100%'));
  if ((mu?.n ?? 0) === 0 && (ms?.n ?? 0) === 0 && ru.maxUnavailable !== undefined && ru.maxSurge !== undefined) {
    out.push(invalid(child(path, 'maxUnavailable'), raw(String(ru.maxUnavailable)), 'may not be 0 when `maxSurge` is 0'));
  }
  return out;
}

export function validateDeployment(d: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(d);
  const out: StatusCause[] = [];
  out.push(...nonNegative('spec.replicas', spec.replicas));
  out.push(...validateSelectorAndTemplate(spec, 'deployment'));
  const strategy = isObject(spec.strategy) ? spec.strategy : {};
  if (strategy.type !== undefined && strategy.type !== 'Recreate' && strategy.type !== 'RollingUpdate') {
    out.push(notSupported('spec.strategy.type', strategy.type, ['Recreate', 'RollingUpdate']));
  }
  if (strategy.type === 'Recreate' && strategy.rollingUpdate) {
    out.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  }
  if (isObject(strategy.rollingUpdate) && strategy.type !== 'Recreate') {
    out.push(...validateRollingUpdate(strategy.rollingUpdate, 'spec.strategy.rollingUpdate', true));
  }
  out.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  out.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  const pds = spec.progressDeadlineSeconds;
  if (typeof pds === 'number') {
    out.push(...nonNegative('spec.progressDeadlineSeconds', pds));
    if (pds <= Number(spec.minReadySeconds ?? 0)) out.push(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'));
  }
  if (old) out.push(...immutableSelector(spec, specOf(old)));
  return out;
}

export function validateReplicaSet(rs: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(rs);
  const out: StatusCause[] = [];
  out.push(...nonNegative('spec.replicas', spec.replicas));
  out.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  out.push(...validateSelectorAndTemplate(spec, 'deployment'));
  const ads = ((spec.template as Obj | undefined)?.spec as Obj | undefined)?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) out.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  if (old) out.push(...immutableSelector(spec, specOf(old)));
  return out;
}

export function validateDaemonSet(ds: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(ds);
  const out = validateSelectorAndTemplate(spec, 'daemonset');
  const ads = ((spec.template as Obj | undefined)?.spec as Obj | undefined)?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) out.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in DaemonSet is not Supported'));
  out.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  out.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  const us = isObject(spec.updateStrategy) ? spec.updateStrategy : {};
  if (us.type !== undefined && us.type !== 'OnDelete' && us.type !== 'RollingUpdate') {
    out.push(notSupported('spec.updateStrategy.type', us.type, ['OnDelete', 'RollingUpdate']));
  }
  if (us.type === 'RollingUpdate' && isObject(us.rollingUpdate)) {
    out.push(...validateDaemonSetRollingUpdate(us.rollingUpdate, 'spec.updateStrategy.rollingUpdate'));
  }
  if (old) out.push(...immutableSelector(spec, specOf(old)));
  return out;
}

/**
 * maxUnavailable and maxSurge: non-negative ints or percents up to 100%, exactly one
 * of them non-zero (the API defaults maxUnavailable to 1, so surging needs an
 * explicit maxUnavailable: 0; pkg/apis/apps/validation ValidateRollingUpdateDaemonSet).
 */
function validateDaemonSetRollingUpdate(ru: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const fields = { maxUnavailable: ru.maxUnavailable, maxSurge: ru.maxSurge };
  const values: Record<string, number> = {};
  for (const [name, v] of Object.entries(fields)) {
    const parsed = intOrPercent(v, child(path, name), out);
    values[name] = parsed?.n ?? 0;
    if (parsed?.percent && parsed.n > 100) out.push(invalid(child(path, name), raw(String(v)), 'must not be greater than 100%'));
  }
  const hasUnavailable = values.maxUnavailable !== 0;
  const hasSurge = values.maxSurge !== 0;
  if (hasUnavailable && hasSurge) out.push(invalid(child(path, 'maxSurge'), raw(String(ru.maxSurge)), 'may not be set when maxUnavailable is non-zero'));
  else if (!hasUnavailable && !hasSurge) out.push(required(child(path, 'maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
  return out;
}

export function validateStatefulSet(sts: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(sts);
  const out: StatusCause[] = [];
  const pmp = spec.podManagementPolicy;
  if (pmp !== undefined && pmp !== 'OrderedReady' && pmp !== 'Parallel') {
    out.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = isObject(spec.updateStrategy) ? spec.updateStrategy : {};
  if (us.type === 'OnDelete' && us.rollingUpdate) {
    out.push(invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (us.type !== undefined && us.type !== 'OnDelete' && us.type !== 'RollingUpdate') {
    out.push(invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  if (isObject(us.rollingUpdate)) {
    out.push(...nonNegative('spec.updateStrategy.rollingUpdate.partition', us.rollingUpdate.partition));
    const mu = us.rollingUpdate.maxUnavailable;
    if (mu !== undefined && mu !== null) {
      const tmp: StatusCause[] = [];
      const v = intOrPercent(mu, 'spec.updateStrategy.rollingUpdate.maxUnavailable', tmp);
      out.push(...tmp);
      if (v && v.n === 0) out.push(invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', raw(String(mu)), 'must be greater than 0'));
    }
  }
  const policy = spec.persistentVolumeClaimRetentionPolicy as Obj | undefined;
  for (const f of ['whenDeleted', 'whenScaled']) {
    const v = policy?.[f];
    if (v !== undefined && v !== 'Retain' && v !== 'Delete') {
      out.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, v, ['Retain', 'Delete']));
    }
  }
  out.push(...nonNegative('spec.replicas', spec.replicas));
  out.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  out.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  out.push(...validateSelectorAndTemplate(withClaimVolumes(spec), 'statefulset'));
  const ads = ((spec.template as Obj | undefined)?.spec as Obj | undefined)?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) out.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in StatefulSet is not Supported'));
  if (old) {
    // Only replicas, ordinals, template, updateStrategy, the PVC retention policy and minReadySeconds may change.
    const strip = (s: Obj) => {
      const { replicas: _r, ordinals: _o, template: _t, updateStrategy: _u, persistentVolumeClaimRetentionPolicy: _p, minReadySeconds: _m, ...rest } = s;
      return rest;
    };
    if (!semanticEqual(strip(spec), strip(specOf(old)))) {
      out.push(forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
    }
  }
  return out;
}

export function validateControllerRevision(cr: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  if (cr.data === undefined || cr.data === null) out.push(required('data'));
  out.push(...nonNegative('revision', cr.revision));
  if (old && !semanticEqual(cr.data, old.data)) out.push(invalid('data', raw('runtime.RawExtension{...}'), 'field is immutable'));
  return out;
}

/** Containers of a StatefulSet may mount its volumeClaimTemplates as if they were pod volumes. */
function withClaimVolumes(spec: Obj): Obj {
  const claims = Array.isArray(spec.volumeClaimTemplates) ? (spec.volumeClaimTemplates as Obj[]) : [];
  const template = spec.template as Obj | undefined;
  if (!claims.length || !isObject(template) || !isObject(template.spec)) return spec;
  const podSpec = template.spec as Obj;
  const volumes = Array.isArray(podSpec.volumes) ? [...(podSpec.volumes as Obj[])] : [];
  for (const c of claims) {
    const name = (c?.metadata as Obj | undefined)?.name;
    if (typeof name === 'string' && !volumes.some((v) => v?.name === name)) volumes.push({ name, persistentVolumeClaim: { claimName: name } });
  }
  return { ...spec, template: { ...template, spec: { ...podSpec, volumes } } };
}

function immutableSelector(spec: Obj, oldSpec: Obj): StatusCause[] {
  return semanticEqual(spec.selector, oldSpec.selector) ? [] : [invalid('spec.selector', goLabelSelector(spec.selector), 'field is immutable')];
}
