// The node's heartbeat: its Lease in kube-node-lease, renewed every 10 s (a quarter of its 40 s
// duration), owned by the Node so that deleting the Node collects it. The node lifecycle
// controller watches it to tell a live node from a dead one.
// https://kubernetes.io/docs/concepts/architecture/leases/#node-heart-beats
import { BackgroundLoop } from './background-loop.ts';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { microTime } from '../api/time.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { sleep } from '../client/wait.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;
export const LEASE_RENEW_MS = 10_000;

export interface NodeLeaseOptions {
  client: RestClient;
  nodeName: string;
  /** The Node as last seen (its uid makes the owner reference); undefined while it is not registered. */
  node: () => Node | undefined;
  log: (line: string) => void;
  renewIntervalMs?: number;
}

export class NodeLease {
  private readonly o: NodeLeaseOptions;
  private readonly loop = new BackgroundLoop((signal) => this.run(signal));
  private lease: Lease | undefined;
  readonly stats = { renewals: 0, failures: 0 };

  constructor(o: NodeLeaseOptions) {
    this.o = o;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.renew();
        this.stats.renewals++;
      } catch (e) {
        this.stats.failures++;
        if (!signal.aborted) this.o.log(`node ${this.o.nodeName}: renewing lease failed (retrying): ${(e as Error).message}`);
      }
      const interval = this.o.renewIntervalMs ?? LEASE_RENEW_MS;
      // After a failure kubelet retries sooner than a full interval (its backoff starts at 200 ms).
      const wait = this.lease ? interval - (Date.now() - started) : Math.min(interval, 1000);
      await sleep(Math.max(0, wait), signal);
    }
  }

  private desired(node: Node | undefined): Lease {
    const name = this.o.nodeName;
    const uid = node?.metadata?.uid;
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        name, namespace: NODE_LEASE_NAMESPACE,
        ...(uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid }] } : {}),
      },
      spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime() },
    };
  }

  private async renew(): Promise<void> {
    const { client } = this.o;
    const node = this.o.node();
    const want = this.desired(node);
    const ownerUid = node?.metadata?.uid;
    if (this.lease) {
      const sameOwner = !ownerUid || this.lease.metadata?.ownerReferences?.[0]?.uid === ownerUid;
      const next: Lease = {
        ...this.lease,
        metadata: sameOwner ? this.lease.metadata : { ...this.lease.metadata, ownerReferences: want.metadata!.ownerReferences },
        spec: { ...this.lease.spec, ...want.spec },
      };
      try {
        this.lease = await client.update<Lease>(R.leases, next);
        return;
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) {
          this.lease = undefined;
          throw e;
        }
        this.lease = undefined; // someone else wrote or deleted it: start again from the server's copy
      }
    }
    try {
      this.lease = await client.create<Lease>(R.leases, want);
      return;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    const current = await client.get<Lease>(R.leases, this.o.nodeName, { namespace: NODE_LEASE_NAMESPACE });
    this.lease = await client.update<Lease>(R.leases, {
      ...current,
      metadata: { ...current.metadata, ...(want.metadata!.ownerReferences ? { ownerReferences: want.metadata!.ownerReferences } : {}) },
      spec: { ...current.spec, ...want.spec },
    });
  }
}
