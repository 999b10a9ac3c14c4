// Liveness, readiness and startup probes of a node's containers, with kubelet's semantics: a
// startup probe holds back the other two until it succeeds; readiness is false until its first
// success (after initialDelaySeconds), true from the start without a readiness probe; liveness or
// startup failing failureThreshold runs in a row asks the agent, once, to restart the container.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes
// https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/prober/prober_manager.go
import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../cri/client.ts';
import { probeKillGracePeriodSeconds } from './grace.ts';
import { ProbeError, type ProbeOutcome } from './outcome.ts';
import { runProbe } from './run.ts';
import { ProbeWorker, withProbeDefaults, type Gate, type ProbeKind } from './worker.ts';

export type { ProbeKind } from './worker.ts';
export { probeKillGracePeriodSeconds };

/** A probe Event for the agent to record on the pod (involvedObject fieldPath `spec.containers{<containerName>}`). */
export interface ProbeEvent {
  pod: Pod;
  containerId: string;
  containerName: string;
  kind: ProbeKind;
  type: 'Warning';
  /** Unhealthy for failed (or errored) runs, ProbeWarning for a redirect kubelet did not follow. */
  reason: 'Unhealthy' | 'ProbeWarning';
  /** kubelet's words: `Liveness probe failed: HTTP probe failed with statuscode: 500`. */
  message: string;
}

/** Extra facts for the restart onUnhealthy asks for. */
export interface UnhealthyDetails {
  containerName: string;
  /** The grace period of that kill: the probe's terminationGracePeriodSeconds, else the pod's (at least 2). */
  gracePeriodSeconds: number;
}

export interface ProbeManagerOptions {
  cri: CriClient;
  /** Called whenever a container's readiness or started state changes (the agent then re-syncs the pod's status). */
  onChange: (podUid: string) => void;
  /**
   * Called once when a liveness (or startup) probe has failed failureThreshold times: the agent
   * kills and restarts the container. message is kubelet's Killing event text
   * ("Container web failed liveness probe, will be restarted").
   */
  onUnhealthy: (podUid: string, containerId: string, kind: ProbeKind, message: string, details: UnhealthyDetails) => void;
  /** Every failed, errored or warning probe run, as kubelet records it in an Event. */
  onEvent?: (event: ProbeEvent) => void;
  /** Where network probes go when the pod IP is '' (host-network pods); default 127.0.0.1. */
  hostIP?: string;
  /** Where unexpected errors (a callback that threw) are reported; default console.error. */
  log?: (line: string) => void;
}

type Result = 'success' | 'failure' | 'unknown';
const KINDS: ProbeKind[] = ['startup', 'liveness', 'readiness'];
/** Before a probe's first verdict (kubelet's initialValue per probe type). */
const INITIAL_RESULT: Record<ProbeKind, Result> = { readiness: 'failure', liveness: 'success', startup: 'unknown' };
const TITLE: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

interface ProbedContainer {
  pod: Pod;
  podUid: string;
  container: Container;
  containerId: string;
  podIP: string;
  startedAt: number;
  workers: Map<ProbeKind, ProbeWorker>;
  results: Map<ProbeKind, Result>;
  lastFailures: Map<ProbeKind, string>;
}

export class ProbeManager {
  readonly options: ProbeManagerOptions;
  private readonly containers = new Map<string, ProbedContainer>(); // by container id
  /** kubelet jitters first runs only while it has just started (less than one period ago). */
  private readonly createdAt = Date.now();

  constructor(options: ProbeManagerOptions) {
    this.options = options;
  }

  /**
   * Starts probing a container that just started (startedAt in ms since the epoch). podIP may be
   * '' (host network: the host's IP). Calling it again for the same id does nothing; a new id for
   * the same pod and container name (a restart) replaces the old one's probes.
   */
  addContainer(pod: Pod, container: Container, containerId: string, podIP: string, startedAt: number): void {
    if (this.containers.has(containerId)) return;
    const podUid = pod.metadata?.uid ?? '';
    for (const other of [...this.containers.values()]) {
      if (other.podUid === podUid && other.container.name === container.name) this.removeContainer(other.containerId);
    }
    const c: ProbedContainer = {
      pod, podUid, container, containerId, podIP: podIP || this.options.hostIP || '127.0.0.1', startedAt,
      workers: new Map(), results: new Map(), lastFailures: new Map(),
    };
    this.containers.set(containerId, c);
    for (const kind of KINDS) {
      const probe = probeOf(container, kind);
      if (!probe) continue;
      c.results.set(kind, INITIAL_RESULT[kind]);
      c.workers.set(kind, new ProbeWorker(kind, probe, {
        gate: () => this.gate(c, kind, probe),
        probe: (signal) => this.probeOnce(c, kind, probe, signal),
        setResult: (result) => this.setResult(c, kind, result),
        crashed: (err) => (this.options.log ?? console.error)(
          `${kind} probe of container ${container.name} (${containerId}) of pod ${podUid}: ${(err as Error)?.stack ?? String(err)}`),
      }));
    }
    if (pod.metadata?.deletionTimestamp) this.quietForTermination(c);
    for (const worker of c.workers.values()) {
      worker.start(Date.now() - this.createdAt < withProbeDefaults(probeOf(container, worker.kind)!).periodSeconds * 1000);
    }
  }

  /** Stops probing a container (it exited or is being removed). */
  removeContainer(containerId: string): void {
    const c = this.containers.get(containerId);
    if (!c) return;
    for (const worker of c.workers.values()) worker.stop();
    this.containers.delete(containerId);
  }

  /** Stops probing every container of a pod. */
  removePod(podUid: string): void {
    for (const c of [...this.containers.values()]) if (c.podUid === podUid) this.removeContainer(c.containerId);
  }

  /**
   * The pod is being deleted: liveness and startup probes stop and count as passed so nothing
   * restarts a container on its way out; readiness keeps probing (kubelet's graceful shutdown).
   */
  podTerminating(podUid: string): void {
    for (const c of this.containers.values()) if (c.podUid === podUid) this.quietForTermination(c);
  }

  /** Readiness as kubelet reports it in containerStatuses[].ready. */
  isReady(containerId: string): boolean {
    const c = this.containers.get(containerId);
    return c !== undefined && statusOf(c).ready;
  }

  /** containerStatuses[].started: true once the startup probe (if any) has succeeded. */
  isStarted(containerId: string): boolean {
    const c = this.containers.get(containerId);
    return c !== undefined && statusOf(c).started;
  }

  /** The Event message of the kind's most recent failed (or errored) run, if it ever failed. */
  lastFailure(containerId: string, kind: ProbeKind): string | undefined {
    return this.containers.get(containerId)?.lastFailures.get(kind);
  }

  /** Stops every worker; in-flight probes are abandoned. */
  stop(): void {
    for (const id of [...this.containers.keys()]) this.removeContainer(id);
  }

  private gate(c: ProbedContainer, kind: ProbeKind, probe: Probe): Gate {
    // kubelet compares whole seconds since the container started.
    if (Math.trunc((Date.now() - c.startedAt) / 1000) < (probe.initialDelaySeconds ?? 0)) return 'skip';
    const started = statusOf(c).started;
    if (kind === 'startup') return started ? 'stop' : 'probe';
    return started ? 'probe' : 'skip'; // the other probes wait for the startup probe
  }

  private async probeOnce(c: ProbedContainer, kind: ProbeKind, probe: Probe, signal: AbortSignal): Promise<ProbeOutcome | undefined> {
    let outcome: ProbeOutcome;
    try {
      outcome = await runProbe(withProbeDefaults(probe), {
        cri: this.options.cri, container: c.container, containerId: c.containerId, podIP: c.podIP,
      }, signal);
    } catch (err) {
      if (signal.aborted) return undefined;
      const message = `${TITLE[kind]} probe errored: ${err instanceof ProbeError ? err.message : String(err)}`;
      c.lastFailures.set(kind, message);
      this.emit(c, kind, 'Unhealthy', message);
      return undefined;
    }
    if (signal.aborted) return undefined;
    if (outcome.result === 'failure') {
      const message = `${TITLE[kind]} probe failed: ${outcome.output}`;
      c.lastFailures.set(kind, message);
      this.emit(c, kind, 'Unhealthy', message);
    } else if (outcome.result === 'warning') {
      this.emit(c, kind, 'ProbeWarning', `${TITLE[kind]} probe warning: ${outcome.output}`);
    }
    return outcome;
  }

  private setResult(c: ProbedContainer, kind: ProbeKind, result: 'success' | 'failure'): void {
    if (this.containers.get(c.containerId) !== c) return;
    const before = statusOf(c);
    c.results.set(kind, result);
    const after = statusOf(c);
    if (before.started !== after.started || before.ready !== after.ready) this.options.onChange(c.podUid);
    // Once started, readiness is probed at once rather than a period later (kubelet's manual trigger).
    if (kind === 'startup' && result === 'success') c.workers.get('readiness')?.trigger();
    if (result === 'failure' && kind !== 'readiness') {
      const restarts = c.pod.spec?.restartPolicy !== 'Never';
      const message = `Container ${c.container.name} failed ${kind} probe${restarts ? ', will be restarted' : ''}`;
      this.options.onUnhealthy(c.podUid, c.containerId, kind, message, {
        containerName: c.container.name,
        gracePeriodSeconds: probeKillGracePeriodSeconds(c.pod, c.container, kind),
      });
    }
  }

  private quietForTermination(c: ProbedContainer): void {
    for (const kind of ['liveness', 'startup'] as const) {
      const worker = c.workers.get(kind);
      if (!worker || worker.stopped) continue;
      worker.stop();
      this.setResult(c, kind, 'success');
    }
  }

  private emit(c: ProbedContainer, kind: ProbeKind, reason: ProbeEvent['reason'], message: string): void {
    this.options.onEvent?.({
      pod: c.pod, containerId: c.containerId, containerName: c.container.name, kind, type: 'Warning', reason, message,
    });
  }
}

function probeOf(container: Container, kind: ProbeKind): Probe | undefined {
  return kind === 'liveness' ? container.livenessProbe : kind === 'readiness' ? container.readinessProbe : container.startupProbe;
}

/** kubelet's UpdatePodStatus: started by the startup probe (or at once), ready only once started. */
function statusOf(c: ProbedContainer): { started: boolean; ready: boolean } {
  const startup = c.results.get('startup');
  const started = startup === undefined || startup === 'success';
  const readiness = c.results.get('readiness');
  return { started, ready: started && (readiness === undefined || readiness === 'success') };
}
