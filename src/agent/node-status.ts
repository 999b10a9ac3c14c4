// The agent's Node: registered at start (and again if someone deletes it), its status posted
// when something changed or every nodeStatusReportFrequency (5 min) anyway, as kubelet's
// node status manager does. The cheap heartbeat is the Lease (lease.ts).
// https://kubernetes.io/docs/concepts/architecture/nodes/#node-heartbeats
import type { Node, NodeStatus } from 'kubernetes-types/core/v1.d.ts';
import { rfc3339 } from '../api/time.ts';
import type { CriClient } from '../cri/client.ts';
import type { StatusResponse, VersionResponse } from '../cri/types.ts';
import { isAlreadyExists, isNotFound } from '../client/errors.ts';
import { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { sleep } from '../client/wait.ts';
import { capacityOf, goArch, hostResources, nodeConditions, nodeSystemInfo, pressureOf, withTimes } from './node-info.ts';

/** kubelet's nodeStatusUpdateFrequency: how often the status is computed (and posted if it changed). */
export const NODE_STATUS_UPDATE_MS = 10_000;
/** kubelet's nodeStatusReportFrequency: post at least this often even when nothing changed. */
export const NODE_STATUS_REPORT_MS = 5 * 60_000;

export interface NodeStatusOptions {
  client: RestClient;
  cri: CriClient;
  nodeName: string;
  nodeIp: string;
  dataDir: string;
  /** status.daemonEndpoints.kubeletEndpoint.Port. */
  kubeletPort: () => number;
  labels?: Record<string, string>;
  log: (line: string) => void;
  /** Called with the Node whenever the informer sees it change (podCIDR assignment, ...). */
  onNode?: (node: Node) => void;
  /** The agent's own reason the node is not ready (e.g. no pod network yet), if any. */
  notReady?: () => string | undefined;
  updateIntervalMs?: number;
  reportIntervalMs?: number;
}

export class NodeStatusManager {
  private readonly o: NodeStatusOptions;
  private readonly informer: SharedInformer<Node>;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private lastPosted = '';
  private lastPostAt = 0;
  private wake: (() => void) | undefined;
  /** A poke that came while the loop was busy (not sleeping): the loop runs again at once instead of sleeping. */
  private poked = false;
  private registering: Promise<void> | undefined;
  readonly stats = { registrations: 0, statusPosts: 0 };

  constructor(o: NodeStatusOptions) {
    this.o = o;
    this.informer = new SharedInformer<Node>(o.client, R.nodes, { fieldSelector: `metadata.name=${o.nodeName}`, log: o.log });
    this.informer.addEventHandler({
      onAdd: (n) => o.onNode?.(n),
      onUpdate: (_old, n) => o.onNode?.(n),
      onDelete: () => {
        if (this.stopping.signal.aborted) return;
        o.log(`node ${o.nodeName} was deleted from the API: registering it again`);
        this.lastPosted = '';
        this.poke();
      },
    });
  }

  /** The Node as last seen by the watch (undefined before registration or after deletion). */
  node(): Node | undefined {
    return this.informer.getByName(this.o.nodeName);
  }

  /** Registers the node and posts its first status; then keeps it up to date in the background. */
  async start(): Promise<void> {
    await this.register();
    this.informer.start();
    await this.informer.waitForSync(30_000);
    await this.update(true);
    this.loop = this.run();
  }

  /** Re-computes the status now (e.g. the runtime's state changed) instead of at the next interval. */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.poke();
    await this.loop;
    await this.informer.stop();
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      if (!this.poked) {
        const woken = new AbortController();
        this.wake = () => woken.abort();
        await sleep(this.o.updateIntervalMs ?? NODE_STATUS_UPDATE_MS, AbortSignal.any([signal, woken.signal]));
        this.wake = undefined;
      }
      this.poked = false;
      if (signal.aborted) break;
      try {
        if (this.informer.hasSynced() && !this.node()) await this.register();
        await this.update(false);
      } catch (e) {
        if (!signal.aborted) this.o.log(`node ${this.o.nodeName}: updating node status failed (retrying): ${(e as Error).message}`);
      }
    }
  }

  /** Creates the Node, or takes over an existing one of the same name (kubelet's registerWithAPIServer). */
  register(): Promise<void> {
    this.registering ??= this.doRegister().finally(() => (this.registering = undefined));
    return this.registering;
  }

  private async doRegister(): Promise<void> {
    const { client, nodeName } = this.o;
    const labels = this.labels();
    const fresh: Node = {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: nodeName, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
      spec: {},
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await client.create<Node>(R.nodes, fresh);
        this.o.log(`node ${nodeName} registered`);
        break;
      } catch (e) {
        if (isAlreadyExists(e)) {
          // An earlier run of this node (or someone) made it: keep it and make our labels true.
          const current = await client.get<Node>(R.nodes, nodeName);
          const missing = Object.entries(labels).filter(([k, v]) => current.metadata?.labels?.[k] !== v);
          if (missing.length) await client.patch(R.nodes, nodeName, { metadata: { labels: Object.fromEntries(missing) } });
          break;
        }
        if (this.stopping.signal.aborted) return;
        if (attempt >= 2) throw e;
        await sleep(500 * (attempt + 1), this.stopping.signal);
      }
    }
    this.stats.registrations++;
    this.lastPosted = '';
    await this.update(true);
  }

  private labels(): Record<string, string> {
    const arch = goArch();
    return {
      'kubernetes.io/hostname': this.o.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch,
      'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': arch,
      ...this.o.labels,
    };
  }

  /** The status as of now; posted when it differs from the last post (ignoring heartbeat times) or the report interval passed. */
  async update(force: boolean): Promise<void> {
    const status = await this.computeStatus();
    const comparable = JSON.stringify({ ...status, conditions: status.conditions?.map((c) => ({ ...c, lastHeartbeatTime: '', lastTransitionTime: '' })) });
    const due = Date.now() - this.lastPostAt >= (this.o.reportIntervalMs ?? NODE_STATUS_REPORT_MS);
    if (!force && !due && comparable === this.lastPosted) return;
    try {
      await this.o.client.patch<Node>(R.nodes, this.o.nodeName, { status }, { subresource: 'status', type: 'strategic' });
    } catch (e) {
      if (isNotFound(e)) {
        // Deleted under us: the next loop (or the informer's delete) registers it again.
        this.lastPosted = '';
        this.poke();
        return;
      }
      throw e;
    }
    this.lastPosted = comparable;
    this.lastPostAt = Date.now();
    this.stats.statusPosts++;
  }

  private async computeStatus(): Promise<NodeStatus> {
    const host = await hostResources(this.o.dataDir);
    const { capacity, allocatable } = capacityOf(host);
    const runtime = await runtimeState(this.o.cri);
    const now = rfc3339();
    const notReady = [runtime.notReady, this.o.notReady?.()].filter(Boolean).join(', ') || undefined;
    const conditions = withTimes(nodeConditions(pressureOf(host), notReady), this.node()?.status?.conditions, now);
    return {
      capacity, allocatable, conditions,
      addresses: [{ type: 'InternalIP', address: this.o.nodeIp }, { type: 'Hostname', address: this.o.nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort() } },
      nodeInfo: await nodeSystemInfo(runtime.version ?? { runtime_name: 'unknown', runtime_version: 'unknown' }),
    };
  }
}

interface RuntimeState {
  version?: VersionResponse;
  /** Why the node is not ready (kubelet's runtime-state errors), undefined when it is. */
  notReady?: string;
}

/** The CRI runtime's version and readiness, in the words kubelet's Ready condition uses. */
export async function runtimeState(cri: CriClient): Promise<RuntimeState> {
  let version: VersionResponse;
  let status: StatusResponse;
  try {
    version = await cri.version({}, { timeoutMs: 5000 });
    status = await cri.status({}, { timeoutMs: 5000 });
  } catch (e) {
    return { notReady: `container runtime is down: ${(e as Error).message}` };
  }
  const conditions = status.status?.conditions ?? [];
  const problems: string[] = [];
  const runtimeReady = conditions.find((c) => c.type === 'RuntimeReady');
  if (!runtimeReady?.status) {
    problems.push(`container runtime not ready: RuntimeReady=false reason:${runtimeReady?.reason ?? ''} message:${runtimeReady?.message ?? ''}`);
  }
  const networkReady = conditions.find((c) => c.type === 'NetworkReady');
  if (!networkReady?.status) {
    problems.push(`container runtime network not ready: NetworkReady=false reason:${networkReady?.reason ?? ''} message:${networkReady?.message ?? ''}`);
  }
  return { version, notReady: problems.length ? problems.join(', ') : undefined };
}
