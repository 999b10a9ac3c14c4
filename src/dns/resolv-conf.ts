// resolv.conf as kubelet reads it (pkg/kubelet/network/dns parseResolvConf): `nameserver`
// lines accumulate, the last `search` line wins (trailing dots trimmed, so "a." and "a"
// count once), the last `options` line wins. Used for the host's resolver of dnsPolicy
// Default and for the DNS server's default upstreams.
import type { DNSConfig } from '../cri/types.ts';

export function parseResolvConf(text: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) out.servers.push(fields[0]);
    else if (key === 'search') out.searches = fields.map((s) => (s.endsWith('.') && s !== '.' ? s.slice(0, -1) : s));
    else if (key === 'options') out.options = fields;
  }
  return out;
}
