// The pod network on one node (flannel's flanneld with the kube subnet manager): publishes this
// node's backend data on its Node, watches every Node, and keeps the node's kernel in step with
// them: the VXLAN device or the host-gw routes to each peer's lease, the pod bridge, the
// masquerade table and the safety routes. Level-triggered: every Node event and a periodic timer
// run one full, idempotent reconcile, which also repairs anything changed behind its back.
// https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { SharedInformerFactory } from '../client/informer-factory.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { contains, formatIpv4Cidr, type Ipv4Cidr, parseIpv4, parseIpv4Cidr } from './cidr.ts';
import { writePodNetworkConflist } from './cni.ts';
import { syncPeers } from './kernel-sync.ts';
import { deleteLink, ensurePodBridge, ensureVxlanDevice, findUnderlay, vtepMac } from './links.ts';
import { ensureMasquerade } from './masquerade.ts';
import { netRunner, type NetRunner } from './net-runner.ts';
import { type Backend, backendAnnotations, gatewayAddress, isBackend, VXLAN_OVERHEAD, vtepAddress } from './node-network.ts';
import { planPeers, VXLAN_DEVICE } from './peers.ts';
import { ensureSafetyRoutes } from './safety-routes.ts';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from './cidr.ts';

export { DEFAULT_CLUSTER_CIDR } from './cidr.ts';
export const DEFAULT_RESYNC_MS = 30_000;
const FIELD_MANAGER = 'skiff-network';

export interface NetworkAgentOptions {
  client: RestClient;
  nodeName: string;
  backend: Backend;
  /** The node's address on the network between nodes (flannel's public-ip). */
  underlayIp: string;
  /** The device holding underlayIp; found from the address when absent. */
  underlayDev?: string;
  clusterCidr: string;
  /** Gets a safety route too (default 10.43.0.0/16). */
  serviceCidr?: string;
  /** Run every command in this network namespace instead of the caller's. */
  netns?: string;
  log: (line: string) => void;
  /** Share the agent's informers; by default the network agent makes its own. */
  informers?: SharedInformerFactory;
  /** Full reconcile at least this often (default 30 s). */
  resyncMs?: number;
  /** When set, also write the CNI conflist (with the backend's MTU) here. */
  cniConfDir?: string;
}

export interface NetworkStatus {
  podCidr?: string;
  mtu?: number;
  underlayDev?: string;
  vtepMac?: string;
  /** Names of the nodes routes are programmed to. */
  peers: string[];
  lastSync?: Date;
  lastError?: string;
}

export class NetworkAgent {
  readonly options: NetworkAgentOptions;
  private readonly r: NetRunner;
  private readonly cluster: Ipv4Cidr;
  private readonly log: (line: string) => void;
  private readonly ownFactory: SharedInformerFactory | undefined;
  private readonly nodes: SharedInformer<Node>;
  private readonly state: NetworkStatus = { peers: [] };
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private unregister: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private forwardingOn = false;
  private lastSkipped = '';
  private lastWaiting = '';

  constructor(options: NetworkAgentOptions) {
    if (!isBackend(options.backend)) throw new Error(`unknown pod network backend "${options.backend as string}" (want vxlan or host-gw)`);
    parseIpv4(options.underlayIp);
    this.options = options;
    this.cluster = parseIpv4Cidr(options.clusterCidr);
    this.r = netRunner(options.netns);
    this.log = options.log;
    this.ownFactory = options.informers ? undefined : new SharedInformerFactory(options.client, { log: options.log });
    this.nodes = (options.informers ?? this.ownFactory!).informerFor<Node>(R.nodes);
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.readyPromise.catch(() => { /* ready() callers see the rejection; an unawaited one is not an error */ });
  }

  start(): void {
    this.unregister = this.nodes.addEventHandler({
      onAdd: () => this.requestSync(),
      onUpdate: (a, b) => {
        // Heartbeats (status) change nothing the network reads.
        if (a.spec?.podCIDR !== b.spec?.podCIDR || JSON.stringify(a.metadata?.annotations) !== JSON.stringify(b.metadata?.annotations)) this.requestSync();
      },
      onDelete: () => this.requestSync(),
    });
    this.ownFactory?.start();
    this.nodes.start();
    this.timer = setInterval(() => this.requestSync(), this.options.resyncMs ?? DEFAULT_RESYNC_MS);
  }

  /** Resolves after the first reconcile that programmed the node (it needs the Node and its podCIDR). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  status(): NetworkStatus {
    return { ...this.state, peers: [...this.state.peers] };
  }

  /** Stops watching and reconciling; what is programmed stays, so pods keep their network across restarts. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.unregister?.();
    this.rejectReady(new Error(`network agent for node ${this.options.nodeName} stopped before the pod network was ready`));
    await this.running;
    await this.ownFactory?.stop();
  }

  /** Runs a full reconcile soon; calls while one runs fold into one more. */
  requestSync(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.running) return;
    this.running = (async () => {
      // Let the events of one watch batch land before looking.
      await new Promise((r) => setImmediate(r));
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        await this.syncOnce();
      }
    })().finally(() => {
      this.running = undefined;
      if (this.dirty) this.requestSync(); // asked for between the last look and now
    });
  }

  private async syncOnce(): Promise<void> {
    try {
      const done = await this.reconcile();
      this.retryDelayMs = 0;
      this.state.lastError = undefined;
      if (done) {
        this.state.lastSync = new Date();
        this.resolveReady();
      }
    } catch (e) {
      const message = (e as Error).message;
      if (message !== this.state.lastError) this.log(`network: node ${this.options.nodeName}: ${message}`);
      this.state.lastError = message;
      // Retry with backoff; Node events and the resync timer also retry.
      this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 500), 30_000);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.requestSync(), this.retryDelayMs);
    }
  }

  private waiting(why: string): false {
    if (why !== this.lastWaiting) this.log(`network: node ${this.options.nodeName}: waiting: ${why}`);
    this.lastWaiting = why;
    return false;
  }

  /** One full pass; false when it cannot program the node yet (no Node, no podCIDR). */
  private async reconcile(): Promise<boolean> {
    const o = this.options;
    if (!this.nodes.hasSynced()) return this.waiting('the Node list has not arrived yet');
    const self = this.nodes.getByName(o.nodeName);
    if (!self) return this.waiting(`Node ${o.nodeName} does not exist (the node agent registers it)`);
    const podCidrText = self.spec?.podCIDR ?? this.state.podCidr;
    if (!podCidrText) return this.waiting(`Node ${o.nodeName} has no spec.podCIDR yet (the node-ipam controller of skiff server assigns one)`);
    const podCidr = parseIpv4Cidr(podCidrText);
    if (!contains(this.cluster, podCidr.base) || podCidr.prefix < this.cluster.prefix) {
      throw new Error(`Node ${o.nodeName} has spec.podCIDR ${podCidrText}, outside the cluster range ${o.clusterCidr}`);
    }
    this.lastWaiting = '';
    const r = this.r;

    if (!this.forwardingOn) {
      // Pods' packets are forwarded between skiff0 and the tunnel or underlay.
      await r.sysctl('net.ipv4.ip_forward', '1');
      this.forwardingOn = true;
    }
    const added = await ensureSafetyRoutes(r, [formatIpv4Cidr(this.cluster), o.serviceCidr ?? DEFAULT_SERVICE_CIDR]);
    if (added.length) this.log(`network: node ${o.nodeName}: safety routes unreachable ${added.join(', ')}`);
    if (await ensureMasquerade(r, formatIpv4Cidr(this.cluster))) this.log(`network: node ${o.nodeName}: masquerade of pod traffic leaving ${formatIpv4Cidr(this.cluster)} (nft table skiff-nat)`);

    const underlay = await findUnderlay(r, o.underlayIp, o.underlayDev);
    let mtu = underlay.mtu;
    let mac: string | undefined;
    if (o.backend === 'vxlan') {
      mtu = underlay.mtu - VXLAN_OVERHEAD;
      mac = vtepMac(o.nodeName);
      await ensureVxlanDevice(r, { underlayIp: o.underlayIp, underlayDev: underlay.dev, mac, mtu, address: `${vtepAddress(podCidr)}/32` });
    } else if (await deleteLink(r, VXLAN_DEVICE)) {
      this.log(`network: node ${o.nodeName}: removed ${VXLAN_DEVICE} (backend is host-gw now)`);
    }
    await ensurePodBridge(r, { gateway: `${gatewayAddress(podCidr)}/${podCidr.prefix}`, mtu });
    if (o.cniConfDir && await writePodNetworkConflist(o.cniConfDir, podCidrText, mtu)) {
      this.log(`network: node ${o.nodeName}: CNI config for ${podCidrText} (mtu ${mtu}) in ${o.cniConfDir}`);
    }
    await this.publish(self, mac);

    const plan = planPeers(this.nodes.list(), {
      self: o.nodeName, backend: o.backend, clusterCidr: this.cluster, ownPodCidr: podCidrText, underlayDev: underlay.dev,
    });
    const skipped = plan.skipped.map((s) => `node ${s.name} ${s.problem}`).join('; ');
    if (skipped !== this.lastSkipped && skipped) this.log(`network: node ${o.nodeName}: not routing to: ${skipped}`);
    this.lastSkipped = skipped;
    const changes = await syncPeers(r, plan);
    if (changes.removed.length) this.log(`network: node ${o.nodeName}: removed ${changes.removed.join(', ')}`);
    if (changes.added.length) this.log(`network: node ${o.nodeName}: added ${changes.added.join(', ')}`);

    Object.assign(this.state, { podCidr: podCidrText, mtu, underlayDev: underlay.dev, vtepMac: mac, peers: plan.peers.map((p) => p.name) });
    return true;
  }

  /** Writes this node's backend annotations when they differ from what the Node carries. */
  private async publish(self: Node, mac: string | undefined): Promise<void> {
    const want = backendAnnotations(this.options.backend, this.options.underlayIp, mac);
    const have = self.metadata?.annotations ?? {};
    if (Object.entries(want).every(([k, v]) => have[k] === v)) return;
    await this.options.client.patch(R.nodes, this.options.nodeName, { metadata: { annotations: want } }, { fieldManager: FIELD_MANAGER });
    this.log(`network: node ${this.options.nodeName}: published ${this.options.backend} backend${mac ? ` (VtepMAC ${mac})` : ''} at ${this.options.underlayIp}`);
  }
}

/** Starts the pod network agent of one node. */
export function startNetworkAgent(options: NetworkAgentOptions): NetworkAgent {
  const agent = new NetworkAgent(options);
  agent.start();
  return agent;
}
