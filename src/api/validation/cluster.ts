// Lease, PriorityClass, RuntimeClass, EndpointSlice and events.k8s.io Event.
import type { KubeObject, StatusCause } from '../types.ts';
import { child, duplicate, forbidden, index, invalid, invalidEach, isObject, key, notSupported, required, tooLong } from './errors.ts';
import { validateLabels } from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain, isIPv4, isIPv6, isQualifiedName, isValidPortNum } from './names.ts';
import { validateTolerations } from './podspec.ts';
import { canonicalQuantity, parseQuantity, QUANTITY_FORMAT_ERROR } from './quantity.ts';

type Obj = Record<string, unknown>;

function specOf(o: KubeObject | undefined): Obj {
  return isObject(o?.spec) ? (o!.spec as Obj) : {};
}

export function validateLease(lease: KubeObject): StatusCause[] {
  const spec = specOf(lease);
  const out: StatusCause[] = [];
  const d = spec.leaseDurationSeconds;
  if (typeof d === 'number' && d <= 0) out.push(invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  const t = spec.leaseTransitions;
  if (typeof t === 'number' && t < 0) out.push(invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
  return out;
}

/** https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#priorityclass */
export const SYSTEM_PRIORITY_CLASSES: Record<string, number> = {
  'system-node-critical': 2000001000,
  'system-cluster-critical': 2000000000,
};
const HIGHEST_USER_DEFINABLE_PRIORITY = 1000000000;

export function validatePriorityClass(pc: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const name = pc.metadata?.name ?? '';
  const value = Number(pc.value ?? 0);
  if (name.startsWith('system-')) {
    const known = SYSTEM_PRIORITY_CLASSES[name];
    let err = '';
    if (known === undefined) err = `${name} is not a known system priority class`;
    else if (known !== value) err = `value of ${name} PriorityClass must be ${known}`;
    else if (pc.globalDefault === true) err = `globalDefault of ${name} PriorityClass must be false`;
    if (err) out.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only. error: ${err}`));
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    out.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  const pp = pc.preemptionPolicy;
  if (pp !== undefined && pp !== null && pp !== 'PreemptLowerPriority' && pp !== 'Never') {
    out.push(notSupported('preemptionPolicy', pp, ['PreemptLowerPriority', 'Never']));
  }
  if (old) {
    if (Number(old.value ?? 0) !== value) out.push(forbidden('value', 'may not be changed in an update.'));
    if ((old.preemptionPolicy ?? 'PreemptLowerPriority') !== (pp ?? 'PreemptLowerPriority')) out.push(invalid('preemptionPolicy', pp ?? null, 'field is immutable'));
  }
  return out;
}

export function validateRuntimeClass(rc: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const handler = typeof rc.handler === 'string' ? rc.handler : '';
  out.push(...invalidEach('handler', handler, isDNS1123Label(handler)));
  const fixed = (rc.overhead as Obj | undefined)?.podFixed;
  for (const [name, v] of Object.entries(isObject(fixed) ? fixed : {})) {
    const p = key('overhead.podFixed', name);
    const n = parseQuantity(v);
    if (n === undefined) out.push(invalid(p, String(v), QUANTITY_FORMAT_ERROR));
    else if (n < 0) out.push(invalid(p, canonicalQuantity(v) ?? String(v), 'must be greater than or equal to 0'));
  }
  const sched = rc.scheduling as Obj | undefined;
  if (isObject(sched)) {
    out.push(...validateLabels(sched.nodeSelector, 'scheduling.nodeSelector'));
    out.push(...validateTolerations(sched.tolerations, 'scheduling.tolerations'));
  }
  if (old && old.handler !== rc.handler) out.push(invalid('handler', handler, 'field is immutable'));
  return out;
}

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

export function validateEndpointSlice(es: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const at = es.addressType;
  if (at === undefined || at === '') out.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(String(at))) out.push(notSupported('addressType', at, ADDRESS_TYPES));
  const endpoints = Array.isArray(es.endpoints) ? (es.endpoints as Obj[]) : [];
  if (endpoints.length > 1000) out.push({ reason: 'FieldValueTooMany', field: 'endpoints', message: `Too many: ${endpoints.length}: must have at most 1000 items` });
  endpoints.forEach((ep, i) => {
    const p = index('endpoints', i);
    const addrs = Array.isArray(ep?.addresses) ? (ep.addresses as string[]) : [];
    if (addrs.length === 0) out.push(required(child(p, 'addresses'), 'must contain at least 1 address'));
    else if (addrs.length > 100) out.push({ reason: 'FieldValueTooMany', field: child(p, 'addresses'), message: `Too many: ${addrs.length}: must have at most 100 items` });
    addrs.forEach((a, j) => {
      const ap = index(child(p, 'addresses'), j);
      if (at === 'IPv4' && !isIPv4(String(a))) out.push(invalid(ap, a, 'must be a valid IPv4 address'));
      if (at === 'IPv6' && !isIPv6(String(a))) out.push(invalid(ap, a, 'must be a valid IPv6 address'));
      if (at === 'FQDN') out.push(...invalidEach(ap, a, isDNS1123Subdomain(String(a))));
    });
    if (typeof ep?.nodeName === 'string') out.push(...invalidEach(child(p, 'nodeName'), ep.nodeName, isDNS1123Subdomain(ep.nodeName)));
    if (typeof ep?.hostname === 'string') out.push(...invalidEach(child(p, 'hostname'), ep.hostname, isDNS1123Label(ep.hostname)));
    out.push(...validateLabels(ep?.deprecatedTopology, child(p, 'deprecatedTopology')));
  });
  const names = new Set<string>();
  (Array.isArray(es.ports) ? (es.ports as Obj[]) : []).forEach((port, i) => {
    const p = index('ports', i);
    const name = typeof port?.name === 'string' ? port.name : '';
    if (name) out.push(...invalidEach(child(p, 'name'), name, isDNS1123Label(name)));
    if (names.has(name)) out.push(duplicate(child(p, 'name'), name));
    names.add(name);
    if (port?.protocol !== undefined && port.protocol !== null && !['SCTP', 'TCP', 'UDP'].includes(String(port.protocol))) {
      out.push(notSupported(child(p, 'protocol'), port.protocol, ['SCTP', 'TCP', 'UDP']));
    }
    if (port?.port !== undefined && port.port !== null) out.push(...invalidEach(child(p, 'port'), port.port, isValidPortNum(Number(port.port))));
    if (typeof port?.appProtocol === 'string') out.push(...invalidEach(child(p, 'appProtocol'), port.appProtocol, isQualifiedName(port.appProtocol)));
  });
  if (old && old.addressType !== es.addressType) out.push(invalid('addressType', at ?? '', 'field is immutable'));
  return out;
}

/** events.k8s.io/v1 Event: the fields the new events API requires. */
export function validateEventsV1Event(ev: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  if (!ev.eventTime) out.push(required('eventTime'));
  if (ev.type !== 'Normal' && ev.type !== 'Warning') out.push(invalid('type', ev.type ?? '', 'has invalid value: must be one of Normal, Warning'));
  if (!ev.reportingController) out.push(required('reportingController'));
  else out.push(...invalidEach('reportingController', ev.reportingController, isQualifiedName(String(ev.reportingController))));
  if (!ev.reportingInstance) out.push(required('reportingInstance'));
  else if (String(ev.reportingInstance).length > 128) out.push(invalid('reportingInstance', ev.reportingInstance, 'can have at most 128 characters'));
  if (!ev.action) out.push(required('action'));
  else if (String(ev.action).length > 128) out.push(invalid('action', ev.action, 'can have at most 128 characters'));
  if (!ev.reason) out.push(required('reason'));
  else if (String(ev.reason).length > 128) out.push(invalid('reason', ev.reason, 'can have at most 128 characters'));
  if (typeof ev.note === 'string' && Buffer.byteLength(ev.note) > 1024) out.push(tooLong('note', 1024));
  if (old) {
    for (const f of ['reportingController', 'reportingInstance', 'action', 'reason', 'type', 'eventTime']) {
      if (JSON.stringify(ev[f]) !== JSON.stringify(old[f])) out.push(invalid(f, ev[f] ?? '', 'field is immutable'));
    }
  }
  return out;
}
