// The node's share of cluster networking, run by the agent next to its in-process runtime:
// - the pod network between nodes (src/network: VXLAN or host-gw, flannel's --flannel-backend),
//   which makes the skiff0 bridge and the routes to the other nodes' leases; with backend
//   `none` (or a loopback node IP: nothing to tunnel over) the node is alone and the CNI bridge
//   plugin makes skiff0 on the first pod, as before;
// - the CNI conflist for the node's podCIDR (with the backend's MTU);
// - the service proxy (src/proxy, kube-proxy's part);
// - a node-local cluster DNS server (src/dns) on the bridge's gateway address, <podCIDR>.1:53,
//   which every ClusterFirst pod of the node gets as its nameserver (NodeLocal DNSCache's idea:
//   each node answers its own pods, no Service hop).
// All three share one informer factory: one watch of Nodes, Services and EndpointSlices per node.
// docs/agent.md ("Networking") has the picture.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { SharedInformerFactory } from '../client/informer-factory.ts';
import type { RestClient } from '../client/rest.ts';
import { startDnsServer, type DnsServer } from '../dns/index.ts';
import { parseResolvConf } from '../dns/resolv-conf.ts';
import {
  DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR, ensureSafetyRoutes, type NetworkAgent, netRunner, startNetworkAgent, writePodNetworkConflist,
} from '../network/index.ts';
import { formatIpv4, parseIpv4Cidr } from '../network/cidr.ts';
import { BRIDGE_DEVICE, ensurePodBridge, readLink } from '../network/links.ts';
import { startProxy, type Proxy } from '../proxy/index.ts';

export type NetworkBackend = 'vxlan' | 'host-gw' | 'none';
export const NETWORK_BACKENDS: readonly NetworkBackend[] = ['vxlan', 'host-gw', 'none'];
export const DNS_PORT = 53;
/** The CNI bridge plugin's MTU when the config gives none: what the bridge gets when the agent makes it first. */
const DEFAULT_BRIDGE_MTU = 1500;
/** Where systemd-resolved keeps the real upstreams when /etc/resolv.conf names only its stub (127.0.0.53). */
const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

/** What `skiff agent`'s networking flags choose. */
export interface NodeNetworkConfig {
  /** The pod network between nodes; `none`: this node's bridge only. */
  backend: NetworkBackend;
  /** --cluster-cidr (default 10.42.0.0/16). */
  clusterCidr?: string;
  /** --service-cidr (default 10.43.0.0/16): gets a safety route. */
  serviceCidr?: string;
  /** Run the service proxy (default true). */
  proxy?: boolean;
  /** Run the node-local cluster DNS server (default true). */
  dns?: boolean;
  /** Upstream resolvers of the DNS server; default: the host's resolv.conf nameservers but loopback ones. */
  dnsUpstreams?: string[];
}

export interface NodeNetworkOptions extends NodeNetworkConfig {
  client: RestClient;
  nodeName: string;
  nodeIp: string;
  cniConfDir: string;
  clusterDomain: string;
  log: (line: string) => void;
}

/** Whether ip is a loopback address (127.0.0.0/8, ::1). */
export function isLoopback(ip: string): boolean {
  return isIP(ip) === 4 ? ip.startsWith('127.') : ip === '::1';
}

/**
 * The DNS server's upstreams from a resolv.conf: its nameservers but loopback ones (a resolver on
 * 127.0.0.53 is the host's, unreachable from pods and from a node in its own network namespace).
 */
export function upstreamsFromResolvConf(text: string): string[] {
  return parseResolvConf(text).servers.filter((s) => isIP(s) !== 0 && !isLoopback(s));
}

async function hostUpstreams(log: (line: string) => void): Promise<string[]> {
  for (const file of ['/etc/resolv.conf', SYSTEMD_RESOLV_CONF]) {
    const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') log(`cannot read ${file}: ${e.message}`);
      return '';
    });
    const found = upstreamsFromResolvConf(text);
    if (found.length) return found;
  }
  log('no non-loopback nameserver in /etc/resolv.conf or ' + SYSTEMD_RESOLV_CONF + ': names outside the cluster will get SERVFAIL');
  return [];
}

export class NodeNetwork {
  readonly options: NodeNetworkOptions;
  /** The backend in effect: `none` when asked for, or when the node IP is loopback. */
  readonly backend: NetworkBackend;
  readonly clusterCidr: string;
  readonly serviceCidr: string;
  private readonly log: (line: string) => void;
  private readonly factory: SharedInformerFactory;
  private network: NetworkAgent | undefined;
  private proxy: Proxy | undefined;
  private dns: DnsServer | undefined;
  private dnsAddress = '';
  private stopped = false;

  constructor(o: NodeNetworkOptions) {
    if (!NETWORK_BACKENDS.includes(o.backend)) throw new Error(`unknown pod network backend "${o.backend}" (want ${NETWORK_BACKENDS.join(', ')})`);
    this.options = o;
    this.log = o.log;
    this.clusterCidr = o.clusterCidr ?? DEFAULT_CLUSTER_CIDR;
    this.serviceCidr = o.serviceCidr ?? DEFAULT_SERVICE_CIDR;
    parseIpv4Cidr(this.clusterCidr);
    parseIpv4Cidr(this.serviceCidr);
    this.backend = o.backend !== 'none' && isLoopback(o.nodeIp) ? 'none' : o.backend;
    if (this.backend !== o.backend) {
      this.log(`node ${o.nodeName}: node IP ${o.nodeIp} is loopback: no ${o.backend} network to other nodes, pods use the skiff0 bridge alone`);
    }
    // Cached objects are only read here; not freezing them saves a deep walk per event.
    this.factory = new SharedInformerFactory(o.client, { freeze: false, log: this.log });
  }

  /** Starts the pod network agent and the proxy; the DNS server waits for the podCIDR (setUp). */
  start(): void {
    const o = this.options;
    if (this.backend !== 'none') {
      this.network = startNetworkAgent({
        client: o.client, nodeName: o.nodeName, backend: this.backend, underlayIp: o.nodeIp, clusterCidr: this.clusterCidr,
        serviceCidr: this.serviceCidr, cniConfDir: o.cniConfDir, informers: this.factory, log: this.log,
      });
    }
    if (o.proxy ?? true) {
      this.proxy = startProxy({
        client: o.client, nodeName: o.nodeName, informers: this.factory, clusterCidr: this.clusterCidr,
        // A loopback node IP (single-node `skiff up`): NodePorts on every address of the host but 127/8, as kube-proxy.
        nodeAddresses: isLoopback(o.nodeIp) ? [] : [o.nodeIp],
        log: (m) => this.log(`proxy: ${m}`),
      });
    }
    this.factory.start();
  }

  /**
   * Once the node has its podCIDR: the pod network programmed (or, alone, the bridge's gateway and
   * the safety routes), the CNI conflist written, the DNS server listening. Pods wait for this.
   */
  async setUp(podCidr: string): Promise<void> {
    const o = this.options;
    const cidr = parseIpv4Cidr(podCidr);
    const gateway = formatIpv4(cidr.base + 1);
    if (this.network) {
      // Its first pass writes the conflist with the backend's MTU (cniConfDir above).
      await this.network.ready();
    } else {
      if (await setUpBridgeOnly(o.cniConfDir, podCidr, [this.clusterCidr, this.serviceCidr])) {
        this.log(`node ${o.nodeName}: pod network ${podCidr} on bridge ${BRIDGE_DEVICE} (${o.cniConfDir})`);
      }
      if (o.dns ?? true) await ensureBridgeGateway(`${gateway}/${cidr.prefix}`);
    }
    if ((o.dns ?? true) && !this.dns && !this.stopped) await this.startDns(gateway);
  }

  private async startDns(address: string): Promise<void> {
    const o = this.options;
    const upstreams = o.dnsUpstreams ?? await hostUpstreams(this.log);
    try {
      this.dns = await startDnsServer({
        client: o.client, informers: this.factory, listen: [{ address, port: DNS_PORT }], domain: o.clusterDomain, upstreams,
        log: (m) => this.log(`dns: ${m}`),
      });
      this.dnsAddress = address;
      this.log(`node ${o.nodeName}: cluster DNS for ${o.clusterDomain} on ${address}:${DNS_PORT} (upstreams ${upstreams.join(', ') || 'none'})`);
    } catch (e) {
      // Another cluster's agent on this host may hold the address (single-node clusters share skiff0):
      // pods then fall back to the host's resolver, as kubelet without --cluster-dns.
      this.log(`node ${o.nodeName}: cannot start the cluster DNS on ${address}:${DNS_PORT}: ${(e as Error).message}; pods use the host's resolver`);
    }
  }

  /** The node-local DNS server's address once it runs (what ClusterFirst pods get as nameserver). */
  clusterDns(): string[] {
    return this.dnsAddress ? [this.dnsAddress] : [];
  }

  /** Why the pod network is not ready yet, for the Node's Ready condition. */
  waitingFor(): string | undefined {
    const err = this.network?.status().lastError;
    return err ? `pod network (${this.backend}): ${err}` : undefined;
  }

  /** Stops watching; routes, devices, the proxy's table and pods' network stay (a restarted agent takes over). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.proxy?.stop().catch((e: Error) => this.log(`stopping the proxy: ${e.message}`));
    await this.dns?.stop().catch((e: Error) => this.log(`stopping the DNS server: ${e.message}`));
    await this.network?.stop().catch((e: Error) => this.log(`stopping the network agent: ${e.message}`));
    await this.factory.stop();
  }
}

/**
 * skiff0 with the gateway address, made up front (as the CNI bridge plugin with isGateway would
 * on the first pod) so the DNS server can bind to it. An existing bridge keeps its MTU and other
 * addresses: on a shared host another single-node cluster may be using it.
 */
/**
 * The pod network of a node with no backend (one node, or pods that never leave it): the conflist
 * for its podCIDR on the skiff0 bridge alone, and the safety routes. True when the conflist changed.
 */
export async function setUpBridgeOnly(confDir: string, podCidr: string, safetyCidrs: string[]): Promise<boolean> {
  const changed = await writePodNetworkConflist(confDir, podCidr);
  await ensureSafetyRoutes(netRunner(), safetyCidrs);
  return changed;
}

async function ensureBridgeGateway(gateway: string): Promise<void> {
  const r = netRunner();
  if (!(await readLink(r, BRIDGE_DEVICE))) {
    await ensurePodBridge(r, { gateway, mtu: DEFAULT_BRIDGE_MTU });
    return;
  }
  const addrs = await r.ipJson<{ addr_info?: { family: string; local: string; prefixlen: number }[] }>(['-4', 'addr', 'show', 'dev', BRIDGE_DEVICE]);
  const have = (addrs[0]?.addr_info ?? []).some((a) => a.family === 'inet' && `${a.local}/${a.prefixlen}` === gateway);
  if (!have) await r.ip(['addr', 'replace', gateway, 'dev', BRIDGE_DEVICE]);
  await r.ip(['link', 'set', 'dev', BRIDGE_DEVICE, 'up']);
}
