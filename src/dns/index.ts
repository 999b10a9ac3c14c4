// Skiff's cluster DNS: the server (`skiff dns`, or in-process in the node agent) and the
// pod resolver configuration kubelet derives from dnsPolicy. See docs/dns.md.
export { DEFAULT_CLUSTER_DOMAIN, DEFAULT_TTL, defaultUpstreams, type DnsServer, type DnsServerOptions, type ListenAddress, startDnsServer } from './server.ts';
export { formatResolvConf, MAX_NAMESERVERS, MAX_SEARCH_LINE_CHARS, MAX_SEARCH_PATHS, podDnsConfig, type PodDnsContext } from './pod-dns-config.ts';
export { parseResolvConf } from './resolv-conf.ts';
export { parseUpstream, type Upstream } from './forward.ts';
export { DNS_SCHEMA_VERSION, type PodRecords } from './zone.ts';
