// `skiff network`: the pod network of one node on its own (the node agent will run it in-process):
// publishes this node's backend on its Node and programs routes to every other node's pods
// until SIGINT/SIGTERM. `--teardown` removes everything it programs instead.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { RestClient } from '../client/rest.ts';
import { DEFAULT_CLUSTER_CIDR, isBackend, startNetworkAgent, teardownNetwork } from '../network/index.ts';
import { DEFAULT_SERVICE_CIDR, parseIpv4Cidr } from '../network/cidr.ts';
import { CliError } from './errors.ts';
import { durationFlag, parseFlags } from './flags.ts';

export const NETWORK_FLAGS = {
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the cluster (default $KUBECONFIG)' },
  'node-name': { type: 'string', default: '', help: "this node's Node name (default: this host's name)" },
  backend: { type: 'string', default: 'vxlan', help: 'how pods on different nodes reach each other: vxlan or host-gw (needs the nodes on one L2 segment)' },
  'underlay-ip': { type: 'string', default: '', help: "this node's address on the network between nodes (required)" },
  'underlay-dev': { type: 'string', default: '', help: 'the device holding --underlay-ip (default: found from the address)' },
  'cluster-cidr': { type: 'string', default: DEFAULT_CLUSTER_CIDR, help: "the cluster's pod range (the server's --cluster-cidr)" },
  'service-cidr': { type: 'string', default: DEFAULT_SERVICE_CIDR, help: "the cluster's service range (gets an unreachable safety route)" },
  netns: { type: 'string', default: '', help: 'program this network namespace instead of the current one' },
  'cni-conf-dir': { type: 'string', default: '', help: 'also write the CNI conflist (with the backend MTU) here' },
  resync: { type: 'string', default: '30s', help: 'full reconcile at least this often' },
  teardown: { type: 'boolean', default: false, help: 'remove the VXLAN device, routes, bridge, masquerade table and safety routes, then exit' },
} as const;

export async function runNetwork(args: string[]): Promise<void> {
  const f = parseFlags('network', "Runs this node's pod network (VXLAN or host-gw to the other nodes' podCIDRs).", NETWORK_FLAGS, args);
  const netns = f.netns || undefined;
  if (f.teardown) {
    const removed = await teardownNetwork({ netns });
    console.log(removed.length ? `skiff: removed ${removed.join(', ')}` : 'skiff: nothing to remove');
    return;
  }
  if (!isBackend(f.backend)) throw new CliError(`--backend must be vxlan or host-gw, got "${f.backend}"`);
  if (isIP(f['underlay-ip']) !== 4) throw new CliError(`--underlay-ip must be this node's IPv4 address on the network between nodes, got "${f['underlay-ip']}"`);
  for (const flag of ['cluster-cidr', 'service-cidr'] as const) {
    try {
      parseIpv4Cidr(f[flag]);
    } catch (e) {
      throw new CliError(`--${flag}: ${(e as Error).message}`);
    }
  }
  const kubeconfig = f.kubeconfig || process.env.KUBECONFIG?.split(':')[0];
  if (!kubeconfig) throw new CliError('no kubeconfig: pass --kubeconfig FILE or set $KUBECONFIG');
  const nodeName = (f['node-name'] || hostname()).toLowerCase();
  const client = RestClient.fromKubeconfig(kubeconfig, { userAgent: 'skiff-network' });
  const agent = startNetworkAgent({
    client, nodeName, backend: f.backend, underlayIp: f['underlay-ip'], underlayDev: f['underlay-dev'] || undefined,
    clusterCidr: f['cluster-cidr'], serviceCidr: f['service-cidr'], netns, cniConfDir: f['cni-conf-dir'] || undefined,
    resyncMs: Math.max(1000, durationFlag('resync', f.resync)), log: (line) => console.log(`skiff: ${line}`),
  });
  void agent.ready().then(() => console.log(`skiff: pod network of node ${nodeName} ready (${f.backend}, podCIDR ${agent.status().podCidr}, mtu ${agent.status().mtu})`),
    () => undefined);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // What is programmed stays: pods keep their network while the agent restarts.
    console.log(`skiff: ${signal}: stopping the pod network agent (routes stay in place)`);
    await agent.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
