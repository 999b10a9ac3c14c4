// A pod's status as kubelet's generateAPIPodStatus computes it from the runtime's state: phase
// (getPhase), conditions, IPs, QoS and the container statuses kubectl shows (state, lastState,
// restartCount, ready, started, image, imageID, containerID, termination messages).
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
import { open, readFile } from 'node:fs/promises';
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.d.ts';
import { rfc3339 } from '../api/time.ts';
import { terminationMessageFile } from './container-config.ts';
import { instancesOf, nsToTime, readySandbox, type ContainerInfo, type PodRuntimeState } from './pod-runtime.ts';
import { qosClass } from './qos.ts';

/** What the worker knows that the runtime does not: why a container is waiting, when the pod started. */
export interface PodMemory {
  waiting: Map<string, { reason: string; message: string }>;
  /** Termination messages already read, by container id. */
  messages: Map<string, string>;
  /** Running containers handed to the ProbeManager. */
  probed: Set<string>;
  /** Containers a liveness or startup probe found unhealthy: container id → the Killing message and grace period. */
  unhealthy: Map<string, { message: string; gracePeriodSeconds: number }>;
  startTime?: string;
}

export function newPodMemory(): PodMemory {
  return { waiting: new Map(), messages: new Map(), probed: new Set(), unhealthy: new Map() };
}

export interface StatusContext {
  nodeIp: string;
  podsDir: string;
  /** 'skiff' or 'containerd': containerID is `<runtime>://<id>`. */
  runtimeName: string;
  isReady(containerId: string): boolean;
  isStarted(containerId: string): boolean;
}

const MAX_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;

export function isTerminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

async function readHead(path: string, max: number): Promise<string> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return '';
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** The last lines of a CRI-format log ("<time> <stream> <P|F> <text>"), as kubelet's FallbackToLogsOnError reads them. */
async function logTail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  let out = '';
  for (const line of text.split('\n').filter(Boolean).slice(-FALLBACK_LOG_LINES)) {
    const m = /^\S+ \S+ ([PF]) (.*)$/.exec(line);
    out += m ? (m[1] === 'F' ? `${m[2]}\n` : m[2]) : `${line}\n`;
  }
  return out.length > FALLBACK_LOG_BYTES ? out.slice(-FALLBACK_LOG_BYTES) : out;
}

async function terminationMessage(c: ContainerInfo, pod: Pod, ctx: StatusContext, mem: PodMemory): Promise<string> {
  const cached = mem.messages.get(c.id);
  if (cached !== undefined) return cached;
  let message = await readHead(terminationMessageFile(ctx.podsDir, pod.metadata?.uid ?? '', c.name, c.restartCount), MAX_MESSAGE_BYTES);
  if (!message && c.exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError' && c.logPath) message = await logTail(c.logPath);
  if (!message) message = c.message;
  mem.messages.set(c.id, message);
  return message;
}

async function stateOf(c: ContainerInfo, pod: Pod, ctx: StatusContext, mem: PodMemory): Promise<ContainerState> {
  if (c.state === 'CONTAINER_RUNNING') return { running: { startedAt: nsToTime(c.startedAt) } };
  if (c.state === 'CONTAINER_EXITED') {
    const message = await terminationMessage(c, pod, ctx, mem);
    return {
      terminated: {
        exitCode: c.exitCode, reason: c.reason || (c.exitCode === 0 ? 'Completed' : 'Error'),
        ...(message ? { message } : {}),
        ...(c.startedAt ? { startedAt: nsToTime(c.startedAt) } : {}),
        finishedAt: nsToTime(c.finishedAt || c.createdAt),
        containerID: `${ctx.runtimeName}://${c.id}`,
      },
    };
  }
  return { waiting: { reason: 'ContainerCreating' } };
}

async function containerStatus(pod: Pod, container: Container, init: boolean, rt: PodRuntimeState, mem: PodMemory,
  ctx: StatusContext, defaultWaiting: string): Promise<ContainerStatus> {
  const [latest, previous] = instancesOf(rt, container.name, init);
  const waiting = mem.waiting.get(container.name);
  const base = { name: container.name, image: latest?.image || container.image || '', imageID: latest?.imageRef ?? '' };
  if (!latest) {
    return { ...base, state: { waiting: waiting ?? { reason: defaultWaiting } }, lastState: {}, ready: false, restartCount: 0, started: false };
  }
  const containerID = `${ctx.runtimeName}://${latest.id}`;
  if (waiting && latest.state === 'CONTAINER_EXITED') {
    // Waiting to run again (back-off, image pull, config error): the dead instance is the last state.
    return {
      ...base, containerID, state: { waiting }, lastState: await stateOf(latest, pod, ctx, mem),
      ready: false, restartCount: latest.restartCount, started: false,
    };
  }
  const running = latest.state === 'CONTAINER_RUNNING';
  return {
    ...base, containerID,
    state: await stateOf(latest, pod, ctx, mem),
    lastState: previous?.state === 'CONTAINER_EXITED' ? await stateOf(previous, pod, ctx, mem) : {},
    ready: running && ctx.isReady(latest.id),
    restartCount: latest.restartCount,
    started: running && ctx.isStarted(latest.id),
  };
}

/** kubelet's getPhase. */
export function podPhase(pod: Pod, init: ContainerStatus[], containers: ContainerStatus[]): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of init) {
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) { if (s.state.terminated.exitCode !== 0) failedInit++; }
    else if (s.lastState?.terminated && s.lastState.terminated.exitCode !== 0) failedInit++;
    else pendingInit++;
  }
  let running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const s of containers) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) { stopped++; if (s.state.terminated.exitCode === 0) succeeded++; }
    else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (failedInit > 0 && policy === 'Never') return 'Failed';
  if (pendingInit > 0 || (failedInit > 0 && init.length > 0)) return 'Pending';
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, reason: string, message: string, current: PodCondition[] | undefined, now: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const old = current?.find((c) => c.type === type);
  return {
    type, status,
    ...(ok || !reason ? {} : { reason }),
    ...(ok || !message ? {} : { message }),
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
}

export async function computePodStatus(pod: Pod, rt: PodRuntimeState, mem: PodMemory, ctx: StatusContext): Promise<PodStatus> {
  const current = pod.status ?? {};
  const spec = pod.spec ?? { containers: [] };
  const init: ContainerStatus[] = [];
  for (const c of spec.initContainers ?? []) init.push(await containerStatus(pod, c, true, rt, mem, ctx, 'PodInitializing'));
  const initDone = init.every((s) => s.state?.terminated?.exitCode === 0);
  const containers: ContainerStatus[] = [];
  for (const c of spec.containers) {
    containers.push(await containerStatus(pod, c, false, rt, mem, ctx, initDone ? 'ContainerCreating' : 'PodInitializing'));
  }
  containers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const phase = isTerminalPhase(current.phase) ? current.phase! : podPhase(pod, init, containers);
  const now = rfc3339();
  const done = isTerminalPhase(phase);
  const sandbox = readySandbox(rt);
  const podIPs = spec.hostNetwork ? [ctx.nodeIp] : sandbox?.ips.length ? sandbox.ips : (current.podIPs ?? []).map((p) => p.ip ?? '').filter(Boolean);
  const conditionsNow = current.conditions;
  const unready = containers.filter((s) => !s.ready).map((s) => s.name);
  const incomplete = init.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  const gates = (spec.readinessGates ?? []).filter((g) => conditionsNow?.find((c) => c.type === g.conditionType)?.status !== 'True');
  const containersReady = !done && unready.length === 0;
  const completedReason = done ? 'PodCompleted' : '';
  const ready = containersReady && gates.length === 0;
  const ours = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'];
  const conditions: PodCondition[] = [
    condition('PodReadyToStartContainers', !!sandbox && (podIPs.length > 0 || !!spec.hostNetwork), '', '', conditionsNow, now),
    condition('Initialized', initDone || (done && incomplete.length === 0), completedReason || 'ContainersNotInitialized',
      `containers with incomplete status: [${incomplete.join(' ')}]`, conditionsNow, now),
    condition('ContainersReady', containersReady, completedReason || 'ContainersNotReady',
      `containers with unready status: [${unready.join(' ')}]`, conditionsNow, now),
    condition('Ready', ready, completedReason || (containersReady ? 'ReadinessGatesNotReady' : 'ContainersNotReady'),
      containersReady ? `corresponding condition of pod readiness gate "${gates[0]?.conditionType}" does not exist.` : `containers with unready status: [${unready.join(' ')}]`,
      conditionsNow, now),
    // PodScheduled (the scheduler's) and anyone else's conditions are kept as they are.
    ...(conditionsNow ?? []).filter((c) => !ours.includes(c.type)),
  ];
  const hostIPs = [{ ip: ctx.nodeIp }];
  return {
    phase,
    conditions,
    hostIP: ctx.nodeIp, hostIPs,
    ...(podIPs.length ? { podIP: podIPs[0], podIPs: podIPs.map((ip) => ({ ip })) } : {}),
    startTime: current.startTime ?? mem.startTime ?? now,
    ...(init.length ? { initContainerStatuses: init } : {}),
    containerStatuses: containers,
    qosClass: qosClass(pod),
  };
}

/** JSON with sorted keys, for "did it change" comparisons. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return value;
  });
}

/**
 * The merge patch that turns the pod's status into next (top-level status fields that
 * disappeared are set to null), or undefined when nothing changed.
 */
export function statusPatch(pod: Pod, next: PodStatus): { status: Record<string, unknown> } | undefined {
  const current = (pod.status ?? {}) as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) if (canonical(current[k]) !== canonical(v)) patch[k] = v;
  for (const k of ['podIP', 'podIPs', 'initContainerStatuses']) if (k in current && !(k in next)) patch[k] = null;
  return Object.keys(patch).length ? { status: patch } : undefined;
}
