// `skiff dns`: the cluster DNS server on its own (the node agent runs the same server
// in-process): records of the cluster domain from the API server, other names forwarded.
import { RestClient } from '../client/rest.ts';
import { formatUpstream } from '../dns/forward.ts';
import { DEFAULT_CLUSTER_DOMAIN, type ListenAddress, startDnsServer } from '../dns/server.ts';
import type { PodRecords } from '../dns/zone.ts';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';

export const DNS_FLAGS = {
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the API server (default $KUBECONFIG, then ~/.kube/config)' },
  listen: { type: 'string', default: '127.0.0.1:53', help: 'ADDRESS:PORT to serve DNS on over UDP and TCP, comma-separated ([IPv6]:PORT; port 0 = any free one)' },
  'cluster-domain': { type: 'string', default: DEFAULT_CLUSTER_DOMAIN, help: 'the cluster domain (kubelet --cluster-domain)' },
  upstream: { type: 'string', default: '', help: 'resolvers for other names, ADDRESS[:PORT] comma-separated (default: the nameservers of /etc/resolv.conf)' },
  'pod-records': { type: 'string', default: 'insecure', help: '<a-b-c-d>.<ns>.pod.<domain> records: insecure (any address), verified (pods that exist) or disabled' },
} as const;

/** "127.0.0.1:53", "[::1]:53", "0.0.0.0:5353". */
export function parseListen(text: string): ListenAddress[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) throw new CliError(`--listen: "${s}" is not ADDRESS:PORT (e.g. 127.0.0.1:53 or [::1]:53)`);
    return { address: m[1], port };
  });
}

export async function runDns(args: string[]): Promise<void> {
  const f = parseFlags('dns', 'Runs the Skiff cluster DNS server: Services and pods of the cluster domain, other names forwarded upstream.', DNS_FLAGS, args);
  const listen = parseListen(f.listen);
  if (listen.length === 0) throw new CliError('--listen: give at least one ADDRESS:PORT');
  const podRecords = f['pod-records'];
  if (podRecords !== 'insecure' && podRecords !== 'verified' && podRecords !== 'disabled') {
    throw new CliError(`--pod-records must be insecure, verified or disabled, got "${podRecords}"`);
  }
  let client: RestClient;
  try {
    client = RestClient.fromKubeconfig(f.kubeconfig || undefined, { userAgent: 'skiff-dns' });
  } catch (e) {
    throw new CliError(`cannot load the kubeconfig: ${(e as Error).message}`);
  }
  const upstreams = f.upstream ? f.upstream.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  let server;
  try {
    server = await startDnsServer({ client, listen, domain: f['cluster-domain'], upstreams, podRecords: podRecords as PodRecords });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new CliError(`--listen ${f.listen}: the address is in use (another DNS server?); pick another with --listen`);
    if (err.code === 'EACCES') throw new CliError(`--listen ${f.listen}: ports below 1024 need root (or CAP_NET_BIND_SERVICE)`);
    if (err.code === 'EADDRNOTAVAIL') throw new CliError(`--listen ${f.listen}: no such address on this machine`);
    throw new CliError((err as Error).message);
  }
  const where = listen.map((l, i) => (l.address.includes(':') ? `[${l.address}]:${server.ports[i]}` : `${l.address}:${server.ports[i]}`)).join(', ');
  const ups = server.upstreams.length ? server.upstreams.map(formatUpstream).join(', ') : 'none (other names get SERVFAIL)';
  console.log(`skiff: dns for ${f['cluster-domain']} listening on ${where} (udp+tcp), upstreams ${ups}`);
  void server.synced().then((ok) => {
    if (ok) console.log('skiff: dns has listed Services and EndpointSlices: answering cluster names');
    else console.error('skiff: dns could not list Services and EndpointSlices yet: cluster names get SERVFAIL until it does');
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff: ${signal}: stopping the DNS server`);
    await server.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
