// Service validation (ValidateService / ValidateServiceUpdate). ClusterIP and nodePort
// allocation happen in the server; here only their shape and immutability are checked.
import type { KubeObject, StatusCause } from '../types.ts';
import { validatePortNumOrName } from './containers.ts';
import { child, duplicate, forbidden, index, invalid, invalidEach, isObject, notSupported, required } from './errors.ts';
import { validateLabels } from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain, isIP, isQualifiedName, isValidPortNum } from './names.ts';

type Obj = Record<string, unknown>;

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const NODE_PORT_RANGE = { min: 30000, max: 32767 };

function isHeadless(spec: Obj): boolean {
  return spec.clusterIP === 'None' || (Array.isArray(spec.clusterIPs) && spec.clusterIPs[0] === 'None');
}

export function validateService(svc: KubeObject, old?: KubeObject): StatusCause[] {
  const spec: Obj = isObject(svc.spec) ? svc.spec : {};
  const out: StatusCause[] = [];
  if (old) out.push(...validateServiceUpdate(spec, isObject(old.spec) ? old.spec : {}));
  const type = spec.type ?? 'ClusterIP';
  const ports = Array.isArray(spec.ports) ? (spec.ports as Obj[]) : [];
  if (ports.length === 0 && !isHeadless(spec) && type !== 'ExternalName') out.push(required('spec.ports'));
  if (type === 'LoadBalancer') {
    ports.forEach((p, i) => {
      if (p.port === 10250) out.push(invalid(index('spec.ports', i), 10250, 'may not expose port 10250 externally since it is used by kubelet'));
    });
  }
  if ((type === 'LoadBalancer' || type === 'NodePort') && isHeadless(spec)) {
    out.push(invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${type} services`));
  }
  if (type === 'ExternalName') {
    if (spec.clusterIP && spec.clusterIP !== '' || (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0)) {
      out.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    }
    if (Array.isArray(spec.ipFamilies) && spec.ipFamilies.length > 0) out.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy) out.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = String(spec.externalName ?? '').replace(/\.$/, '');
    if (cname) out.push(...invalidEach('spec.externalName', cname, isDNS1123Subdomain(cname)));
    else out.push(required('spec.externalName'));
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = index('spec.ports', i);
    const name = typeof p.name === 'string' ? p.name : '';
    if (ports.length > 1 && !name) out.push(required(child(pp, 'name')));
    else if (name) {
      out.push(...invalidEach(child(pp, 'name'), name, isDNS1123Label(name)));
      if (names.has(name)) out.push(duplicate(child(pp, 'name'), name));
      names.add(name);
    }
    out.push(...invalidEach(child(pp, 'port'), p.port ?? 0, isValidPortNum(Number(p.port ?? 0))));
    if (p.protocol !== undefined && !PROTOCOLS.includes(String(p.protocol))) out.push(notSupported(child(pp, 'protocol'), p.protocol, PROTOCOLS));
    if (p.targetPort !== undefined && p.targetPort !== 0 && p.targetPort !== '') out.push(...validatePortNumOrName(p.targetPort, child(pp, 'targetPort')));
    if (typeof p.appProtocol === 'string') out.push(...invalidEach(child(pp, 'appProtocol'), p.appProtocol, isQualifiedName(p.appProtocol)));
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      const np = Number(p.nodePort);
      if (type === 'ClusterIP') out.push(forbidden(child(pp, 'nodePort'), "may not be used when `type` is 'ClusterIP'"));
      else if (!(np >= NODE_PORT_RANGE.min && np <= NODE_PORT_RANGE.max)) {
        out.push(invalid(child(pp, 'nodePort'), np, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`));
      }
    }
  });
  const nodePorts = new Set<string>();
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const proto = String(p.protocol ?? 'TCP');
    if (p.nodePort) {
      const k = `${proto}/${p.nodePort}`;
      if (nodePorts.has(k)) out.push(duplicate(child(index('spec.ports', i), 'nodePort'), p.nodePort));
      nodePorts.add(k);
    }
    const k = `${proto}/${p.port}`;
    if (portKeys.has(k)) out.push({ reason: 'FieldValueDuplicate', field: index('spec.ports', i), message: `Duplicate value: core.ServicePort{Name:"", Protocol:"${proto}", AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}` });
    portKeys.add(k);
  });
  if (spec.selector !== undefined && spec.selector !== null) out.push(...validateLabels(spec.selector, 'spec.selector'));
  const sa = spec.sessionAffinity;
  if (sa !== undefined && sa !== 'None' && sa !== 'ClientIP') out.push(notSupported('spec.sessionAffinity', sa, ['ClientIP', 'None']));
  if (sa === 'None' && spec.sessionAffinityConfig) out.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  if (sa === 'ClientIP') {
    const t = (spec.sessionAffinityConfig as Obj | undefined)?.clientIP as Obj | undefined;
    const secs = t?.timeoutSeconds;
    if (typeof secs === 'number' && (secs <= 0 || secs > 86400)) {
      out.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', secs, 'must be greater than 0 and less than 86400'));
    }
  }
  out.push(...validateClusterIPs(spec));
  (Array.isArray(spec.externalIPs) ? spec.externalIPs : []).forEach((ip: unknown, i: number) => {
    if (!isIP(String(ip))) out.push(invalid(index('spec.externalIPs', i), ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  if (spec.type !== undefined && !SERVICE_TYPES.includes(String(spec.type))) out.push(notSupported('spec.type', spec.type, SERVICE_TYPES));
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts !== null && type !== 'LoadBalancer') {
    out.push(forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (Array.isArray(spec.loadBalancerSourceRanges) && spec.loadBalancerSourceRanges.length && type !== 'LoadBalancer') {
    out.push(forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
  }
  const externallyAccessible = type === 'LoadBalancer' || type === 'NodePort' ||
    (type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
  const etp = spec.externalTrafficPolicy;
  if (!externallyAccessible && etp) out.push(invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
  if (externallyAccessible && etp !== undefined && etp !== 'Cluster' && etp !== 'Local') out.push(notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  const itp = spec.internalTrafficPolicy;
  if (itp !== undefined && itp !== null && itp !== 'Cluster' && itp !== 'Local') out.push(notSupported('spec.internalTrafficPolicy', itp, ['Cluster', 'Local']));
  if (spec.trafficDistribution !== undefined && spec.trafficDistribution !== null && spec.trafficDistribution !== 'PreferClose') {
    out.push(notSupported('spec.trafficDistribution', spec.trafficDistribution, ['PreferClose']));
  }
  return out;
}

function validateClusterIPs(spec: Obj): StatusCause[] {
  const out: StatusCause[] = [];
  const ips = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as string[]) : [];
  if (spec.clusterIP && ips.length && spec.clusterIP !== ips[0]) {
    out.push(invalid('spec.clusterIPs', ips, 'element [0] must match clusterIP'));
  }
  const all = ips.length ? ips : spec.clusterIP ? [String(spec.clusterIP)] : [];
  all.forEach((ip, i) => {
    if (ip === 'None' || ip === '') return;
    if (!isIP(ip)) out.push(invalid(index('spec.clusterIPs', i), ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  const policy = spec.ipFamilyPolicy;
  if (policy !== undefined && policy !== null && !['PreferDualStack', 'RequireDualStack', 'SingleStack'].includes(String(policy))) {
    out.push(notSupported('spec.ipFamilyPolicy', policy, ['PreferDualStack', 'RequireDualStack', 'SingleStack']));
  }
  (Array.isArray(spec.ipFamilies) ? spec.ipFamilies : []).forEach((f: unknown, i: number) => {
    if (f !== 'IPv4' && f !== 'IPv6') out.push(notSupported(index('spec.ipFamilies', i), f, ['IPv4', 'IPv6']));
  });
  return out;
}

function validateServiceUpdate(spec: Obj, oldSpec: Obj): StatusCause[] {
  // The primary clusterIP may not change once set, unless the service changes to or from ExternalName.
  if (spec.type === 'ExternalName' || oldSpec.type === 'ExternalName') return [];
  const oldIPs = Array.isArray(oldSpec.clusterIPs) ? (oldSpec.clusterIPs as string[]) : oldSpec.clusterIP ? [String(oldSpec.clusterIP)] : [];
  const newIPs = Array.isArray(spec.clusterIPs) ? (spec.clusterIPs as string[]) : spec.clusterIP ? [String(spec.clusterIP)] : [];
  if (oldIPs.length && newIPs.length && oldIPs[0] !== newIPs[0]) {
    return [invalid('spec.clusterIPs[0]', newIPs, 'may not change once set')];
  }
  if (spec.clusterIP && oldSpec.clusterIP && spec.clusterIP !== oldSpec.clusterIP && !newIPs.length) {
    return [invalid('spec.clusterIPs[0]', [String(spec.clusterIP)], 'may not change once set')];
  }
  return [];
}
