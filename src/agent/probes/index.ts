// Liveness, readiness and startup probes of a node's containers. SEED: no probes run yet (a
// running container counts as started and ready); the full implementation replaces this file.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../cri/client.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeManagerOptions {
  cri: CriClient;
  /** Called whenever a container's readiness or started state changes (the agent then re-syncs the pod's status). */
  onChange: (podUid: string) => void;
  /** Called once when a liveness (or startup) probe has failed failureThreshold times: the agent kills and restarts the container. */
  onUnhealthy: (podUid: string, containerId: string, kind: ProbeKind, message: string) => void;
}

export class ProbeManager {
  private readonly running = new Map<string, string>(); // container id → pod uid
  readonly options: ProbeManagerOptions;
  constructor(options: ProbeManagerOptions) {
    this.options = options;
  }

  /** Starts probing a container that just started (startedAt in ms since the epoch). podIP may be '' (host network: the host's IP). */
  addContainer(pod: Pod, container: Container, containerId: string, podIP: string, startedAt: number): void {
    this.running.set(containerId, pod.metadata?.uid ?? '');
  }

  /** Stops probing a container (it exited or is being removed). */
  removeContainer(containerId: string): void {
    this.running.delete(containerId);
  }

  /** Stops probing every container of a pod. */
  removePod(podUid: string): void {
    for (const [id, uid] of this.running) if (uid === podUid) this.running.delete(id);
  }

  /** Readiness as kubelet reports it in containerStatuses[].ready. */
  isReady(containerId: string): boolean {
    return this.running.has(containerId);
  }

  /** containerStatuses[].started: true once the startup probe (if any) has succeeded. */
  isStarted(containerId: string): boolean {
    return this.running.has(containerId);
  }

  stop(): void {
    this.running.clear();
  }
}
