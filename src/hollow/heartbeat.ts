// The two ways a kubelet tells the control plane it is alive, for every hollow
// node: its Lease in kube-node-lease, renewed every 10 s (the cheap heartbeat
// the node lifecycle controller watches), and its node status, posted again
// when it changed (someone marked the node Unknown) or every few minutes anyway.
// https://kubernetes.io/docs/concepts/architecture/leases/#node-heart-beats
//
// Renewals are spread evenly over the interval (node i of N renews at offset
// i/N of it), so a thousand nodes make a steady trickle of requests, not a
// burst every 10 s.
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import type { Limiter } from './limit.ts';
import { statusPatch } from './node.ts';
import { microTime } from '../api/time.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface HeartbeatOptions {
  client: RestClient;
  limiter: Limiter;
  /** How often each Lease is renewed (kubelet: 10 s, a quarter of its 40 s duration). */
  renewIntervalMs: number;
  leaseDurationSeconds: number;
  /** Post node status every this many renewals even when nothing changed (kubelet's nodeStatusReportFrequency, 5 min). */
  statusEveryRenewals: number;
  /** The node as the informer last saw it (keeps lastTransitionTime without a GET). */
  cachedNode(name: string): Node | undefined;
  log(message: string): void;
}


export function leaseFor(node: Node, durationSeconds: number): Lease {
  const name = node.metadata!.name!;
  return {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: {
      name, namespace: NODE_LEASE_NAMESPACE,
      // The node owns its lease: deleting the node garbage-collects it.
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata!.uid! }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: microTime() },
  };
}

export class Heartbeats {
  private readonly opts: HeartbeatOptions;
  private readonly leases = new Map<string, Lease>();
  private readonly nodes = new Map<string, Node>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly ticks = new Map<string, number>();
  private readonly statusPending = new Set<string>();
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats = { renewals: 0, renewFailures: 0, statusPosts: 0 };

  constructor(opts: HeartbeatOptions) {
    this.opts = opts;
  }

  /** Creates (or adopts) node's Lease now and renews it from then on, first after offsetMs. */
  async add(node: Node, offsetMs: number): Promise<void> {
    const name = node.metadata!.name!;
    this.nodes.set(name, node);
    this.leases.set(name, await this.ensureLease(node));
    this.ticks.set(name, 0);
    this.schedule(name, offsetMs);
  }

  /** Posts healthy status for node soon (once, however often it is asked meanwhile). */
  requestStatus(name: string): void {
    if (this.stopped || !this.nodes.has(name) || this.statusPending.has(name)) return;
    this.statusPending.add(name);
    this.track(this.postStatus(name).finally(() => this.statusPending.delete(name)));
  }

  /** Lease renewTime of each node as this process last wrote it. */
  renewTimes(): Map<string, string> {
    return new Map([...this.leases].map(([n, l]) => [n, l.spec?.renewTime ?? '']));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private schedule(name: string, delayMs: number): void {
    if (this.stopped) return;
    this.timers.set(name, setTimeout(() => {
      const started = Date.now();
      this.track(this.tick(name).finally(() => {
        // Keep the node's slot in the cycle: the next renewal is one interval after this one started.
        this.schedule(name, Math.max(0, this.opts.renewIntervalMs - (Date.now() - started)));
      }));
    }, delayMs));
  }

  private async tick(name: string): Promise<void> {
    const n = (this.ticks.get(name) ?? 0) + 1;
    this.ticks.set(name, n);
    await this.renew(name);
    if (n % this.opts.statusEveryRenewals === 0) this.requestStatus(name);
  }

  private async renew(name: string): Promise<void> {
    const { client, limiter } = this.opts;
    const lease = this.leases.get(name)!;
    const next: Lease = { ...lease, spec: { ...lease.spec, renewTime: microTime() } };
    try {
      this.leases.set(name, await limiter.run(() => client.update(R.leases, next)));
      this.stats.renewals++;
    } catch (e) {
      if (this.stopped) return;
      this.stats.renewFailures++;
      if (isConflict(e) || isNotFound(e)) {
        // Someone else wrote (or deleted) the lease: start again from what the server has.
        try {
          this.leases.set(name, await this.ensureLease(this.nodes.get(name)!));
          this.stats.renewals++;
          return;
        } catch (e2) {
          e = e2;
        }
      }
      this.opts.log(`node ${name}: renewing lease failed, retrying next interval: ${(e as Error).message}`);
    }
  }

  /** The node's lease, created if missing, or taken over (holder, owner, fresh renewTime) if an earlier run left one. */
  private async ensureLease(node: Node): Promise<Lease> {
    const { client, limiter } = this.opts;
    const fresh = leaseFor(node, this.opts.leaseDurationSeconds);
    try {
      return await limiter.run(() => client.create(R.leases, fresh));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    const current = await limiter.run(() => client.get<Lease>(R.leases, fresh.metadata!.name!, { namespace: NODE_LEASE_NAMESPACE }));
    const adopted: Lease = {
      ...current,
      metadata: { ...current.metadata, ownerReferences: fresh.metadata!.ownerReferences },
      spec: { ...current.spec, ...fresh.spec },
    };
    return limiter.run(() => client.update(R.leases, adopted));
  }

  private async postStatus(name: string): Promise<void> {
    const { client, limiter } = this.opts;
    try {
      const current = this.opts.cachedNode(name) ?? this.nodes.get(name);
      await limiter.run(() => client.patch<Node>(R.nodes, name, statusPatch(new Date(), current?.status), { subresource: 'status', type: 'strategic' }));
      this.stats.statusPosts++;
    } catch (e) {
      if (!this.stopped) this.opts.log(`node ${name}: posting node status failed: ${(e as Error).message}`);
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
