// `skiff proxy`: the service proxy as its own process (kube-proxy's nftables mode, Skiff's
// layout): watches Services and EndpointSlices and programs the `ip skiff-proxy` nft table
// of this network namespace. The node agent runs the same startProxy in process.
import { hostname } from 'node:os';
import { RestClient } from '../client/rest.ts';
import { DEFAULT_CLUSTER_CIDR, parseIpv4, parseIpv4Cidr } from '../network/cidr.ts';
import { startProxy } from '../proxy/proxy.ts';
import { CliError } from './errors.ts';
import { durationFlag, parseFlags } from './flags.ts';

export const PROXY_FLAGS = {
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the API server (default $KUBECONFIG, then ~/.kube/config)' },
  'node-name': { type: 'string', default: '', help: 'this node\'s name: endpoints on it are "local" for the Local traffic policies (default: hostname)' },
  'node-addresses': { type: 'string', default: '', help: 'comma-separated addresses NodePorts answer on (default: every local address but 127.0.0.0/8)' },
  'cluster-cidr': { type: 'string', default: DEFAULT_CLUSTER_CIDR, help: 'the pod range; traffic to Services from outside it is masqueraded' },
  'sync-period': { type: 'string', default: '60s', help: 'how often a full resync rewrites the table (0 turns it off)' },
} as const;

export async function runProxy(args: string[]): Promise<void> {
  const f = parseFlags('proxy', 'Runs the Skiff service proxy: Services → nftables (table ip skiff-proxy) in this network namespace.', PROXY_FLAGS, args);
  if (process.getuid?.() !== 0) throw new CliError('the proxy programs nftables and must run as root');
  const nodeAddresses = f['node-addresses'].split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of nodeAddresses) {
    try {
      parseIpv4(a);
    } catch {
      throw new CliError(`--node-addresses: "${a}" is not an IPv4 address`);
    }
  }
  try {
    parseIpv4Cidr(f['cluster-cidr']);
  } catch (e) {
    throw new CliError(`--cluster-cidr: ${(e as Error).message}`);
  }
  let client: RestClient;
  try {
    client = RestClient.fromKubeconfig(f.kubeconfig || undefined, { userAgent: 'skiff-proxy' });
  } catch (e) {
    throw new CliError(`cannot load the kubeconfig: ${(e as Error).message}`);
  }
  const proxy = startProxy({
    client, nodeName: f['node-name'] || hostname(), nodeAddresses, clusterCidr: f['cluster-cidr'],
    resyncIntervalMs: durationFlag('sync-period', f['sync-period']),
  });
  console.log(`skiff: proxy connecting to ${client.config.server}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // The table stays: connections keep working while the proxy restarts (as kube-proxy).
    console.log(`skiff: ${signal}: stopping the proxy (the nft table stays in place)`);
    await proxy.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await proxy.synced();
}
