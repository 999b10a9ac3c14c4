// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it: candidates race to write their identity into
// the Lease; the holder renews renewTime every retryPeriod; the others take over
// once the Lease has not changed for leaseDurationSeconds (measured on their own
// clock from when they last saw it change, so clock skew between nodes doesn't
// matter). Writes carry the resourceVersion, so two candidates can't both win.
// https://kubernetes.io/docs/concepts/architecture/leases/#leader-election
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import { isConflict, isNotFound } from './errors.ts';
import { R } from './resources.ts';
import type { RestClient } from './rest.ts';
import { jitter, sleep } from './wait.ts';
import { microTime } from '../api/time.ts';

export interface LeaderElectionConfig {
  client: RestClient;
  /** Where the Lease lives, e.g. kube-system/skiff-controller-manager. */
  namespace: string;
  name: string;
  /** Unique per candidate (host name + random suffix). */
  identity: string;
  leaseDurationSeconds?: number; // 15
  /** A leader that could not renew for this long gives up. */
  renewDeadlineMs?: number; // 10 s
  retryPeriodMs?: number; // 2 s
  /** On stop(), hand the Lease back so another candidate takes over at once (default true). */
  releaseOnCancel?: boolean;
  /** Runs when this candidate becomes leader; signal aborts when it stops leading. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
  log?: (message: string) => void;
}

export class LeaderElector {
  private readonly cfg: Required<Omit<LeaderElectionConfig, 'onNewLeader' | 'log'>> & Pick<LeaderElectionConfig, 'onNewLeader' | 'log'>;
  private readonly stopController = new AbortController();
  private observed: Lease | undefined;
  private observedAt = 0;
  private leading = false;
  private running: Promise<void> | undefined;
  private reportedLeader = '';

  constructor(cfg: LeaderElectionConfig) {
    this.cfg = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnCancel: true, ...cfg };
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The identity in the Lease as last seen ('' if none). */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  /**
   * Campaigns until elected, leads until the Lease can't be renewed or stop() is
   * called, then resolves (like client-go's Run, it does not campaign again).
   */
  run(): Promise<void> {
    this.running ??= this.runInner();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private async runInner(): Promise<void> {
    const stop = this.stopController.signal;
    while (!stop.aborted && !(await this.tryAcquireOrRenew())) await sleep(jitter(this.cfg.retryPeriodMs), stop);
    if (stop.aborted) return;

    this.leading = true;
    const leadership = new AbortController();
    void Promise.resolve()
      .then(() => this.cfg.onStartedLeading(leadership.signal))
      .catch((e) => this.log(`onStartedLeading failed: ${(e as Error).stack ?? e}`));
    let lastRenew = Date.now();
    while (!stop.aborted) {
      await sleep(this.cfg.retryPeriodMs, stop);
      if (stop.aborted) break;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (!this.holding() || Date.now() - lastRenew > this.cfg.renewDeadlineMs) break; // someone else has it, or we're cut off
    }
    this.leading = false;
    leadership.abort();
    if (stop.aborted && this.cfg.releaseOnCancel) await this.release();
    this.cfg.onStoppedLeading();
  }

  /** One attempt to take or keep the Lease; true when we hold it afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationSeconds } = this.cfg;
    const now = microTime();
    try {
      let current: Lease;
      try {
        current = await client.get<Lease>(R.leases, name, { namespace });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        const created = await client.create<Lease>(R.leases, {
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
        this.observe(created);
        return true;
      }
      this.observe(current);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (holder && holder !== identity && Date.now() < this.observedAt + duration) return false; // held and not expired
      const takeover = holder !== identity;
      const updated = await client.update<Lease>(R.leases, {
        ...current,
        spec: {
          ...spec, holderIdentity: identity, leaseDurationSeconds, renewTime: now,
          acquireTime: takeover ? now : spec.acquireTime ?? now,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover ? 1 : 0),
        },
      });
      this.observe(updated);
      return true;
    } catch (e) {
      // Conflict: another candidate wrote first; anything else: retry next period.
      if (!isConflict(e)) this.log(`lease ${namespace}/${name}: ${(e as Error).message}`);
      return false;
    }
  }

  private holding(): boolean {
    return this.getLeader() === this.cfg.identity;
  }

  /** Gives the Lease up: empty holder and a 1 s duration, so candidates take it at their next retry. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || !this.holding()) return;
    try {
      const now = microTime();
      this.observe(await this.cfg.client.update<Lease>(R.leases, {
        ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      }));
    } catch (e) {
      this.log(`releasing lease ${this.cfg.namespace}/${this.cfg.name}: ${(e as Error).message}`);
    }
  }

  /** Remembers when the Lease last changed, on our clock (the expiry is measured from then). */
  private observe(lease: Lease): void {
    const changed = !this.observed || this.observed.metadata?.resourceVersion !== lease.metadata?.resourceVersion;
    if (changed) {
      this.observed = lease;
      this.observedAt = Date.now();
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.cfg.onNewLeader?.(holder);
    }
  }

  private log(message: string): void {
    (this.cfg.log ?? console.error)(`leader election ${this.cfg.identity}: ${message}`);
  }
}


