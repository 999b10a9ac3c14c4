// A pod's PodSandboxConfig, as kubelet's generatePodSandboxConfig makes it: metadata, hostname,
// log directory, DNS from dnsPolicy, port mappings, labels, cgroup parent and the namespace
// options of hostNetwork / hostPID / hostIPC / shareProcessNamespace.
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy
import { hostname as osHostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Pod, PodSecurityContext } from 'kubernetes-types/core/v1.d.ts';
import { podDnsConfig } from '../dns/pod-dns-config.ts';
import type { DeepPartial, DNSConfig, LinuxSandboxSecurityContext, PodSandboxConfig, PortMapping, Protocol, SecurityProfile_ProfileType } from '../cri/types.ts';
import { podLabels } from './labels.ts';
import { podLogDir } from './log-paths.ts';
import { podCgroupParent } from './qos.ts';

export interface SandboxContext {
  /** <data-dir>/logs: the root of the pods' log directories. */
  logRoot: string;
  /** kubelet's --cluster-dns; empty while cluster DNS does not exist (the agent may fill it in later: read at each sandbox). */
  clusterDns: string[];
  clusterDomain: string;
  /** kubelet's --resolv-conf: the node's resolver for dnsPolicy Default (default /etc/resolv.conf). */
  hostResolvConf?: string;
  /** kubelet's Warning events about the pod's DNS (MissingClusterDNS, DNSConfigForming). */
  warn?: (pod: Pod, reason: string, message: string) => void;
}

/** kubelet's GetPodDNS (src/dns/pod-dns-config.ts) with the node's resolv.conf read now. */
async function sandboxDnsConfig(pod: Pod, ctx: SandboxContext): Promise<DNSConfig> {
  const file = ctx.hostResolvConf ?? '/etc/resolv.conf';
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    // A node without resolv.conf: kubelet then gives Default pods nothing (no nameserver lines).
    if (e.code === 'ENOENT') return '';
    throw new Error(`cannot read the node's resolver config ${file}: ${e.message}`);
  });
  return podDnsConfig(pod, {
    clusterDns: ctx.clusterDns, clusterDomain: ctx.clusterDomain, hostResolvConf: text,
    warn: (reason, message) => ctx.warn?.(pod, reason, message),
  });
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
    dns_config: await sandboxDnsConfig(pod, ctx),
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
