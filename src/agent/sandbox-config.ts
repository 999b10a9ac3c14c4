// A pod's PodSandboxConfig, as kubelet's generatePodSandboxConfig makes it: metadata, hostname,
// log directory, DNS from dnsPolicy, port mappings, labels, cgroup parent and the namespace
// options of hostNetwork / hostPID / hostIPC / shareProcessNamespace.
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy
import { hostname as osHostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Pod, PodSecurityContext } from 'kubernetes-types/core/v1.d.ts';
import type { DeepPartial, DNSConfig, LinuxSandboxSecurityContext, PodSandboxConfig, PortMapping, Protocol, SecurityProfile_ProfileType } from '../cri/types.ts';
import { podLabels } from './labels.ts';
import { podLogDir } from './log-paths.ts';
import { podCgroupParent } from './qos.ts';

export interface SandboxContext {
  /** <data-dir>/logs: the root of the pods' log directories. */
  logRoot: string;
  /** kubelet's --cluster-dns; empty while cluster DNS does not exist. */
  clusterDns: string[];
  clusterDomain: string;
  hostResolvConf?: string;
}

/** nameserver/search/options of a resolv.conf. */
export function parseResolvConf(text: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    else if (key === 'search') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

/** kubelet's GetPodDNS: the DNS config for dnsPolicy plus the pod's dnsConfig. */
export async function podDnsConfig(pod: Pod, ctx: SandboxContext): Promise<DNSConfig> {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const hostNetwork = !!pod.spec?.hostNetwork;
  let base: DNSConfig;
  const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !hostNetwork);
  if (policy === 'None') {
    base = { servers: [], searches: [], options: [] };
  } else if (clusterFirst && ctx.clusterDns.length > 0) {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = ctx.clusterDomain;
    base = { servers: [...ctx.clusterDns], searches: [`${ns}.svc.${d}`, `svc.${d}`, d], options: ['ndots:5'] };
  } else {
    // Default, ClusterFirst on the host network, or ClusterFirst with no cluster DNS: the host's resolver.
    base = parseResolvConf(await readFile(ctx.hostResolvConf ?? '/etc/resolv.conf', 'utf8').catch(() => ''));
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    base.servers = [...new Set([...base.servers, ...(extra.nameservers ?? [])])];
    base.searches = [...new Set([...base.searches, ...(extra.searches ?? [])])];
    const options = new Map<string, string>();
    for (const o of base.options) options.set(o.split(':')[0] ?? o, o);
    for (const o of extra.options ?? []) if (o.name) options.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
    base.options = [...options.values()];
  }
  return base;
}

function portMappings(pod: Pod): DeepPartial<PortMapping>[] {
  const out: DeepPartial<PortMapping>[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      out.push({ protocol: (p.protocol ?? 'TCP') as Protocol, container_port: p.containerPort, host_port: p.hostPort ?? 0, host_ip: p.hostIP ?? '' });
    }
  }
  return out;
}

/** The pod-level Linux security context: namespaces, user, groups, seccomp. */
export function sandboxSecurityContext(pod: Pod): DeepPartial<LinuxSandboxSecurityContext> {
  const spec = pod.spec ?? { containers: [] };
  const sc: PodSecurityContext = spec.securityContext ?? {};
  const seccomp = sc.seccompProfile?.type;
  return {
    namespace_options: {
      network: spec.hostNetwork ? 'NODE' : 'POD',
      pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
      ipc: spec.hostIPC ? 'NODE' : 'POD',
    },
    ...(sc.runAsUser !== undefined ? { run_as_user: { value: sc.runAsUser } } : {}),
    ...(sc.runAsGroup !== undefined ? { run_as_group: { value: sc.runAsGroup } } : {}),
    supplemental_groups: [...(sc.supplementalGroups ?? []), ...(sc.fsGroup !== undefined ? [sc.fsGroup] : [])],
    privileged: [...(spec.initContainers ?? []), ...spec.containers].some((c) => c.securityContext?.privileged),
    ...(seccomp ? { seccomp: { profile_type: seccomp as SecurityProfile_ProfileType, localhost_ref: sc.seccompProfile?.localhostProfile ?? '' } } : {}),
  };
}

/** The pod's hostname: spec.hostname or the pod name (63 characters at most); the node's on the host network. */
export function podHostname(pod: Pod): string {
  if (pod.spec?.hostNetwork) return osHostname();
  return (pod.spec?.hostname || pod.metadata?.name || '').slice(0, 63).replace(/[-.]+$/, '');
}

export async function sandboxConfig(pod: Pod, attempt: number, ctx: SandboxContext): Promise<DeepPartial<PodSandboxConfig>> {
  const meta = pod.metadata ?? {};
  const identity = { namespace: meta.namespace ?? '', name: meta.name ?? '', uid: meta.uid ?? '' };
  const sysctls = Object.fromEntries((pod.spec?.securityContext?.sysctls ?? []).map((s) => [s.name, s.value]));
  return {
    metadata: { ...identity, attempt },
    hostname: podHostname(pod),
    log_directory: podLogDir(ctx.logRoot, identity),
    dns_config: await podDnsConfig(pod, ctx),
    port_mappings: portMappings(pod),
    labels: { ...(meta.labels ?? {}), ...podLabels(pod) },
    annotations: { ...(meta.annotations ?? {}) },
    linux: {
      cgroup_parent: podCgroupParent(pod),
      security_context: sandboxSecurityContext(pod),
      sysctls,
    },
  };
}
