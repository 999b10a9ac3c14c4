// Name and address helpers of the cluster DNS: reverse names (in-addr.arpa, ip6.arpa), the
// dashed IP labels of pod records and of endpoints without a hostname, and a canonical form
// of IPv6 addresses so that "fd00::1" and the nibbles of a PTR query find the same endpoint.
import { isIP, isIPv4, isIPv6 } from 'node:net';

/** A DNS name without its trailing dot, in lower case: DNS names compare case-insensitively (RFC 4343). */
export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') && n !== '.' ? n.slice(0, -1) : n;
}

/** 4, 6, or 0 for something that is not an IP address. */
export function ipFamily(ip: string): 0 | 4 | 6 {
  return isIP(ip) as 0 | 4 | 6;
}

/** The 8 groups of an IPv6 address, each 4 lower-case hex digits (embedded IPv4 folded in). */
export function expandIPv6(ip: string): string[] {
  if (!isIPv6(ip)) throw new Error(`"${ip}" is not an IPv6 address`);
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => g.padStart(4, '0'));
}

/** One spelling per address, for index keys and comparisons: IPv4 as is, IPv6 fully expanded. */
export function canonicalIp(ip: string): string {
  return isIPv6(ip) ? expandIPv6(ip).join(':') : ip;
}

/** The PTR name of an address: 4.3.2.1.in-addr.arpa, or 32 nibbles under ip6.arpa. */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const nibbles = expandIPv6(ip).join('').split('');
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/** true for names under in-addr.arpa or ip6.arpa (normalized names). */
export function isReverseName(name: string): boolean {
  return name === 'in-addr.arpa' || name.endsWith('.in-addr.arpa') || name === 'ip6.arpa' || name.endsWith('.ip6.arpa');
}

/** The address a complete reverse name stands for (canonical form), or undefined. */
export function ipFromReverseName(name: string): string | undefined {
  const n = normalizeName(name);
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join('');
    return hex.match(/.{4}/g)!.join(':');
  }
  return undefined;
}

/**
 * The label of an address with dots (IPv4) or colons (IPv6) turned into dashes, as in pod
 * records (10-42-0-5.default.pod.cluster.local) and CoreDNS's names for endpoints without a
 * hostname.
 */
export function dashedIp(ip: string): string {
  return isIPv4(ip) ? ip.replaceAll('.', '-') : ip.toLowerCase().replaceAll(':', '-');
}

/** The address of a dashed label ("10-42-0-5", "fd00--5"), or undefined. */
export function ipFromDashed(label: string): string | undefined {
  const v4 = label.replaceAll('-', '.');
  if (isIPv4(v4)) return v4;
  const v6 = label.replaceAll('-', ':');
  if (isIPv6(v6)) return v6;
  return undefined;
}
