// What the CRI runtime holds for one pod, found by the io.kubernetes.pod.uid label: its sandboxes
// (newest first) and every container of every sandbox (newest first), in the shape the pod
// worker and the status code need (kubelet's kubecontainer.PodStatus).
import type { CriClient } from '../cri/client.ts';
import { isNotFound } from '../cri/errors.ts';
import type { ContainerState, PodSandboxState } from '../cri/types.ts';
import {
  CONTAINER_HASH_ANNOTATION, CONTAINER_NAME_LABEL, INIT_CONTAINER_ANNOTATION, POD_UID_LABEL, RESTART_COUNT_ANNOTATION,
  TERMINATION_MESSAGE_PATH_ANNOTATION, TERMINATION_MESSAGE_POLICY_ANNOTATION,
} from './labels.ts';

export interface SandboxInfo {
  id: string;
  state: PodSandboxState;
  /** ns since the epoch. */
  createdAt: number;
  attempt: number;
  ips: string[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  sandboxId: string;
  state: ContainerState;
  /** ns since the epoch; 0 when not (yet) */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  restartCount: number;
  hash: string;
  init: boolean;
  /** What the pod spec asked for (user_specified_image), else what the runtime ran. */
  image: string;
  imageRef: string;
  terminationMessagePath: string;
  terminationMessagePolicy: string;
  logPath: string;
}

export interface PodRuntimeState {
  uid: string;
  sandboxes: SandboxInfo[];
  containers: ContainerInfo[];
}

/** The pod's sandboxes and containers as the runtime reports them now. */
export async function podRuntimeState(cri: CriClient, uid: string): Promise<PodRuntimeState> {
  const selector = { [POD_UID_LABEL]: uid };
  const [sandboxList, containerList] = await Promise.all([
    cri.listPodSandbox({ filter: { label_selector: selector } }),
    cri.listContainers({ filter: { label_selector: selector } }),
  ]);
  const sandboxes: SandboxInfo[] = [];
  for (const s of sandboxList.items) {
    let ips: string[] = [];
    if (s.state === 'SANDBOX_READY') {
      const st = await cri.podSandboxStatus({ pod_sandbox_id: s.id }).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      const net = st?.status?.network;
      ips = net?.ip ? [net.ip, ...(net.additional_ips ?? []).map((i) => i.ip).filter(Boolean)] : [];
    }
    sandboxes.push({ id: s.id, state: s.state, createdAt: Number(s.created_at), attempt: s.metadata?.attempt ?? 0, ips });
  }
  sandboxes.sort((a, b) => b.createdAt - a.createdAt);
  const containers: ContainerInfo[] = [];
  for (const c of containerList.containers) {
    const st = await cri.containerStatus({ container_id: c.id }).catch((e: unknown) => {
      if (isNotFound(e)) return undefined; // removed meanwhile
      throw e;
    });
    const s = st?.status;
    if (!s) continue;
    const a = s.annotations ?? {};
    containers.push({
      id: s.id, name: s.labels?.[CONTAINER_NAME_LABEL] ?? s.metadata?.name ?? '', sandboxId: c.pod_sandbox_id,
      state: s.state, createdAt: Number(s.created_at), startedAt: Number(s.started_at), finishedAt: Number(s.finished_at),
      exitCode: s.exit_code, reason: s.reason, message: s.message,
      restartCount: Number(a[RESTART_COUNT_ANNOTATION] ?? s.metadata?.attempt ?? 0),
      hash: a[CONTAINER_HASH_ANNOTATION] ?? '', init: a[INIT_CONTAINER_ANNOTATION] === 'true',
      image: s.image?.user_specified_image || s.image?.image || '', imageRef: s.image_ref || s.image_id || '',
      terminationMessagePath: a[TERMINATION_MESSAGE_PATH_ANNOTATION] ?? '',
      terminationMessagePolicy: a[TERMINATION_MESSAGE_POLICY_ANNOTATION] ?? 'File',
      logPath: s.log_path,
    });
  }
  containers.sort((a, b) => b.createdAt - a.createdAt || b.restartCount - a.restartCount);
  return { uid, sandboxes, containers };
}

/** The newest sandbox, if it is ready. */
export function readySandbox(state: PodRuntimeState): SandboxInfo | undefined {
  const s = state.sandboxes[0];
  return s?.state === 'SANDBOX_READY' ? s : undefined;
}

/** Instances of one container (across sandboxes), newest first. */
export function instancesOf(state: PodRuntimeState, name: string, init: boolean): ContainerInfo[] {
  return state.containers.filter((c) => c.name === name && c.init === init);
}

/** ns since the epoch as RFC 3339 (whole seconds, as metav1.Time). */
export function nsToTime(ns: number): string {
  return new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
