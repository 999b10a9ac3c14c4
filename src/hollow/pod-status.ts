// The pod statuses a kubelet would post, without running anything: Running and
// Ready (every container started and ready), and Succeeded (every container
// exited 0). Conditions and fields as kubelet sets them.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
import { createHash } from 'node:crypto';
import type { ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.d.ts';
import { rfc3339 } from '../api/time.ts';


function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A repo digest like kubelet reports in imageID: docker.io/library/nginx@sha256:... (made up, but stable per image). */
export function fakeImageId(image: string): string {
  let repo = image.split('@')[0];
  const lastSlash = repo.lastIndexOf('/');
  const colon = repo.lastIndexOf(':');
  if (colon > lastSlash) repo = repo.slice(0, colon); // drop the tag
  const first = repo.split('/')[0];
  if (!repo.includes('/')) repo = `docker.io/library/${repo}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost') repo = `docker.io/${repo}`;
  return `${repo}@sha256:${hash(image)}`;
}

function containerId(pod: Pod, name: string): string {
  return `skiff://${hash(`${pod.metadata?.uid}/${name}`)}`;
}

/** pod's conditions with ours set (keeping lastTransitionTime where the status stays) and others' kept. */
function withConditions(pod: Pod, now: Date, set: Record<string, [status: string, reason?: string]>): PodCondition[] {
  const t = rfc3339(now);
  const current = pod.status?.conditions ?? [];
  const out: PodCondition[] = current.filter((c) => !(c.type in set));
  for (const [type, [status, reason]] of Object.entries(set)) {
    const old = current.find((c) => c.type === type);
    out.push({
      type, status, ...(reason ? { reason } : {}),
      lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : t,
    });
  }
  return out;
}

/** Status of a pod whose containers all run and are ready. */
export function runningStatus(pod: Pod, now: Date, hostIP: string, podIP: string): PodStatus {
  const t = rfc3339(now);
  const initStatuses: ContainerStatus[] = (pod.spec?.initContainers ?? []).map((c) => ({
    name: c.name, image: c.image ?? '', imageID: fakeImageId(c.image ?? ''), containerID: containerId(pod, c.name),
    ready: true, started: false, restartCount: 0,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: t, finishedAt: t, containerID: containerId(pod, c.name) } },
  }));
  const statuses: ContainerStatus[] = (pod.spec?.containers ?? []).map((c) => ({
    name: c.name, image: c.image ?? '', imageID: fakeImageId(c.image ?? ''), containerID: containerId(pod, c.name),
    ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } },
  }));
  return {
    phase: 'Running',
    conditions: withConditions(pod, now, {
      PodReadyToStartContainers: ['True'], Initialized: ['True'], Ready: ['True'], ContainersReady: ['True'], PodScheduled: ['True'],
    }),
    hostIP, hostIPs: [{ ip: hostIP }], podIP, podIPs: [{ ip: podIP }],
    startTime: pod.status?.startTime ?? t,
    ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
  };
}

/** Status of a pod whose containers all exited 0 (a finished Job pod). */
export function succeededStatus(pod: Pod, now: Date): PodStatus {
  const t = rfc3339(now);
  const statuses: ContainerStatus[] = (pod.spec?.containers ?? []).map((c) => {
    const old = pod.status?.containerStatuses?.find((s) => s.name === c.name);
    const startedAt = old?.state?.running?.startedAt ?? pod.status?.startTime ?? t;
    return {
      name: c.name, image: c.image ?? '', imageID: fakeImageId(c.image ?? ''), containerID: containerId(pod, c.name),
      ready: false, started: false, restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: t, containerID: containerId(pod, c.name) } },
    };
  });
  return {
    phase: 'Succeeded',
    conditions: withConditions(pod, now, {
      PodReadyToStartContainers: ['False'], Ready: ['False', 'PodCompleted'], ContainersReady: ['False', 'PodCompleted'],
    }),
    containerStatuses: statuses,
  };
}
