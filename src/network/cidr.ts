// IPv4 address arithmetic for pod and node ranges: parse "10.42.0.0/16", split
// it into per-node subnets, and pick host addresses inside a subnet. Shared by
// the node IPAM controller (which hands out spec.podCIDR) and the hollow nodes
// (which give their pods IPs from it); the pod network will use it too.
// https://kubernetes.io/docs/concepts/cluster-administration/networking/

/** The pod range the control plane splits into node leases, and the Service range (k3s's defaults). */
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIpv4(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`"${ip}" is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** "10.42.0.0/16" → {base, prefix}; host bits must be zero, as kube-controller-manager's --cluster-cidr requires. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) throw new Error(`"${cidr}" is not a CIDR (want e.g. 10.42.0.0/16)`);
  if (m[1].includes(':')) throw new Error(`"${cidr}": only IPv4 ranges are supported`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`"${cidr}": prefix length must be at most 32`);
  const base = parseIpv4(m[1]);
  if (base % size(prefix) !== 0) throw new Error(`"${cidr}" has host bits set (network address is ${formatIpv4(base - (base % size(prefix)))}/${prefix})`);
  return { base, prefix };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}

/** Number of addresses in a /prefix. */
export function size(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function contains(c: Ipv4Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + size(c.prefix);
}

/** How many /subPrefix subnets the range holds. */
export function subnetCount(c: Ipv4Cidr, subPrefix: number): number {
  if (subPrefix < c.prefix) throw new Error(`node mask /${subPrefix} is larger than the cluster range ${formatIpv4Cidr(c)}`);
  return 2 ** (subPrefix - c.prefix);
}

/** The index-th /subPrefix subnet of c. */
export function subnet(c: Ipv4Cidr, subPrefix: number, index: number): Ipv4Cidr {
  return { base: c.base + index * size(subPrefix), prefix: subPrefix };
}

/** Index of sub within c as /subPrefix subnets, or undefined when it is not one of them. */
export function subnetIndex(c: Ipv4Cidr, subPrefix: number, sub: Ipv4Cidr): number | undefined {
  if (sub.prefix !== subPrefix || !contains(c, sub.base)) return undefined;
  return (sub.base - c.base) / size(subPrefix);
}

/**
 * The offset-th usable host address of a subnet (offset 1 is the first after
 * the network address). Pods start at offset 2: .1 is the bridge gateway, as
 * with the host-local IPAM plugin.
 */
export function hostAddress(c: Ipv4Cidr, offset: number): string | undefined {
  if (offset < 1 || offset >= size(c.prefix) - 1) return undefined;
  return formatIpv4(c.base + offset);
}
