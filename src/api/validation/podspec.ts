// PodSpec and PodTemplateSpec validation (ValidatePodSpec, ValidatePodTemplateSpec).
import type { StatusCause } from '../types.ts';
import { validateContainerCommon, validateLifecycle, validateProbe, type ContainerContext } from './containers.ts';
import { child, duplicate, forbidden, index, invalid, invalidEach, isObject, notFound, notSupported, required } from './errors.ts';
import { validateAnnotations, validateLabels } from './meta.ts';
import { inclusiveRangeError, isDNS1123Label, isDNS1123Subdomain, isIP, isQualifiedName, isValidLabelValue } from './names.ts';
import { validateVolumes } from './volumes.ts';

type Obj = Record<string, unknown>;

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const MAX_INT32 = 2147483647;

function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

export interface PodSpecOptions {
  /** The spec belongs to a Pod (not a template): hostPort must equal containerPort with hostNetwork. */
  isPod: boolean;
}

export function validatePodSpec(spec: unknown, path: string, opts: PodSpecOptions): StatusCause[] {
  if (!isObject(spec)) return [required(path)];
  const out: StatusCause[] = [];
  const { causes, names } = validateVolumes(spec.volumes, child(path, 'volumes'));
  out.push(...causes);
  const grace = typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : undefined;
  const ctx: ContainerContext = { volumes: names.all, blockVolumes: names.block, gracePeriod: grace };
  out.push(...validateContainers(spec.containers, child(path, 'containers'), ctx));
  out.push(...validateInitContainers(spec.initContainers, spec.containers, child(path, 'initContainers'), ctx));
  out.push(...validateEphemeralContainers(spec.ephemeralContainers, spec, child(path, 'ephemeralContainers'), ctx));

  const rp = spec.restartPolicy;
  if (rp !== undefined && rp !== '' && !RESTART_POLICIES.includes(String(rp))) out.push(notSupported(child(path, 'restartPolicy'), rp, RESTART_POLICIES));
  const dp = spec.dnsPolicy;
  if (dp !== undefined && dp !== '' && !DNS_POLICIES.includes(String(dp))) out.push(notSupported(child(path, 'dnsPolicy'), dp, DNS_POLICIES));
  if (dp === 'None') {
    if (!isObject(spec.dnsConfig)) out.push(required(child(path, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
    else if (!arr(spec.dnsConfig.nameservers).length) {
      out.push(required(child(path, 'dnsConfig', 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
    }
  }
  if (isObject(spec.dnsConfig)) {
    const ns = Array.isArray(spec.dnsConfig.nameservers) ? (spec.dnsConfig.nameservers as string[]) : [];
    if (ns.length > 3) out.push(invalid(child(path, 'dnsConfig', 'nameservers'), ns, 'must not have more than 3 nameservers'));
    ns.forEach((ip, i) => {
      if (!isIP(String(ip))) out.push(invalid(index(child(path, 'dnsConfig', 'nameservers'), i), ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    });
  }

  out.push(...validateLabels(spec.nodeSelector, child(path, 'nodeSelector')));
  for (const f of ['serviceAccountName', 'nodeName', 'priorityClassName']) {
    const v = spec[f];
    if (typeof v === 'string' && v.length > 0) out.push(...invalidEach(child(path, f), v, isDNS1123Subdomain(v)));
  }
  for (const f of ['hostname', 'subdomain']) {
    const v = spec[f];
    if (typeof v === 'string' && v.length > 0) out.push(...invalidEach(child(path, f), v, isDNS1123Label(v)));
  }
  const ads = spec.activeDeadlineSeconds;
  if (typeof ads === 'number' && (ads < 1 || ads > MAX_INT32)) out.push(invalid(child(path, 'activeDeadlineSeconds'), ads, inclusiveRangeError(1, MAX_INT32)));
  out.push(...validateTolerations(spec.tolerations, child(path, 'tolerations')));
  arr(spec.imagePullSecrets).forEach((s, i) => {
    if (Object.keys(s ?? {}).some((k) => k !== 'name')) out.push(invalid(index(child(path, 'imagePullSecrets'), i), s, 'only name may be set'));
  });
  arr(spec.readinessGates).forEach((g, i) => {
    const p = child(index(child(path, 'readinessGates'), i), 'conditionType');
    out.push(...invalidEach(p, g?.conditionType ?? '', isQualifiedName(String(g?.conditionType ?? ''))));
  });
  const gates = new Set<string>();
  arr(spec.schedulingGates).forEach((g, i) => {
    const p = index(child(path, 'schedulingGates'), i);
    const name = String(g?.name ?? '');
    out.push(...invalidEach(p, name, isQualifiedName(name)));
    if (gates.has(name)) out.push(duplicate(p, name));
    gates.add(name);
  });
  arr(spec.topologySpreadConstraints).forEach((c, i) => {
    const p = index(child(path, 'topologySpreadConstraints'), i);
    if (typeof c.maxSkew !== 'number' || c.maxSkew <= 0) out.push(invalid(child(p, 'maxSkew'), c.maxSkew ?? 0, 'must be greater than zero'));
    if (!c.topologyKey) out.push(required(child(p, 'topologyKey'), 'can not be empty'));
    else out.push(...invalidEach(child(p, 'topologyKey'), c.topologyKey, isQualifiedName(String(c.topologyKey))));
    if (!c.whenUnsatisfiable) out.push(required(child(p, 'whenUnsatisfiable'), ''));
    else if (!['DoNotSchedule', 'ScheduleAnyway'].includes(String(c.whenUnsatisfiable))) {
      out.push(notSupported(child(p, 'whenUnsatisfiable'), c.whenUnsatisfiable, ['DoNotSchedule', 'ScheduleAnyway']));
    }
  });
  if (spec.hostNetwork === true) {
    arr(spec.containers).forEach((c, ci) => {
      arr(c?.ports).forEach((port, pi) => {
        const hp = Number(port.hostPort ?? 0);
        const cp = Number(port.containerPort ?? 0);
        if ((opts.isPod || hp !== 0) && hp !== cp) {
          out.push(invalid(child(index(child(index(child(path, 'containers'), ci), 'ports'), pi), 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      });
    });
  }
  return out;
}

function validateContainers(containers: unknown, path: string, ctx: ContainerContext): StatusCause[] {
  const list = arr(containers);
  if (list.length === 0) return [required(path)];
  const out: StatusCause[] = [];
  const names = new Set<string>();
  list.forEach((c, i) => {
    const p = index(path, i);
    out.push(...validateContainerCommon(c ?? {}, p, ctx));
    if (names.has(String(c?.name))) out.push(duplicate(child(p, 'name'), c.name));
    else names.add(String(c?.name));
    out.push(...validateLifecycle(c?.lifecycle, child(p, 'lifecycle'), ctx.gracePeriod));
    out.push(...validateProbe(c?.livenessProbe, child(p, 'livenessProbe'), 'liveness', ctx.gracePeriod));
    out.push(...validateProbe(c?.readinessProbe, child(p, 'readinessProbe'), 'readiness', ctx.gracePeriod));
    out.push(...validateProbe(c?.startupProbe, child(p, 'startupProbe'), 'startup', ctx.gracePeriod));
    if (c?.restartPolicy !== undefined && c.restartPolicy !== null) out.push(forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  out.push(...hostPortConflicts(list, path));
  return out;
}

function validateInitContainers(init: unknown, regular: unknown, path: string, ctx: ContainerContext): StatusCause[] {
  const out: StatusCause[] = [];
  const names = new Set(arr(regular).map((c) => String(c?.name)));
  arr(init).forEach((c, i) => {
    const p = index(path, i);
    out.push(...validateContainerCommon(c ?? {}, p, ctx));
    const always = c?.restartPolicy === 'Always';
    if (c?.restartPolicy !== undefined && c.restartPolicy !== null && !always) out.push(notSupported(child(p, 'restartPolicy'), c.restartPolicy, ['Always']));
    if (names.has(String(c?.name))) out.push(duplicate(child(p, 'name'), c.name));
    else if (c?.name) names.add(String(c.name));
    out.push(...hostPortConflicts([c], path));
    if (always) {
      out.push(...validateLifecycle(c.lifecycle, child(p, 'lifecycle'), ctx.gracePeriod));
      out.push(...validateProbe(c.livenessProbe, child(p, 'livenessProbe'), 'liveness', ctx.gracePeriod));
      out.push(...validateProbe(c.readinessProbe, child(p, 'readinessProbe'), 'readiness', ctx.gracePeriod));
      out.push(...validateProbe(c.startupProbe, child(p, 'startupProbe'), 'startup', ctx.gracePeriod));
    } else {
      for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (c?.[f] !== undefined && c[f] !== null) out.push(forbidden(child(p, f), 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  return out;
}

function validateEphemeralContainers(ephemeral: unknown, spec: Obj, path: string, ctx: ContainerContext): StatusCause[] {
  const out: StatusCause[] = [];
  const others = new Set([...arr(spec.containers), ...arr(spec.initContainers)].map((c) => String(c?.name)));
  const all = new Set(others);
  arr(ephemeral).forEach((c, i) => {
    const p = index(path, i);
    out.push(...validateContainerCommon(c ?? {}, p, ctx));
    if (all.has(String(c?.name))) out.push(duplicate(child(p, 'name'), c.name));
    else all.add(String(c?.name));
    if (c?.targetContainerName && !others.has(String(c.targetContainerName))) out.push(notFound(child(p, 'targetContainerName'), c.targetContainerName));
    for (const f of ['ports', 'lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe', 'resources']) {
      const v = c?.[f];
      if (v !== undefined && v !== null && !(isObject(v) && Object.keys(v).length === 0) && !(Array.isArray(v) && v.length === 0)) {
        out.push(forbidden(child(p, f), 'cannot be set for an Ephemeral Container'));
      }
    }
  });
  return out;
}

function hostPortConflicts(containers: Obj[], path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    arr(c?.ports).forEach((port, pi) => {
      if (!port.hostPort) return;
      const k = `${port.protocol ?? 'TCP'}/${port.hostIP ?? ''}/${port.hostPort}`;
      if (seen.has(k)) out.push(duplicate(child(index(child(index(path, ci), 'ports'), pi), 'hostPort'), k));
      seen.add(k);
    });
  });
  return out;
}

export function validateTolerations(tolerations: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  arr(tolerations).forEach((t, i) => {
    const p = index(path, i);
    const k = typeof t?.key === 'string' ? t.key : '';
    if (k) out.push(...invalidEach(child(p, 'key'), k, isQualifiedName(k)));
    if (!k && t?.operator !== 'Exists') {
      out.push(invalid(child(p, 'operator'), t?.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t?.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== 'NoExecute') {
      out.push(invalid(child(p, 'effect'), t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    const op = t?.operator ?? '';
    if (op === '' || op === 'Equal') {
      out.push(...invalidEach(child(p, 'operator'), t?.value ?? '', isValidLabelValue(String(t?.value ?? ''))));
    } else if (op === 'Exists') {
      if (t.value) out.push(invalid(child(p, 'operator'), t.value, "value must be empty when `operator` is 'Exists'"));
    } else {
      out.push(notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    }
    if (t?.effect) out.push(...validateTaintEffect(t.effect, child(p, 'effect')));
  });
  return out;
}

export function validateTaintEffect(effect: unknown, path: string): StatusCause[] {
  return TAINT_EFFECTS.includes(String(effect)) ? [] : [notSupported(path, effect, TAINT_EFFECTS)];
}

/** ValidatePodTemplateSpec: template labels/annotations and its spec. */
export function validatePodTemplateSpec(template: unknown, path: string): StatusCause[] {
  if (!isObject(template)) return [required(path)];
  const meta = isObject(template.metadata) ? template.metadata : {};
  return [
    ...validateLabels(meta.labels, child(path, 'metadata', 'labels')),
    ...validateAnnotations(meta.annotations, child(path, 'metadata', 'annotations')),
    ...validatePodSpec(template.spec, child(path, 'spec'), { isPod: false }),
    ...(arr((template.spec as Obj | undefined)?.ephemeralContainers).length
      ? [forbidden(child(path, 'spec', 'ephemeralContainers'), 'ephemeral containers not allowed in pod template')]
      : []),
  ];
}
