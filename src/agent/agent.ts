// Skiff's node agent (its kubelet), assembled: the CRI runtime (in-process, or any at an
// endpoint), the Node and its Lease, the pod informer feeding one worker per pod, the runtime
// relist, probes, the pod network config once the node has a podCIDR, and the kubelet server.
// docs/agent.md describes the parts.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { RuntimeClass } from 'kubernetes-types/node/v1.d.ts';
import { createCriClient, type CriClient } from '../cri/client.ts';
import { EventRecorder } from '../client/events.ts';
import { SharedInformer } from '../client/informer.ts';
import { builtin, R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { runtimeMain, type RuntimeDaemon } from '../runtime/main.ts';
import { BackOff } from './backoff.ts';
import { ImageManager } from './images.ts';
import { NodeLease } from './lease.ts';
import { NodeNetwork, setUpBridgeOnly, type NodeNetworkConfig } from './node-network.ts';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from '../network/index.ts';
import { podLogDir } from './log-paths.ts';
import { hostResources } from './node-info.ts';
import { NodeStatusManager } from './node-status.ts';
import { Pleg } from './pleg.ts';
import { podRuntimeState } from './pod-runtime.ts';
import { PodWorkers, RESYNC_MS, UID_INDEX } from './pod-workers.ts';
import { ProbeManager } from './probes/index.ts';
import { StaticPods } from './static-pods.ts';
import type { SyncDeps } from './pod-sync.ts';
import { startKubeletServer, type KubeletPod, type KubeletServer } from './server/index.ts';
import { selfSignedServingCert } from './server/tls.ts';

export const DEFAULT_DATA_DIR = '/var/lib/skiff-agent';
export const DEFAULT_KUBELET_PORT = 10250;
const RUNTIME_CLASSES = builtin('runtimeclasses.node.k8s.io');

export interface AgentOptions {
  client: RestClient;
  nodeName: string;
  nodeIp: string;
  dataDir: string;
  /** A CRI endpoint (unix:///...); when absent the agent runs Skiff's runtime in-process. */
  containerRuntimeEndpoint?: string;
  /** The kubelet server's port; 0 for an ephemeral one; -1 to not start it. */
  kubeletPort: number;
  /** CNI config dir of the in-process runtime (default <data-dir>/cni/net.d). */
  cniConfDir?: string;
  /** kubelet's --cluster-dns; when absent, ClusterFirst pods get the node-local DNS server (with `network`) or the host's resolver. */
  clusterDns?: string[];
  clusterDomain?: string;
  /** kubelet's --pod-manifest-path: static pods, mirrored into the API. */
  podManifestPath?: string;
  /**
   * Cluster networking with the in-process runtime (node-network.ts): the pod network between
   * nodes, the service proxy and the node-local DNS server. Absent: the node's bridge alone, no
   * proxy and no DNS (what test agents sharing the host's network namespace want).
   */
  network?: NodeNetworkConfig;
  log?: (line: string) => void;
  /** Test knobs: intervals of the node status loop and the Lease. */
  nodeStatusUpdateMs?: number;
  leaseRenewMs?: number;
}

/** Whether a pod update changed what the agent acts on (spec, metadata, deletion; readiness gate conditions). */
export function needsSync(old: Pod, pod: Pod): boolean {
  const what = (p: Pod) => JSON.stringify([p.spec, p.metadata?.labels, p.metadata?.annotations, p.metadata?.deletionTimestamp,
    p.metadata?.deletionGracePeriodSeconds, p.spec?.readinessGates?.length ? p.status?.conditions : undefined]);
  return what(old) !== what(pod);
}

export class Agent {
  readonly options: AgentOptions;
  readonly client: RestClient;
  readonly cri: CriClient;
  readonly runtime: RuntimeDaemon | undefined;
  readonly nodeStatus: NodeStatusManager;
  readonly lease: NodeLease;
  readonly pods: SharedInformer<Pod>;
  readonly workers: PodWorkers;
  readonly pleg: Pleg;
  readonly probes: ProbeManager;
  readonly network: NodeNetwork | undefined;
  private readonly events: EventRecorder;
  private readonly log: (line: string) => void;
  private server: KubeletServer | undefined;
  private staticPods: StaticPods | undefined;
  private appliedCidr = '';
  private networkReady: boolean;
  private resyncTimer: NodeJS.Timeout | undefined;
  private cidrWork: Promise<void> = Promise.resolve();
  private readonly runtimeClasses = new Map<string, { handler: string; at: number }>();

  private constructor(o: AgentOptions, cri: CriClient, runtime: RuntimeDaemon | undefined, runtimeName: string, memoryBytes: number) {
    this.options = o;
    this.client = o.client;
    this.cri = cri;
    this.runtime = runtime;
    this.log = o.log ?? ((line) => console.error(line));
    // With its own runtime the agent owns the pod network config: pods wait for it.
    this.networkReady = !runtime;
    if (runtime && o.network) {
      this.network = new NodeNetwork({
        ...o.network, client: o.client, nodeName: o.nodeName, nodeIp: o.nodeIp, cniConfDir: this.cniConfDir,
        clusterDomain: o.clusterDomain ?? 'cluster.local', log: this.log,
      });
    }
    this.events = new EventRecorder(o.client, { component: 'kubelet', host: o.nodeName, log: this.log });
    this.nodeStatus = new NodeStatusManager({
      client: o.client, cri, nodeName: o.nodeName, nodeIp: o.nodeIp, dataDir: o.dataDir,
      kubeletPort: () => this.server?.port ?? (o.kubeletPort > 0 ? o.kubeletPort : 0),
      log: this.log, onNode: (n) => this.onNode(n), updateIntervalMs: o.nodeStatusUpdateMs,
      notReady: () => (this.networkReady ? undefined : `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:${this.network?.waitingFor() ?? 'waiting for the node\'s podCIDR to write the CNI config'}`),
    });
    this.lease = new NodeLease({ client: o.client, nodeName: o.nodeName, node: () => this.nodeStatus.node(), log: this.log, renewIntervalMs: o.leaseRenewMs });
    this.pods = new SharedInformer<Pod>(o.client, R.pods, { fieldSelector: `spec.nodeName=${o.nodeName}`, log: this.log });
    this.pods.addIndexer(UID_INDEX, (p) => (p.metadata?.uid ? [p.metadata.uid] : []));
    const event = (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string) => this.events.event(pod, type, reason, message);
    const network = this.network;
    this.probes = new ProbeManager({
      cri,
      hostIP: o.nodeIp,
      onChange: (uid) => this.workers.enqueue(uid),
      onUnhealthy: (uid, containerId, _kind, message, details) => {
        this.workers.memory(uid).unhealthy.set(containerId, { message: message.replace(details.containerName, '{name}'), gracePeriodSeconds: details.gracePeriodSeconds });
        this.workers.enqueue(uid);
      },
      onEvent: (e) => event(e.pod, e.type, e.reason, e.message),
    });
    const deps: SyncDeps = {
      cri, client: o.client, nodeName: o.nodeName, nodeIp: o.nodeIp,
      podsDir: join(o.dataDir, 'pods'), logRoot: join(o.dataDir, 'logs'),
      probes: this.probes, event, log: this.log,
      sandbox: {
        logRoot: join(o.dataDir, 'logs'), clusterDomain: o.clusterDomain ?? 'cluster.local',
        // Read at each sandbox: the node-local DNS server starts once the node has its podCIDR.
        get clusterDns() {
          return o.clusterDns?.length ? o.clusterDns : network?.clusterDns() ?? [];
        },
        warn: (pod, reason, message) => event(pod, 'Warning', reason, message),
      },
      images: new ImageManager({ cri, client: o.client, event }),
      crashBackoff: new BackOff(10_000, 300_000),
      memoryCapacityBytes: memoryBytes,
      runtimeHandler: (pod) => this.runtimeHandler(pod),
      networkReady: () => this.networkReady,
    };
    this.workers = new PodWorkers({
      deps, pods: this.pods,
      status: {
        nodeIp: o.nodeIp, podsDir: deps.podsDir, runtimeName,
        isReady: (id) => this.probes.isReady(id), isStarted: (id) => this.probes.isStarted(id),
      },
    });
    this.pleg = new Pleg({ cri, onChange: (uid) => this.workers.enqueue(uid), log: this.log });
    const sync = (p: Pod) => this.workers.enqueue(p.metadata?.uid ?? '');
    // Like kubelet's pod config, status-only updates (mostly our own writes) do not ask for a sync.
    this.pods.addEventHandler({ onAdd: sync, onUpdate: (old, p) => { if (needsSync(old, p)) sync(p); }, onDelete: sync });
  }

  /** Starts the runtime (unless an endpoint is given), registers the node and starts running its pods. */
  static async start(o: AgentOptions): Promise<Agent> {
    const log = o.log ?? ((line: string) => console.error(line));
    for (const d of ['logs', 'pods']) await mkdir(join(o.dataDir, d), { recursive: true });
    let runtime: RuntimeDaemon | undefined;
    let endpoint = o.containerRuntimeEndpoint;
    if (!endpoint) {
      endpoint = `unix://${join(o.dataDir, 'cri.sock')}`;
      runtime = await runtimeMain({
        root: join(o.dataDir, 'runtime'), listen: endpoint, cniConfDir: o.cniConfDir ?? join(o.dataDir, 'cni', 'net.d'), log,
      });
    }
    const cri = createCriClient(endpoint);
    let agent: Agent | undefined;
    try {
      await cri.waitForReady(30_000);
      const version = await cri.version({});
      const host = await hostResources(o.dataDir);
      agent = new Agent(o, cri, runtime, version.runtime_name, host.memoryBytes);
      await agent.run();
      return agent;
    } catch (e) {
      await agent?.network?.stop();
      cri.close();
      await runtime?.close();
      throw e;
    }
  }

  private async run(): Promise<void> {
    const o = this.options;
    if (o.kubeletPort >= 0) {
      const tls = await selfSignedServingCert([o.nodeIp, o.nodeName]);
      this.server = await startKubeletServer({
        address: '0.0.0.0', port: o.kubeletPort, tls, clientCa: this.client.config.ca ?? '', cri: this.cri, log: this.log,
        pods: { lookup: (ns, name) => this.kubeletPod(ns, name) },
      });
    }
    this.network?.start();
    await this.nodeStatus.start();
    this.lease.start();
    this.pods.start();
    if (!(await this.pods.waitForSync(60_000))) throw new Error(`listing the pods of node ${o.nodeName} did not finish within 60 s`);
    // The first relist tells the workers about every pod the runtime holds: running pods are
    // adopted, pods the API no longer has are torn down.
    await this.pleg.relist().catch((e: Error) => this.log(`first relist of the runtime failed: ${e.message}`));
    for (const p of this.pods.list()) this.workers.enqueue(p.metadata?.uid ?? '');
    this.pleg.start();
    if (o.podManifestPath) {
      this.staticPods = new StaticPods({ client: this.client, nodeName: o.nodeName, dir: o.podManifestPath, node: () => this.nodeStatus.node(), log: this.log });
      this.staticPods.start();
    }
    this.resyncTimer = setInterval(() => {
      for (const p of this.pods.list()) this.workers.enqueue(p.metadata?.uid ?? '');
    }, RESYNC_MS);
  }

  private get cniConfDir(): string {
    return this.options.cniConfDir ?? join(this.options.dataDir, 'cni', 'net.d');
  }

  /** The kubelet server's port (0 when it does not run). */
  get kubeletPort(): number {
    return this.server?.port ?? 0;
  }

  /** Stops the agent; the pods' containers keep running (a restarted agent adopts them). */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.staticPods?.stop();
    await this.pleg.stop();
    await this.workers.stop();
    this.probes.stop();
    await this.pods.stop();
    await this.lease.stop();
    await this.nodeStatus.stop();
    await this.server?.close();
    await this.network?.stop();
    await this.events.flush().catch(() => undefined);
    this.cri.close();
    await this.runtime?.close();
    await this.client.close();
  }

  private onNode(node: Node): void {
    const cidr = node.spec?.podCIDR ?? '';
    if (!cidr || cidr === this.appliedCidr) return;
    this.appliedCidr = cidr;
    this.cidrWork = this.cidrWork.then(async () => {
      try {
        if (this.network) {
          await this.network.setUp(cidr);
        } else if (this.runtime) {
          if (await setUpBridgeOnly(this.cniConfDir, cidr, [DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR])) {
            this.log(`node ${this.options.nodeName}: pod network ${cidr} on bridge skiff0 (${this.cniConfDir})`);
          }
        }
        await this.cri.updateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: cidr } } });
        this.networkReady = true;
        this.nodeStatus.poke();
        for (const p of this.pods.list()) this.workers.enqueue(p.metadata?.uid ?? '');
      } catch (e) {
        this.appliedCidr = '';
        this.log(`node ${this.options.nodeName}: setting up the pod network for ${cidr} failed: ${(e as Error).message}`);
      }
    });
  }

  private async runtimeHandler(pod: Pod): Promise<string> {
    const name = pod.spec?.runtimeClassName;
    if (!name) return '';
    const cached = this.runtimeClasses.get(name);
    if (cached && Date.now() - cached.at < 60_000) return cached.handler;
    let rc: RuntimeClass;
    try {
      rc = await this.client.get<RuntimeClass>(RUNTIME_CLASSES, name);
    } catch (e) {
      throw new Error(`RuntimeClass "${name}" not found: ${(e as Error).message}`);
    }
    this.runtimeClasses.set(name, { handler: rc.handler, at: Date.now() });
    return rc.handler;
  }

  private async kubeletPod(namespace: string, name: string): Promise<KubeletPod | undefined> {
    const pod = this.pods.getByName(name, namespace);
    const uid = pod?.metadata?.uid;
    if (!pod || !uid) return undefined;
    const rt = await podRuntimeState(this.cri, uid);
    const containers: { name: string; id: string }[] = [];
    for (const c of rt.containers) if (!containers.some((x) => x.name === c.name)) containers.push({ name: c.name, id: c.id });
    return { pod, logDir: podLogDir(join(this.options.dataDir, 'logs'), { namespace, name, uid }), containers };
  }
}
