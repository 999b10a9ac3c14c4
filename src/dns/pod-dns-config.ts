// A pod's resolver configuration (the CRI DNSConfig the runtime writes into its
// /etc/resolv.conf), as kubelet's GetPodDNS makes it from the pod's dnsPolicy and dnsConfig:
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy
// (facts from kubernetes pkg/kubelet/network/dns and pkg/apis/core/validation).
//
//   ClusterFirst             the cluster DNS; search <ns>.svc.<domain> svc.<domain> <domain>
//                            then the host's searches; options ndots:5. On the host network
//                            it means Default.
//   ClusterFirstWithHostNet  the same, also on the host network.
//   Default                  the node's resolv.conf.
//   None                     nothing but the pod's dnsConfig.
// The pod's dnsConfig is then appended (nameservers and searches without duplicates, options
// by name with the pod's winning), and the result cut to the resolver's limits.
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { DNSConfig } from '../cri/types.ts';
import { parseResolvConf } from './resolv-conf.ts';

/** validation.MaxDNSNameservers: resolvers read only the first three. */
export const MAX_NAMESERVERS = 3;
/** validation.MaxDNSSearchPathsExpanded and MaxDNSSearchListCharsExpanded (ExpandedDNSConfig, GA in 1.28). */
export const MAX_SEARCH_PATHS = 32;
export const MAX_SEARCH_LINE_CHARS = 2048;
/** A longer search domain makes some resolvers (glibc 2.28) abort, so kubelet drops it. */
const MAX_SEARCH_DOMAIN_CHARS = 253;

export interface PodDnsContext {
  /** kubelet's --cluster-dns: the cluster DNS server addresses; empty: ClusterFirst falls back to Default. */
  clusterDns: string[];
  /** kubelet's --cluster-domain; empty: no cluster search domains. */
  clusterDomain: string;
  /**
   * The text of the node's resolv.conf (kubelet's --resolv-conf). null stands for
   * --resolv-conf="": the host's resolver is then 127.0.0.1 with search ".".
   */
  hostResolvConf: string | null;
  /** Told what kubelet reports as Warning events (MissingClusterDNS, DNSConfigForming). */
  warn?: (reason: 'MissingClusterDNS' | 'DNSConfigForming', message: string) => void;
}

export function podDnsConfig(pod: Pod, ctx: PodDnsContext): DNSConfig {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const host = hostConfig(ctx.hostResolvConf);
  let config: DNSConfig;
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.spec?.hostNetwork);
  if (policy === 'None') {
    config = { servers: [], searches: [], options: [] };
  } else if (cluster && ctx.clusterDns.length > 0) {
    config = { servers: [...ctx.clusterDns], searches: clusterSearches(pod, ctx.clusterDomain, host.searches), options: ['ndots:5'] };
  } else {
    if (cluster) {
      ctx.warn?.('MissingClusterDNS', `kubelet does not have ClusterDNS IP configured and cannot create Pod using "${policy}" policy. Falling back to "Default" policy.`);
    }
    config = host;
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    config = {
      servers: unique([...config.servers, ...(extra.nameservers ?? [])]),
      searches: unique([...config.searches, ...(extra.searches ?? [])]),
      options: mergeOptions(config.options, extra.options ?? []),
    };
  }
  return { servers: fitNameservers(config.servers, ctx), searches: fitSearches(config.searches, ctx), options: config.options };
}

function hostConfig(resolvConf: string | null): DNSConfig {
  if (resolvConf === null) return { servers: ['127.0.0.1'], searches: ['.'], options: [] };
  return parseResolvConf(resolvConf);
}

function clusterSearches(pod: Pod, domain: string, hostSearches: string[]): string[] {
  if (!domain) return [...hostSearches];
  const ns = pod.metadata?.namespace || 'default';
  return unique([`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...hostSearches]);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** Options by name ("ndots:5" is ndots); the pod's dnsConfig.options override, valueless ones as bare names. */
function mergeOptions(existing: string[], fromPod: { name?: string; value?: string }[]): string[] {
  const byName = new Map<string, string>();
  for (const o of existing) {
    const colon = o.indexOf(':');
    byName.set(colon < 0 ? o : o.slice(0, colon), colon < 0 ? '' : o.slice(colon + 1));
  }
  for (const o of fromPod) if (o.name) byName.set(o.name, o.value ?? '');
  return [...byName].map(([name, value]) => (value ? `${name}:${value}` : name));
}

function fitNameservers(servers: string[], ctx: PodDnsContext): string[] {
  if (servers.length <= MAX_NAMESERVERS) return servers;
  const kept = servers.slice(0, MAX_NAMESERVERS);
  ctx.warn?.('DNSConfigForming', `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${kept.join(' ')}`);
  return kept;
}

function fitSearches(searches: string[], ctx: PodDnsContext): string[] {
  let kept = searches.slice(0, MAX_SEARCH_PATHS);
  let exceeded = kept.length < searches.length;
  const short = kept.filter((s) => s.length <= MAX_SEARCH_DOMAIN_CHARS);
  exceeded ||= short.length < kept.length;
  kept = short;
  // Whole domains come off the end until the line fits.
  let line = kept.join(' ').length;
  while (line > MAX_SEARCH_LINE_CHARS && kept.length > 0) {
    line -= kept.pop()!.length + 1;
    exceeded = true;
  }
  if (exceeded) {
    ctx.warn?.('DNSConfigForming', `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${kept.join(' ')}`);
  }
  return kept;
}

/** The resolv.conf text a DNSConfig stands for (what the runtime writes into the sandbox). */
export function formatResolvConf(config: DNSConfig): string {
  const lines = config.servers.map((s) => `nameserver ${s}`);
  if (config.searches.length) lines.push(`search ${config.searches.join(' ')}`);
  if (config.options.length) lines.push(`options ${config.options.join(' ')}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}
