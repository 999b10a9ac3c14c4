// One level-triggered sync of a pod that should be running, in the order of kubelet's SyncPod:
// kill containers a probe found unhealthy or whose spec changed, make the sandbox if there is no
// ready one, run init containers one by one, then start (or restart, per restartPolicy and the
// crash-loop back-off) the containers. Whatever cannot happen yet is remembered as a waiting
// reason for the status, and the result says when to look again.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { DeepPartial, PodSandboxConfig } from '../cri/types.ts';
import { containerEnv } from './env.ts';
import { BackOff } from './backoff.ts';
import { containerConfig, containerHash, terminationMessageFile } from './container-config.ts';
import type { ImageManager } from './images.ts';
import { gracePeriodOf, killPod, runHook, type KillDeps } from './pod-kill.ts';
import { instancesOf, podRuntimeState, readySandbox, type ContainerInfo, type PodRuntimeState } from './pod-runtime.ts';
import type { PodMemory } from './pod-status.ts';
import { sandboxConfig, type SandboxContext } from './sandbox-config.ts';
import type { StartSlots } from './start-slots.ts';
import { setUpPodVolumes, type PodVolumes } from './volumes/index.ts';

/** A container that ran this long before exiting starts its back-off over (kubelet: 10 min). */
export const BACKOFF_RESET_MS = 10 * 60_000;

export interface SyncDeps extends KillDeps {
  sandbox: SandboxContext;
  images: ImageManager;
  crashBackoff: BackOff;
  memoryCapacityBytes: number;
  /** The runtime handler of the pod's RuntimeClass ('' for the default); throws if the class is missing. */
  runtimeHandler: (pod: Pod) => Promise<string>;
  nodeIp: string;
  /** Whether pods off the host network can get a network yet (kubelet waits for NetworkReady). */
  networkReady: () => boolean;
}

export interface SyncResult {
  /** Look at the pod again after this many ms (a back-off expires, a retry is due). */
  retryAfterMs?: number;
  /** The pod's runtime state after the sync (read again only if the sync changed something). */
  rt: PodRuntimeState;
}

/** Go's time.Duration printing for whole seconds: 10s, 1m20s, 5m0s. */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${s % 60}s` : `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}

function shouldRestart(pod: Pod, c: ContainerInfo): boolean {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  return policy === 'Always' || (policy === 'OnFailure' && c.exitCode !== 0);
}

function podWithIps(pod: Pod, ips: string[], nodeIp: string): Pod {
  const status = { ...pod.status, hostIP: nodeIp, hostIPs: [{ ip: nodeIp }] };
  if (ips.length) Object.assign(status, { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) });
  return { ...pod, status };
}

class PodSync {
  readonly deps: SyncDeps;
  readonly pod: Pod;
  readonly mem: PodMemory;
  rt: PodRuntimeState;
  /** rt misses something this sync did to the runtime; read it again before it is needed. */
  stale = false;
  volumes: PodVolumes | undefined;
  sandboxConfig: DeepPartial<PodSandboxConfig> | undefined;
  retryAfterMs: number | undefined;
  readonly slots: StartSlots | undefined;
  /** Gives back the start slot taken to make the sandbox. */
  release: (() => void) | undefined;
  /** Containers this sync started, to hand to the ProbeManager once they are seen running. */
  readonly started: { spec: Container; id: string }[] = [];

  constructor(deps: SyncDeps, pod: Pod, rt: PodRuntimeState, mem: PodMemory, slots: StartSlots | undefined) {
    this.deps = deps;
    this.pod = pod;
    this.rt = rt;
    this.mem = mem;
    this.slots = slots;
  }

  retry(ms: number): void {
    this.retryAfterMs = Math.max(100, Math.min(this.retryAfterMs ?? Infinity, ms));
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  async run(): Promise<SyncResult> {
    let sandboxReady: boolean;
    try {
      sandboxReady = await this.bringUp();
    } finally {
      this.release?.();
    }
    await this.refresh();
    for (const { spec, id } of this.started) {
      const c = this.rt.containers.find((x) => x.id === id);
      if (c?.state === 'CONTAINER_RUNNING') await this.ensureProbed(spec, c);
    }
    if (sandboxReady) await this.prune();
    return { retryAfterMs: this.retryAfterMs, rt: this.rt };
  }

  /** The steps that act; false when there is no ready sandbox (yet). */
  private async bringUp(): Promise<boolean> {
    await this.killUnwanted();
    try {
      this.volumes = await setUpPodVolumes(this.pod, { client: this.deps.client, nodeName: this.deps.nodeName, podsDir: this.deps.podsDir });
    } catch (e) {
      this.deps.event(this.pod, 'Warning', 'FailedMount', (e as Error).message);
      this.retry(2000);
      return false;
    }
    if (!(await this.ensureSandbox())) return false;
    if (await this.runInitContainers()) {
      for (const c of this.pod.spec?.containers ?? []) await this.syncContainer(c, false);
    }
    return true;
  }

  /** Reads the runtime again if this sync changed it since the last read. */
  private async refresh(): Promise<void> {
    if (!this.stale) return;
    this.rt = await podRuntimeState(this.deps.cri, this.uid);
    this.stale = false;
  }

  /**
   * Container garbage collection, as kubelet's keeps it: the current and the previous instance
   * of each container (for `kubectl logs --previous`), and no dead sandbox beside a ready one.
   */
  private async prune(): Promise<void> {
    const seen = new Map<string, number>();
    const removed = new Set<string>();
    for (const c of this.rt.containers) {
      const key = `${c.init}/${c.name}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (n > 2 && c.state === 'CONTAINER_EXITED') {
        await this.deps.cri.removeContainer({ container_id: c.id });
        removed.add(c.id);
      }
    }
    if (readySandbox(this.rt)) {
      for (const s of this.rt.sandboxes.slice(1)) {
        await this.deps.cri.removePodSandbox({ pod_sandbox_id: s.id });
        removed.add(s.id);
      }
    }
    // What was removed is known exactly: drop it here rather than listing the runtime again.
    if (removed.size) {
      this.rt = {
        ...this.rt,
        sandboxes: this.rt.sandboxes.filter((s) => !removed.has(s.id)),
        containers: this.rt.containers.filter((c) => !removed.has(c.id) && !removed.has(c.sandboxId)),
      };
    }
  }

  /** Containers a liveness/startup probe failed, or whose spec changed, are stopped (and restarted below). */
  private async killUnwanted(): Promise<void> {
    const victims: { c: ContainerInfo; why: string; grace: number }[] = [];
    for (const c of this.rt.containers) {
      if (c.state !== 'CONTAINER_RUNNING') continue;
      const unhealthy = this.mem.unhealthy.get(c.id);
      const spec = (c.init ? this.pod.spec?.initContainers : this.pod.spec?.containers)?.find((s) => s.name === c.name);
      if (unhealthy) victims.push({ c, why: unhealthy.message, grace: unhealthy.gracePeriodSeconds });
      else if (spec && !c.init && c.hash && c.hash !== containerHash(spec)) {
        victims.push({ c, why: 'Container {name} definition changed, will be restarted', grace: gracePeriodOf(this.pod) });
      }
    }
    if (!victims.length) return;
    for (const { c, why, grace } of victims) {
      await killPod(this.deps, this.pod, { ...this.rt, containers: [c] }, grace, why, { keepSandbox: true });
      this.mem.unhealthy.delete(c.id);
      this.mem.probed.delete(c.id);
    }
    this.rt = await podRuntimeState(this.deps.cri, this.uid);
  }

  /** A ready sandbox, made if needed; false when there is none (yet). */
  private async ensureSandbox(): Promise<boolean> {
    const newest = this.rt.sandboxes[0];
    const attempt = !newest ? 0 : readySandbox(this.rt) ? newest.attempt : newest.attempt + 1;
    this.sandboxConfig = await sandboxConfig(this.pod, attempt, this.deps.sandbox);
    if (readySandbox(this.rt)) return true;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (this.rt.sandboxes.length && policy === 'Never' && this.rt.containers.some((c) => !c.init)) {
      // The sandbox died after the containers ran and nothing may restart: the pod is done.
      return false;
    }
    if (this.rt.containers.some((c) => c.state === 'CONTAINER_RUNNING')) {
      await killPod(this.deps, this.pod, this.rt, gracePeriodOf(this.pod), 'Stopping container {name}: its pod sandbox is gone');
      this.stale = true;
    }
    if (!this.pod.spec?.hostNetwork && !this.deps.networkReady()) {
      this.deps.event(this.pod, 'Warning', 'NetworkNotReady', 'network is not ready: container runtime network not ready: NetworkReady=false');
      this.retry(1000);
      return false;
    }
    let handler: string;
    try {
      handler = await this.deps.runtimeHandler(this.pod);
    } catch (e) {
      this.deps.event(this.pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
      this.retry(5000);
      return false;
    }
    const key = `${this.uid}/sandbox`;
    if (this.deps.crashBackoff.isInBackOffSinceUpdate(key)) {
      this.retry(this.deps.crashBackoff.delay(key));
      return false;
    }
    // One slot for the sandbox and the containers that follow in this sync (see start-slots.ts).
    this.release ??= await this.slots?.acquire();
    try {
      await this.deps.cri.runPodSandbox({ config: this.sandboxConfig, runtime_handler: handler });
      this.deps.crashBackoff.forget(key);
    } catch (e) {
      this.deps.crashBackoff.next(key, Date.now());
      this.deps.event(this.pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
      this.retry(this.deps.crashBackoff.delay(key));
      return false;
    }
    this.rt = await podRuntimeState(this.deps.cri, this.uid);
    this.stale = false;
    return !!readySandbox(this.rt);
  }

  /** Runs init containers in order; true once all of them have succeeded. */
  private async runInitContainers(): Promise<boolean> {
    const sandbox = readySandbox(this.rt)!;
    for (const ic of this.pod.spec?.initContainers ?? []) {
      // Init containers run again in a new sandbox: only this sandbox's instances count.
      const latest = instancesOf(this.rt, ic.name, true).find((c) => c.sandboxId === sandbox.id);
      if (latest?.state === 'CONTAINER_EXITED' && latest.exitCode === 0) continue;
      if (latest?.state === 'CONTAINER_RUNNING') return false;
      if (latest?.state === 'CONTAINER_EXITED' && (this.pod.spec?.restartPolicy ?? 'Always') === 'Never') return false;
      await this.syncContainer(ic, true);
      return false;
    }
    return true;
  }

  /** Starts the container if it has never run, or again if its policy and back-off allow. */
  private async syncContainer(spec: Container, init: boolean): Promise<void> {
    const instances = instancesOf(this.rt, spec.name, init);
    let latest = instances[0];
    if (latest?.state === 'CONTAINER_RUNNING') {
      this.mem.waiting.delete(spec.name);
      await this.ensureProbed(spec, latest);
      return;
    }
    if (latest?.state === 'CONTAINER_CREATED' || latest?.state === 'CONTAINER_UNKNOWN') {
      // Created but never started (an agent restart in between): make it again.
      await this.deps.cri.removeContainer({ container_id: latest.id });
      this.stale = true;
      const restartCount = latest.restartCount;
      latest = instances[1];
      await this.start(spec, init, restartCount);
      return;
    }
    if (!latest) {
      await this.start(spec, init, 0);
      return;
    }
    // Exited.
    this.deps.probes.removeContainer(latest.id);
    this.mem.probed.delete(latest.id);
    const restartOk = init ? latest.exitCode !== 0 && (this.pod.spec?.restartPolicy ?? 'Always') !== 'Never' : shouldRestart(this.pod, latest);
    if (!restartOk) return;
    const key = `${this.uid}/${spec.name}`;
    const finishedMs = Math.floor(latest.finishedAt / 1e6);
    if (latest.startedAt && finishedMs - latest.startedAt / 1e6 >= BACKOFF_RESET_MS) this.deps.crashBackoff.forget(key);
    if (this.deps.crashBackoff.isInBackOffSince(key, finishedMs)) {
      const delay = this.deps.crashBackoff.delay(key);
      const { name = '', namespace = '' } = this.pod.metadata ?? {};
      this.mem.waiting.set(spec.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${goDuration(delay)} restarting failed container=${spec.name} pod=${name}_${namespace}(${this.uid})`,
      });
      this.deps.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${spec.name} in pod ${name}_${namespace}(${this.uid})`);
      this.retry(this.deps.crashBackoff.remaining(key, finishedMs) + 50);
      return;
    }
    this.deps.crashBackoff.next(key, finishedMs);
    await this.start(spec, init, latest.restartCount + 1);
  }

  private async ensureProbed(spec: Container, c: ContainerInfo): Promise<void> {
    if (c.init || this.mem.probed.has(c.id)) return;
    this.mem.probed.add(c.id);
    this.deps.probes.addContainer(this.pod, spec, c.id, readySandbox(this.rt)?.ips[0] ?? '', Math.floor(c.startedAt / 1e6));
  }

  private async start(spec: Container, init: boolean, restartCount: number): Promise<void> {
    const { deps, pod } = this;
    const sandbox = readySandbox(this.rt)!;
    const image = await deps.images.ensureImage(pod, spec, this.sandboxConfig!);
    if (!image.ok) {
      this.mem.waiting.set(spec.name, { reason: image.reason, message: image.message });
      this.retry(image.reason === 'ImagePullBackOff' || image.reason === 'ErrImagePull' ? 2000 : 5000);
      return;
    }
    let config;
    try {
      const env = await containerEnv(spec, { client: deps.client, nodeName: deps.nodeName, pod: podWithIps(pod, sandbox.ips, deps.nodeIp) });
      const mounts = this.volumes!.mountsFor(spec);
      const messageFile = terminationMessageFile(deps.podsDir, this.uid, spec.name, restartCount);
      await mkdir(dirname(messageFile), { recursive: true });
      await writeFile(messageFile, '', { mode: 0o666 });
      config = containerConfig({
        pod, container: spec, init, restartCount, image: image.imageRef, env, mounts,
        terminationMessageFile: messageFile, memoryCapacityBytes: deps.memoryCapacityBytes,
      });
    } catch (e) {
      const message = (e as Error).message;
      this.mem.waiting.set(spec.name, { reason: 'CreateContainerConfigError', message });
      deps.event(pod, 'Warning', 'Failed', `Error: ${message}`);
      this.retry(5000);
      return;
    }
    let id: string;
    try {
      id = (await deps.cri.createContainer({ pod_sandbox_id: sandbox.id, config, sandbox_config: this.sandboxConfig })).container_id;
      this.stale = true;
    } catch (e) {
      const message = (e as Error).message;
      this.mem.waiting.set(spec.name, { reason: 'CreateContainerError', message });
      deps.event(pod, 'Warning', 'Failed', `Error: ${message}`);
      this.retry(5000);
      return;
    }
    deps.event(pod, 'Normal', 'Created', `Created container ${spec.name}`);
    try {
      await deps.cri.startContainer({ container_id: id });
    } catch (e) {
      const message = (e as Error).message;
      this.mem.waiting.set(spec.name, { reason: 'RunContainerError', message });
      deps.event(pod, 'Warning', 'Failed', `Error: ${message}`);
      this.retry(1000);
      return;
    }
    this.mem.waiting.delete(spec.name);
    deps.event(pod, 'Normal', 'Started', `Started container ${spec.name}`);
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      try {
        await runHook(deps, pod, spec, id, sandbox.ips[0] ?? '', postStart, gracePeriodOf(pod));
      } catch (e) {
        // kubelet kills a container whose postStart hook failed; its restartPolicy decides what follows.
        deps.event(pod, 'Warning', 'FailedPostStartHook', `PostStartHook failed: ${(e as Error).message}`);
        const rt = await podRuntimeState(deps.cri, this.uid);
        await killPod(deps, pod, { ...rt, containers: rt.containers.filter((c) => c.id === id) }, gracePeriodOf(pod),
          'FailedPostStartHook: stopping container {name}', { keepSandbox: true });
        this.retry(100);
      }
    }
    this.started.push({ spec, id });
  }
}

/**
 * One sync of a pod that should run; see the header. With slots, making a sandbox (and starting
 * the containers that follow it in this sync) waits for one.
 */
export async function syncPod(deps: SyncDeps, pod: Pod, rt: PodRuntimeState, mem: PodMemory, slots?: StartSlots): Promise<SyncResult> {
  return new PodSync(deps, pod, rt, mem, slots).run();
}
