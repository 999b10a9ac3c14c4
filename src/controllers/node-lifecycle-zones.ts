// Zone-aware, rate-limited NoExecute tainting for the node lifecycle controller
// (kube-controller-manager's nodelifecycle "zone states"). Nodes are grouped into
// zones by their topology labels; each zone adds the not-ready/unreachable
// NoExecute taints through its own token bucket, whose rate follows the zone's
// health:
//
//   Normal             --node-eviction-rate (0.1 nodes/s)
//   PartialDisruption  --secondary-node-eviction-rate (0.01) in a zone larger than
//                      --large-cluster-size-threshold (50), else 0: a small zone
//                      that mostly lost its nodes is more likely cut off than broken
//   FullDisruption     --node-eviction-rate again, unless every zone is fully
//                      disrupted: then the control plane is the one cut off, so
//                      tainting stops and the controller's NoExecute taints are
//                      lifted ("master disruption mode").
//
// https://kubernetes.io/docs/concepts/architecture/nodes/#rate-limits-on-eviction
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { TokenBucket } from '../client/rate-limiter.ts';

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

export interface ZoneEvictionOptions {
  /** Nodes per second tainted NoExecute in a healthy zone (--node-eviction-rate). */
  nodeEvictionRate: number;
  /** Nodes per second in a partially disrupted zone larger than largeClusterSizeThreshold (--secondary-node-eviction-rate). */
  secondaryNodeEvictionRate: number;
  /** Fraction of not-Ready nodes (with at least 3 of them) that makes a zone partially disrupted (--unhealthy-zone-threshold). */
  unhealthyZoneThreshold: number;
  /** Zones up to this many nodes stop tainting altogether when partially disrupted (--large-cluster-size-threshold). */
  largeClusterSizeThreshold: number;
}

const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
/** Nodes carrying this label are left out of the zone health count (they are still tainted). */
export const LABEL_EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';

/** The zone a node belongs to: "region/zone" from its topology labels (GA first, then beta), '' for none. */
export function zoneKey(node: Node): string {
  const labels = node.metadata?.labels ?? {};
  const first = (keys: string[]) => keys.map((k) => labels[k]).find((v) => v) ?? '';
  const region = first(REGION_LABELS);
  const zone = first(ZONE_LABELS);
  // Label values cannot contain '/', so the key is unambiguous.
  return region || zone ? `${region}/${zone}` : '';
}

export function zoneName(key: string): string {
  return key === '' ? '(no zone)' : key;
}

export function excludedFromDisruption(node: Node): boolean {
  return node.metadata?.labels?.[LABEL_EXCLUDE_DISRUPTION] !== undefined;
}

/**
 * A zone's state from its nodes' Ready statuses (undefined: no Ready condition, counted not ready):
 * FullDisruption when none is Ready, PartialDisruption when more than 2 are not Ready and they are at
 * least `threshold` of the zone, Normal otherwise.
 */
export function computeZoneState(readyStatuses: (string | undefined)[], threshold: number): { notReady: number; state: ZoneState } {
  const ready = readyStatuses.filter((s) => s === 'True').length;
  const notReady = readyStatuses.length - ready;
  if (ready === 0 && notReady > 0) return { notReady, state: 'FullDisruption' };
  if (notReady > 2 && notReady / readyStatuses.length >= threshold) return { notReady, state: 'PartialDisruption' };
  return { notReady, state: 'Normal' };
}

/** The tainting rate (nodes/s) for a zone of zoneSize nodes in state. */
export function zoneEvictionRate(state: ZoneState, zoneSize: number, o: ZoneEvictionOptions): number {
  if (state === 'PartialDisruption') return zoneSize > o.largeClusterSizeThreshold ? o.secondaryNodeEvictionRate : 0;
  return o.nodeEvictionRate;
}

interface Queued { name: string; processAt: number }

/** A zone's queue of nodes waiting for their NoExecute taint: FIFO, each node once, drained at the bucket's rate. */
export class RateLimitedNodeQueue {
  private items: Queued[] = [];
  private bucket: TokenBucket;
  constructor(qps: number, now = Date.now()) {
    this.bucket = new TokenBucket(qps, now);
  }
  get rate(): number {
    return this.bucket.qps;
  }
  /** false when the node is queued already. */
  add(name: string, now = Date.now()): boolean {
    if (this.items.some((i) => i.name === name)) return false;
    this.items.push({ name, processAt: now });
    return true;
  }
  remove(name: string): boolean {
    const before = this.items.length;
    this.items = this.items.filter((i) => i.name !== name);
    return this.items.length !== before;
  }
  has(name: string): boolean {
    return this.items.some((i) => i.name === name);
  }
  get length(): number {
    return this.items.length;
  }
  /**
   * A new rate. A bucket that was empty stays empty (no burst on a rate change), as
   * RateLimitedTimedQueue.SwapLimiter does.
   */
  setRate(qps: number, now = Date.now()): void {
    if (qps === this.bucket.qps) return;
    this.bucket = new TokenBucket(qps, now, this.bucket.ready(now));
  }
  /**
   * Works the queue while tokens last: fn returns true when the node is done (tainted, or no
   * longer needs it), or a delay in ms to retry it after.
   */
  async try(fn: (name: string) => Promise<true | number>, now = () => Date.now()): Promise<void> {
    for (let head = this.items[0]; head; head = this.items[0]) {
      if (head.processAt > now() || !this.bucket.tryAccept(now())) return;
      const result = await fn(head.name);
      const i = this.items.indexOf(head);
      if (i < 0) continue; // removed while fn ran
      this.items.splice(i, 1);
      if (result !== true) this.items.push({ name: head.name, processAt: now() + result });
    }
  }
}

/** What the controller must do after a zone health update. */
export type DisruptionAction = 'enter-master-disruption' | 'exit-master-disruption' | undefined;

/** The zones, their states and tainting queues (the handleDisruption half of nodelifecycle). */
export class ZoneTainters {
  readonly states = new Map<string, ZoneState>();
  readonly queues = new Map<string, RateLimitedNodeQueue>();
  private readonly o: ZoneEvictionOptions;
  private readonly log: (m: string) => void;
  constructor(o: ZoneEvictionOptions, log: (m: string) => void) {
    this.o = o;
    this.log = log;
  }

  /** The zone's queue, created at the normal rate on first sight. */
  queue(zone: string): RateLimitedNodeQueue {
    let q = this.queues.get(zone);
    if (!q) this.queues.set(zone, (q = new RateLimitedNodeQueue(this.o.nodeEvictionRate)));
    return q;
  }

  /** Queues a node in its zone (leaving any zone it was queued in before); false when it is queued there already. */
  enqueue(zone: string, name: string): boolean {
    for (const [key, q] of this.queues) if (key !== zone) q.remove(name);
    return this.queue(zone).add(name);
  }

  /** Removes a node from whichever queue holds it. */
  remove(name: string): boolean {
    let removed = false;
    for (const q of this.queues.values()) removed = q.remove(name) || removed;
    return removed;
  }

  /** Recomputes every zone's state from its nodes' Ready statuses and sets the queues' rates. */
  update(zoneReady: Map<string, (string | undefined)[]>): DisruptionAction {
    const next = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, statuses] of zoneReady) {
      const { state } = computeZoneState(statuses, this.o.unhealthyZoneThreshold);
      if (state !== 'FullDisruption') allAreFullyDisrupted = false;
      next.set(zone, state);
      if (!this.states.has(zone)) this.states.set(zone, 'Initial');
    }
    let allWereFullyDisrupted = true;
    for (const [zone, state] of [...this.states]) {
      if (!zoneReady.has(zone)) {
        // A zone without (counted) nodes is forgotten; its queue stays for nodes still in it (excluded ones).
        this.states.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') allWereFullyDisrupted = false;
    }
    if (allAreFullyDisrupted && allWereFullyDisrupted) return undefined; // still all down: nothing changes
    if (allAreFullyDisrupted) {
      this.log('node-lifecycle: all Nodes are not Ready: entering master disruption mode (no NoExecute taints until some are Ready again)');
      for (const zone of this.states.keys()) {
        this.queue(zone).setRate(0);
        this.states.set(zone, 'FullDisruption');
      }
      return 'enter-master-disruption';
    }
    const exiting = allWereFullyDisrupted;
    if (exiting) this.log('node-lifecycle: some Nodes are Ready again: exiting master disruption mode');
    for (const [zone, state] of this.states) {
      const now = next.get(zone)!;
      if (!exiting && state === now) continue;
      const size = zoneReady.get(zone)!.length;
      const rate = zoneEvictionRate(now, size, this.o);
      if (!exiting) this.log(`node-lifecycle: zone ${zoneName(zone)} is now ${now} (${size} nodes): tainting at ${rate} nodes/s`);
      this.queue(zone).setRate(rate);
      this.states.set(zone, now);
    }
    return exiting ? 'exit-master-disruption' : undefined;
  }
}
