// The grace period of a kill a failed probe asks for (kubelet's setTerminationGracePeriod): a
// pod being deleted keeps its deletion grace period; otherwise a liveness or startup probe's own
// terminationGracePeriodSeconds wins over the pod's; never less than 2 seconds.
// https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#probe-level-terminationgraceperiodseconds
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { ProbeKind } from './worker.ts';

const MINIMUM_GRACE_PERIOD_SECONDS = 2;

export function probeKillGracePeriodSeconds(pod: Pod, container: Container, kind: ProbeKind): number {
  const probe = kind === 'liveness' ? container.livenessProbe : kind === 'startup' ? container.startupProbe : undefined;
  let seconds: number;
  if (pod.metadata?.deletionGracePeriodSeconds != null) seconds = pod.metadata.deletionGracePeriodSeconds;
  else if (probe?.terminationGracePeriodSeconds != null) seconds = probe.terminationGracePeriodSeconds;
  else seconds = pod.spec?.terminationGracePeriodSeconds ?? MINIMUM_GRACE_PERIOD_SECONDS;
  return Math.max(MINIMUM_GRACE_PERIOD_SECONDS, seconds);
}
