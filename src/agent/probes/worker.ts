// One probe worker per (container, probe kind), the shape of kubelet's prober worker: a loop on
// a periodSeconds ticker (first run at once, or after a random part of a period while the agent
// has just started, so a restarted agent does not probe everything at the same instant), a run
// counter that changes the result only after successThreshold / failureThreshold runs in a row,
// and an immediate run on demand. Timers are unref'd: probing never keeps the process alive.
// https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/prober/worker.go
import type { Probe } from 'kubernetes-types/core/v1.d.ts';
import type { ProbeOutcome } from './outcome.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** What a worker does on a tick: probe, skip this tick, or stop for good. */
export type Gate = 'probe' | 'skip' | 'stop';

export interface WorkerHooks {
  /** Checked before every run: initial delay, startup gating, termination. */
  gate(): Gate;
  /** One probe run (events are the caller's business); undefined when it could not run: no result. */
  probe(signal: AbortSignal): Promise<ProbeOutcome | undefined>;
  /** The result changed after enough runs in a row. */
  setResult(result: 'success' | 'failure'): void;
  /** A run threw (a bug, or a callback that threw): reported, and the worker goes on, like kubelet's HandleCrash. */
  crashed(err: unknown): void;
}

/** Kubernetes' defaults for a probe's timing fields (SetDefaults_Probe), also applied here. */
export function withProbeDefaults(probe: Probe): Probe & Required<Pick<Probe,
  'initialDelaySeconds' | 'periodSeconds' | 'timeoutSeconds' | 'successThreshold' | 'failureThreshold'>> {
  return {
    ...probe,
    initialDelaySeconds: Math.max(0, probe.initialDelaySeconds ?? 0),
    periodSeconds: Math.max(1, probe.periodSeconds ?? 10),
    timeoutSeconds: Math.max(1, probe.timeoutSeconds ?? 1),
    successThreshold: Math.max(1, probe.successThreshold ?? 1),
    failureThreshold: Math.max(1, probe.failureThreshold ?? 3),
  };
}

export class ProbeWorker {
  readonly kind: ProbeKind;
  private readonly periodMs: number;
  private readonly successThreshold: number;
  private readonly failureThreshold: number;
  private readonly hooks: WorkerHooks;
  private state: 'new' | 'jitter' | 'waiting' | 'running' | 'stopped' = 'new';
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  /** When the ticker fires next (set at the first run, like Go's ticker made after the jitter sleep). */
  private nextTickAt = 0;
  private triggered = false;
  private lastResult: 'success' | 'failure' | undefined;
  private resultRun = 0;

  constructor(kind: ProbeKind, probe: Probe, hooks: WorkerHooks) {
    const spec = withProbeDefaults(probe);
    this.kind = kind;
    this.periodMs = spec.periodSeconds * 1000;
    // Liveness and startup probes must have successThreshold 1 (API validation); hold to it here too.
    this.successThreshold = kind === 'readiness' ? spec.successThreshold : 1;
    this.failureThreshold = spec.failureThreshold;
    this.hooks = hooks;
  }

  /** Starts the loop; jitter delays the first run by a random part of a period. */
  start(jitter: boolean): void {
    if (this.state !== 'new') return;
    this.state = jitter ? 'jitter' : 'waiting';
    this.schedule(jitter ? Math.random() * this.periodMs : 0, false);
  }

  /** Runs the probe now (or right after the run in progress), outside the ticker's rhythm. */
  trigger(): void {
    if (this.state === 'waiting') {
      clearTimeout(this.timer);
      this.schedule(0, false);
    } else if (this.state === 'running' || this.state === 'jitter') {
      this.triggered = true;
    }
  }

  /** Stops the loop and abandons a run in progress. Safe to call more than once. */
  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort(new Error(`${this.kind} probe worker stopped`));
    this.inFlight = undefined;
  }

  get stopped(): boolean {
    return this.state === 'stopped';
  }

  private schedule(ms: number, consumesTick: boolean): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (consumesTick) this.nextTickAt += this.periodMs;
      void this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.nextTickAt === 0) this.nextTickAt = Date.now() + this.periodMs;
    this.state = 'running';
    let keepGoing = true;
    try {
      keepGoing = await this.doProbe();
    } catch (err) {
      this.hooks.crashed(err);
    }
    if (this.stopped) return; // stop() may have run meanwhile
    if (!keepGoing) {
      this.stop();
      return;
    }
    this.state = 'waiting';
    const now = Date.now();
    if (this.triggered) {
      this.triggered = false;
      this.schedule(0, false);
    } else if (now >= this.nextTickAt) {
      // Ticks passed during a slow run: Go's ticker keeps one for us and drops the rest.
      this.nextTickAt += (Math.floor((now - this.nextTickAt) / this.periodMs) + 1) * this.periodMs;
      this.schedule(0, false);
    } else {
      this.schedule(this.nextTickAt - now, true);
    }
  }

  /** One tick; false ends the worker. */
  private async doProbe(): Promise<boolean> {
    const gate = this.hooks.gate();
    if (gate !== 'probe') return gate === 'skip';
    const controller = new AbortController();
    this.inFlight = controller;
    let outcome: ProbeOutcome | undefined;
    try {
      outcome = await this.hooks.probe(controller.signal);
    } finally {
      if (this.inFlight === controller) this.inFlight = undefined;
    }
    if (controller.signal.aborted) return false;
    // A probe that could not run (reported as "probe errored") leaves no result, as in kubelet.
    if (!outcome) return true;
    const result = outcome.result === 'failure' ? 'failure' : 'success';
    if (result === this.lastResult) this.resultRun++;
    else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    const threshold = result === 'failure' ? this.failureThreshold : this.successThreshold;
    if (this.resultRun < threshold) return true; // below threshold: the result stays as it was
    this.hooks.setResult(result);
    // A failed liveness or startup probe means the container gets killed: stop probing it (a
    // restarted container has a new id and new workers).
    return !(result === 'failure' && this.kind !== 'readiness');
  }
}
