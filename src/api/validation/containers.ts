// Containers of a pod spec: names, images, ports, env, resources, probes and mounts,
// with the messages of pkg/apis/core/validation (validateContainerCommon and friends).
import type { StatusCause } from '../types.ts';
import { child, duplicate, forbidden, index, invalid, invalidEach, isObject, key, nonNegative, notFound, notSupported, required } from './errors.ts';
import { isConfigMapKey, isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isQualifiedName, isValidPortName, isValidPortNum } from './names.ts';
import { canonicalQuantity, parseQuantity, QUANTITY_FORMAT_ERROR } from './quantity.ts';

type Obj = Record<string, unknown>;

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const ENV_FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
  'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs'];
const RESOURCE_FIELD_PATHS = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];

export interface ContainerContext {
  volumes: Set<string>;
  /** Volumes that are PVCs or ephemeral (the only ones volumeDevices may use). */
  blockVolumes: Set<string>;
  gracePeriod: number | undefined;
}

function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

/** validateContainerCommon: what every kind of container must satisfy. */
export function validateContainerCommon(c: Obj, path: string, ctx: ContainerContext): StatusCause[] {
  const out: StatusCause[] = [];
  const name = typeof c.name === 'string' ? c.name : '';
  if (!name) out.push(required(child(path, 'name')));
  else out.push(...invalidEach(child(path, 'name'), name, isDNS1123Label(name)));
  if (typeof c.image !== 'string' || c.image.length === 0) out.push(required(child(path, 'image')));
  const tmp = c.terminationMessagePolicy;
  if (tmp !== undefined && tmp !== '' && !TERMINATION_MESSAGE_POLICIES.includes(String(tmp))) {
    out.push(notSupported(child(path, 'terminationMessagePolicy'), tmp, TERMINATION_MESSAGE_POLICIES));
  }
  out.push(...validateContainerPorts(c.ports, child(path, 'ports')));
  out.push(...validateEnv(c.env, child(path, 'env')));
  out.push(...validateEnvFrom(c.envFrom, child(path, 'envFrom')));
  out.push(...validateVolumeMounts(c, path, ctx));
  const pull = c.imagePullPolicy;
  if (pull !== undefined && pull !== '' && !PULL_POLICIES.includes(String(pull))) {
    out.push(notSupported(child(path, 'imagePullPolicy'), pull, PULL_POLICIES));
  }
  out.push(...validateResourceRequirements(c.resources, child(path, 'resources')));
  return out;
}

export function validateContainerPorts(ports: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const names = new Set<string>();
  arr(ports).forEach((p, i) => {
    const ip = index(path, i);
    if (typeof p.name === 'string' && p.name.length > 0) {
      const msgs = isValidPortName(p.name);
      if (msgs.length) out.push(...invalidEach(child(ip, 'name'), p.name, msgs));
      else if (names.has(p.name)) out.push(duplicate(child(ip, 'name'), p.name));
      else names.add(p.name);
    }
    if (!p.containerPort) out.push(required(child(ip, 'containerPort')));
    else out.push(...invalidEach(child(ip, 'containerPort'), p.containerPort, isValidPortNum(Number(p.containerPort))));
    if (p.hostPort) out.push(...invalidEach(child(ip, 'hostPort'), p.hostPort, isValidPortNum(Number(p.hostPort))));
    if (p.protocol !== undefined && p.protocol !== '' && !PROTOCOLS.includes(String(p.protocol))) {
      out.push(notSupported(child(ip, 'protocol'), p.protocol, PROTOCOLS));
    }
  });
  return out;
}

export function validateEnv(env: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  arr(env).forEach((e, i) => {
    const ip = index(path, i);
    if (typeof e.name !== 'string' || e.name.length === 0) out.push(required(child(ip, 'name')));
    else out.push(...invalidEach(child(ip, 'name'), e.name, isEnvVarName(e.name)));
    out.push(...validateEnvValueFrom(e, child(ip, 'valueFrom')));
  });
  return out;
}

function validateEnvValueFrom(e: Obj, path: string): StatusCause[] {
  const from = e.valueFrom;
  if (!isObject(from)) return [];
  const out: StatusCause[] = [];
  let n = 0;
  if (isObject(from.fieldRef)) {
    n++;
    const fr = from.fieldRef;
    const fp = child(path, 'fieldRef');
    if (!fr.apiVersion) out.push(required(child(fp, 'apiVersion')));
    else if (!fr.fieldPath) out.push(required(child(fp, 'fieldPath')));
    else {
      const m = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(String(fr.fieldPath));
      if (m) out.push(...invalidEach(fp, m[2], isQualifiedName(m[1] === 'metadata.annotations' ? m[2].toLowerCase() : m[2])));
      else if (!ENV_FIELD_PATHS.includes(String(fr.fieldPath))) {
        out.push(notSupported(child(fp, 'fieldPath'), fr.fieldPath, ENV_FIELD_PATHS));
      }
    }
  }
  if (isObject(from.resourceFieldRef)) {
    n++;
    const rf = from.resourceFieldRef;
    const rp = child(path, 'resourceFieldRef');
    if (!rf.resource) out.push(required(child(rp, 'resource')));
    else if (!RESOURCE_FIELD_PATHS.includes(String(rf.resource)) && !/^(requests|limits)\.hugepages-/.test(String(rf.resource))) {
      out.push(notSupported(child(rp, 'resource'), rf.resource, RESOURCE_FIELD_PATHS));
    }
  }
  for (const kind of ['configMapKeyRef', 'secretKeyRef']) {
    const ref = from[kind];
    if (!isObject(ref)) continue;
    n++;
    const rp = child(path, kind);
    out.push(...invalidEach(child(rp, 'name'), ref.name ?? '', isDNS1123Subdomain(String(ref.name ?? ''))));
    if (!ref.key) out.push(required(child(rp, 'key')));
    else out.push(...invalidEach(child(rp, 'key'), ref.key, isConfigMapKey(String(ref.key))));
  }
  if (n === 0) out.push(invalid(path, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  else if (typeof e.value === 'string' && e.value.length > 0) out.push(invalid(path, '', 'may not be specified when `value` is not empty'));
  else if (n > 1) out.push(invalid(path, '', 'may not have more than one field specified at a time'));
  return out;
}

function validateEnvFrom(envFrom: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  arr(envFrom).forEach((e, i) => {
    const ip = index(path, i);
    if (typeof e.prefix === 'string' && e.prefix.length > 0) out.push(...invalidEach(child(ip, 'prefix'), e.prefix, isEnvVarName(e.prefix)));
    let n = 0;
    for (const kind of ['configMapRef', 'secretRef']) {
      const ref = e[kind];
      if (!isObject(ref)) continue;
      n++;
      if (!ref.name) out.push(required(child(ip, kind, 'name')));
      else out.push(...invalidEach(child(ip, kind, 'name'), ref.name, isDNS1123Subdomain(String(ref.name))));
    }
    if (n === 0) out.push(invalid(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) out.push(invalid(path, '', 'may not have more than one field specified at a time'));
  });
  return out;
}

function validateVolumeMounts(c: Obj, containerPath: string, ctx: ContainerContext): StatusCause[] {
  const out: StatusCause[] = [];
  const path = child(containerPath, 'volumeMounts');
  const mountPaths = new Set<string>();
  arr(c.volumeMounts).forEach((m, i) => {
    const ip = index(path, i);
    const name = typeof m.name === 'string' ? m.name : '';
    if (!name) out.push(required(child(ip, 'name')));
    if (!ctx.volumes.has(name)) out.push(notFound(child(ip, 'name'), name));
    const mp = typeof m.mountPath === 'string' ? m.mountPath : '';
    if (!mp) out.push(required(child(ip, 'mountPath')));
    if (mountPaths.has(mp)) out.push(invalid(child(ip, 'mountPath'), mp, 'must be unique'));
    mountPaths.add(mp);
    if (typeof m.subPath === 'string' && m.subPath) out.push(...validateLocalDescendingPath(m.subPath, child(path, 'subPath')));
    if (typeof m.subPathExpr === 'string' && m.subPathExpr && m.subPath) {
      out.push(invalid(child(ip, 'subPathExpr'), m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
    }
  });
  const devicePaths = new Set<string>();
  arr(c.volumeDevices).forEach((d, i) => {
    const ip = index(child(containerPath, 'volumeDevices'), i);
    const name = typeof d.name === 'string' ? d.name : '';
    if (!name) out.push(required(child(ip, 'name')));
    if (!ctx.volumes.has(name)) out.push(notFound(child(ip, 'name'), name));
    else if (!ctx.blockVolumes.has(name)) {
      out.push(invalid(child(ip, 'name'), name, 'can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode'));
    }
    const dp = typeof d.devicePath === 'string' ? d.devicePath : '';
    if (!dp) out.push(required(child(ip, 'devicePath')));
    if (devicePaths.has(dp)) out.push(invalid(child(ip, 'devicePath'), dp, 'must be unique'));
    devicePaths.add(dp);
  });
  return out;
}

export function validateLocalDescendingPath(p: string, path: string): StatusCause[] {
  if (p.startsWith('/')) return [invalid(path, p, 'must be a relative path')];
  if (p.split(/[\\/]/).includes('..')) return [invalid(path, p, "must not contain '..'")];
  return [];
}

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

function isExtendedResource(name: string): boolean {
  return name.includes('/') && !/(^|\.)kubernetes\.io\//.test(name) && !name.startsWith('requests.');
}

/** ValidateResourceRequirements for a container: names, quantities, and requests <= limits. */
export function validateResourceRequirements(res: unknown, path: string): StatusCause[] {
  if (!isObject(res)) return [];
  const out: StatusCause[] = [];
  const limits = isObject(res.limits) ? res.limits : {};
  const requests = isObject(res.requests) ? res.requests : {};
  const check = (name: string, q: unknown, p: string): number | undefined => {
    out.push(...invalidEach(p, name, isQualifiedName(name)));
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith('hugepages-') && !isExtendedResource(name)) {
      out.push(invalid(p, name, 'must be a standard resource for containers'));
    }
    const v = parseQuantity(q);
    if (v === undefined) {
      out.push(invalid(p, typeof q === 'string' ? q : String(q), QUANTITY_FORMAT_ERROR));
      return undefined;
    }
    if (v < 0) out.push(invalid(p, canonicalQuantity(q) ?? String(q), 'must be greater than or equal to 0'));
    else if ((isExtendedResource(name) || name.startsWith('hugepages-')) && !Number.isInteger(v) && !name.startsWith('hugepages-')) {
      out.push(invalid(p, canonicalQuantity(q) ?? String(q), 'must be an integer'));
    }
    return v;
  };
  for (const [name, q] of Object.entries(limits)) check(name, q, key(child(path, 'limits'), name));
  for (const [name, q] of Object.entries(requests)) {
    const v = check(name, q, key(child(path, 'requests'), name));
    if (v === undefined) continue;
    if (Object.hasOwn(limits, name)) {
      const lim = parseQuantity(limits[name]);
      if (lim === undefined) continue;
      const shown = canonicalQuantity(q) ?? String(q);
      const limShown = canonicalQuantity(limits[name]) ?? String(limits[name]);
      if (isExtendedResource(name) && v !== lim) {
        out.push(invalid(child(path, 'requests'), shown, `must be equal to ${name} limit of ${limShown}`));
      } else if (v > lim) {
        out.push(invalid(child(path, 'requests'), shown, `must be less than or equal to ${name} limit of ${limShown}`));
      }
    } else if (isExtendedResource(name)) {
      out.push(required(child(path, 'limits'), 'Limit must be set for non overcommitable resources'));
    }
  }
  return out;
}

/** Probes and lifecycle handlers: exactly one handler, valid ports, non-negative timings. */
export function validateProbe(probe: unknown, path: string, kind: 'liveness' | 'readiness' | 'startup', gracePeriod: number | undefined): StatusCause[] {
  if (!isObject(probe)) return [];
  const out = validateHandler(probe, path, ['exec', 'httpGet', 'tcpSocket', 'grpc'], gracePeriod);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    out.push(...nonNegative(child(path, f), probe[f]));
  }
  const tgp = probe.terminationGracePeriodSeconds;
  if (typeof tgp === 'number' && tgp <= 0) out.push(invalid(child(path, 'terminationGracePeriodSeconds'), tgp, 'must be greater than 0'));
  if (kind !== 'readiness' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    out.push(invalid(child(path, 'successThreshold'), probe.successThreshold, 'must be 1'));
  }
  if (kind === 'readiness' && tgp !== undefined && tgp !== null) {
    out.push(invalid(child(path, 'terminationGracePeriodSeconds'), tgp, 'must not be set for readinessProbes'));
  }
  return out;
}

export function validateLifecycle(lc: unknown, path: string, gracePeriod: number | undefined): StatusCause[] {
  if (!isObject(lc)) return [];
  const out: StatusCause[] = [];
  for (const h of ['postStart', 'preStop']) {
    if (isObject(lc[h])) out.push(...validateHandler(lc[h] as Obj, child(path, h), ['exec', 'httpGet', 'tcpSocket', 'sleep'], gracePeriod));
  }
  return out;
}

function validateHandler(h: Obj, path: string, kinds: string[], gracePeriod: number | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  for (const k of kinds) {
    const v = h[k];
    if (!isObject(v)) continue;
    if (n > 0) {
      out.push(forbidden(child(path, k), 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const p = child(path, k);
    if (k === 'exec' && !(Array.isArray(v.command) && v.command.length)) out.push(required(child(p, 'command')));
    if (k === 'httpGet') {
      if (!v.path) out.push(required(child(p, 'path')));
      out.push(...validatePortNumOrName(v.port, child(p, 'port')));
      if (v.scheme !== undefined && v.scheme !== 'HTTP' && v.scheme !== 'HTTPS') out.push(notSupported(child(p, 'scheme'), v.scheme, ['HTTP', 'HTTPS']));
    }
    if (k === 'tcpSocket' || k === 'grpc') out.push(...validatePortNumOrName(v.port, child(p, 'port')));
    if (k === 'sleep') {
      const s = Number(v.seconds);
      const g = gracePeriod ?? 30;
      if (s <= 0 || s > g) out.push(invalid(p, s, `must be greater than 0 and less than terminationGracePeriodSeconds (${g})`));
    }
  }
  if (n === 0) out.push(required(path, 'must specify a handler type'));
  return out;
}

/** IntOrString ports: a number in 1-65535 or an IANA service name. */
export function validatePortNumOrName(port: unknown, path: string): StatusCause[] {
  if (typeof port === 'number') return invalidEach(path, port, isValidPortNum(port));
  if (typeof port === 'string') {
    return invalidEach(path, port, isValidPortName(port));
  }
  return invalidEach(path, 0, isValidPortNum(0));
}
