// Finding the pod and container a request names, with kubelet's answers when they are not
// there (yet): https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/kubelet_pods.go
import { readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeletPod } from './index.ts';
import type { ServerContext } from './index.ts';
import { badRequest, notFound } from './http-errors.ts';
import { containerLogPath } from '../log-paths.ts';

export async function findPod(ctx: ServerContext, namespace: string, name: string): Promise<KubeletPod> {
  const kp = await ctx.pods.lookup(namespace, name);
  if (!kp) throw notFound(`pod "${name}" in namespace "${namespace}" is not on this node`);
  return kp;
}

function specNames(pod: Pod): string[] {
  return [
    ...(pod.spec?.initContainers ?? []).map((c) => c.name),
    ...(pod.spec?.containers ?? []).map((c) => c.name),
    ...(pod.spec?.ephemeralContainers ?? []).map((c) => c.name),
  ];
}

function statusOf(pod: Pod, container: string): ContainerStatus | undefined {
  const all = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  return all.find((s) => s.name === container);
}

/** The container's current CRI id; 400s worded as kubelet's when it is not valid or has not started. */
export function containerIdOf(kp: KubeletPod, container: string): string {
  const podName = kp.pod.metadata?.name ?? '';
  if (!specNames(kp.pod).includes(container)) throw badRequest(`container ${container} is not valid for pod ${podName}`);
  const id = kp.containers.find((c) => c.name === container)?.id;
  if (!id) {
    const reason = statusOf(kp.pod, container)?.state?.waiting?.reason || 'ContainerCreating';
    throw badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
  }
  return id;
}

/** `<logDir>/<container>/<n>.log` files of the container, by restart number. */
async function logFiles(kp: KubeletPod, container: string): Promise<{ n: number; path: string }[]> {
  const dir = join(kp.logDir, container);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.flatMap((f) => {
    const m = /^(\d+)\.log$/.exec(f);
    return m ? [{ n: Number(m[1]), path: join(dir, f) }] : [];
  }).sort((a, b) => a.n - b.n);
}

export interface LogTarget {
  path: string;
  /** The CRI container writing it, when that is the current one (follow stops when it stops). */
  containerId?: string;
}

/** The current container's log file. */
export async function currentLog(ctx: ServerContext, kp: KubeletPod, container: string): Promise<LogTarget> {
  const id = containerIdOf(kp, container);
  const { status } = await ctx.cri.containerStatus({ container_id: id });
  let path = status?.log_path ?? '';
  if (path && !isAbsolute(path)) path = join(kp.logDir, path);
  if (!path) {
    const restarts = Number(status?.annotations?.['io.kubernetes.container.restartCount'] ?? 0);
    path = join(kp.logDir, containerLogPath(container, restarts));
  }
  return { path, containerId: id };
}

/** The log of the run before the current one: the highest-numbered older file (kubelet's --previous). */
export async function previousLog(ctx: ServerContext, kp: KubeletPod, container: string): Promise<LogTarget> {
  const podName = kp.pod.metadata?.name ?? '';
  if (!specNames(kp.pod).includes(container)) throw badRequest(`container ${container} is not valid for pod ${podName}`);
  const files = await logFiles(kp, container);
  const id = kp.containers.find((c) => c.name === container)?.id;
  let older = files;
  if (id) {
    const current = await currentLog(ctx, kp, container);
    const m = /(\d+)\.log$/.exec(current.path);
    const n = m ? Number(m[1]) : Infinity;
    older = files.filter((f) => f.n < n && f.path !== current.path);
  }
  const prev = older.at(-1);
  if (!prev) throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
  return { path: prev.path };
}
