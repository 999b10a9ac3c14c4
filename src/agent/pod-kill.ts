// Stopping a pod as kubelet's killPod does: every running container gets its preStop hook and
// then StopContainer with what is left of the grace period (the stop signal, then SIGKILL), then
// the sandbox stops. removePodResources then removes what the pod left on the node.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination
// https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, LifecycleHandler, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../cri/client.ts';
import { isNotFound } from '../cri/errors.ts';
import type { RestClient } from '../client/rest.ts';
import { removeCgroup } from '../runtime/stats.ts';
import type { ProbeManager } from './probes/index.ts';
import { podLogDir } from './log-paths.ts';
import type { PodRuntimeState } from './pod-runtime.ts';
import { tearDownPodVolumes } from './volumes/index.ts';

/** kubelet never gives a container less than this to stop (minimumGracePeriodInSeconds). */
export const MIN_GRACE_SECONDS = 2;

export interface KillDeps {
  cri: CriClient;
  client: RestClient;
  nodeName: string;
  podsDir: string;
  logRoot: string;
  probes: ProbeManager;
  event: (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  log: (line: string) => void;
}

/** The pod's grace period as of now: the deletion's, else the spec's (default 30 s). */
export function gracePeriodOf(pod: Pod | undefined): number {
  return pod?.metadata?.deletionGracePeriodSeconds ?? pod?.spec?.terminationGracePeriodSeconds ?? 30;
}

/** Runs a lifecycle hook (exec, httpGet or sleep) against a running container. */
export async function runHook(deps: KillDeps, pod: Pod, container: Container, containerId: string, podIp: string,
  hook: LifecycleHandler, timeoutSeconds: number): Promise<void> {
  if (hook.exec?.command?.length) {
    const r = await deps.cri.execSync({ container_id: containerId, cmd: hook.exec.command, timeout: Math.max(1, timeoutSeconds) });
    if (r.exit_code !== 0) throw new Error(`command ${JSON.stringify(hook.exec.command)} exited with ${r.exit_code}: ${Buffer.from(r.stdout).toString()}${Buffer.from(r.stderr).toString()}`.trim());
  } else if (hook.httpGet) {
    const g = hook.httpGet;
    const port = typeof g.port === 'number' ? g.port
      : /^\d+$/.test(String(g.port)) ? Number(g.port) : container.ports?.find((p) => p.name === g.port)?.containerPort;
    if (!port) throw new Error(`port ${String(g.port)} is not a port of container ${container.name}`);
    const host = g.host || podIp;
    const url = `${(g.scheme ?? 'HTTP').toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${port}${g.path ?? '/'}`;
    const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(Math.max(1, timeoutSeconds) * 1000) });
    await res.arrayBuffer();
    if (res.status >= 400) throw new Error(`HTTP GET ${url} answered ${res.status}`);
  } else if (hook.sleep?.seconds) {
    await new Promise((r) => setTimeout(r, Math.min(hook.sleep!.seconds, timeoutSeconds) * 1000));
  }
}

/**
 * Stops every running container of the pod (preStop first, when the pod spec has one and there
 * is time) and then its ready sandboxes. pod may be undefined for a pod the API no longer has.
 */
export async function killPod(deps: KillDeps, pod: Pod | undefined, rt: PodRuntimeState, gracePeriodSeconds: number, why: string,
  opts: { keepSandbox?: boolean } = {}): Promise<void> {
  const started = Date.now();
  const podIp = rt.sandboxes.find((s) => s.state === 'SANDBOX_READY')?.ips[0] ?? '';
  const running = rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED');
  await Promise.all(running.map(async (c) => {
    const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find((s) => s.name === c.name);
    deps.probes.removeContainer(c.id);
    const hook = spec?.lifecycle?.preStop;
    if (pod && spec && hook && c.state === 'CONTAINER_RUNNING' && gracePeriodSeconds > 0) {
      try {
        await runHook(deps, pod, spec, c.id, podIp, hook, gracePeriodSeconds);
      } catch (e) {
        deps.event(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${(e as Error).message}`);
      }
    }
    const left = Math.ceil(gracePeriodSeconds - (Date.now() - started) / 1000);
    if (pod && spec) deps.event(pod, 'Normal', 'Killing', `${why.replace('{name}', c.name)}`);
    try {
      await deps.cri.stopContainer({ container_id: c.id, timeout: Math.max(MIN_GRACE_SECONDS, left) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }));
  if (opts.keepSandbox) return;
  for (const s of rt.sandboxes.filter((s) => s.state === 'SANDBOX_READY')) {
    try {
      await deps.cri.stopPodSandbox({ pod_sandbox_id: s.id });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Removes the pod's sandboxes (and with them its containers), volumes, cgroups, logs and files. */
export async function removePodResources(deps: KillDeps, uid: string, identity: { namespace: string; name: string } | undefined, rt: PodRuntimeState): Promise<void> {
  for (const s of rt.sandboxes) {
    await deps.cri.stopPodSandbox({ pod_sandbox_id: s.id }).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
    await deps.cri.removePodSandbox({ pod_sandbox_id: s.id });
  }
  // A container outside any sandbox we know of (a runtime quirk): remove it too.
  for (const c of rt.containers.filter((c) => !rt.sandboxes.some((s) => s.id === c.sandboxId))) {
    await deps.cri.removeContainer({ container_id: c.id }).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }
  deps.probes.removePod(uid);
  await tearDownPodVolumes(uid, { client: deps.client, nodeName: deps.nodeName, podsDir: deps.podsDir });
  for (const tier of ['', '/burstable', '/besteffort']) await removeCgroup(`/skiff/kubepods${tier}/pod${uid}`);
  const podDir = join(deps.podsDir, uid);
  // Only our own plain files go recursively; the pod dir itself only if volumes left it empty.
  await rm(join(podDir, 'containers'), { recursive: true, force: true });
  await rmdir(join(podDir, 'volumes')).catch(() => undefined);
  await rmdir(podDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') deps.log(`pod ${uid}: leaving ${podDir} in place: ${e.message}`);
  });
  if (identity) await rm(podLogDir(deps.logRoot, { ...identity, uid }), { recursive: true, force: true });
}
