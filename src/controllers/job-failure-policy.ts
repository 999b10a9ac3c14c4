// A Job's podFailurePolicy: which rule a failed pod matches, and what that means
// (fail the Job, fail the pod's index, ignore the failure, or count it).
// Rules are evaluated in order; the first that matches decides. No match: Count.
// https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy
import type { Job, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule } from 'kubernetes-types/batch/v1.d.ts';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.d.ts';
import { isPodFailed } from './job-pods.ts';

export type PodFailurePolicyAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

export interface PolicyMatch {
  /** The matched rule's action; undefined when no rule matched (the failure counts). */
  action?: PodFailurePolicyAction;
  /** Whether the failure counts toward backoffLimit (and backoffLimitPerIndex): false only for Ignore. */
  countFailed: boolean;
  /** For FailJob: the Job's Failed condition message, as kube-controller-manager words it. */
  failJobMessage?: string;
}

const NO_MATCH: PolicyMatch = { countFailed: true };

/** Matches a failed pod against the policy's rules (kube: matchPodFailurePolicy). */
export function matchPodFailurePolicy(policy: PodFailurePolicy | undefined, pod: Pod): PolicyMatch {
  if (!policy) return NO_MATCH;
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  for (const [i, rule] of (policy.rules ?? []).entries()) {
    let described: string | undefined;
    if (rule.onExitCodes) {
      const c = matchOnExitCodes(pod, rule.onExitCodes);
      if (!c) continue;
      described = `Container ${c.name} for pod ${ns}/${name} failed with exit code ${c.state!.terminated!.exitCode} matching ${rule.action} rule at index ${i}`;
    } else if (rule.onPodConditions) {
      const type = matchOnPodConditions(pod, rule);
      if (type === undefined) continue;
      described = `Pod ${ns}/${name} has condition ${type} matching ${rule.action} rule at index ${i}`;
    } else continue;
    switch (rule.action) {
      case 'Ignore': return { action: 'Ignore', countFailed: false };
      case 'Count': return { action: 'Count', countFailed: true };
      case 'FailIndex': return { action: 'FailIndex', countFailed: true };
      case 'FailJob': return { action: 'FailJob', countFailed: true, failJobMessage: described };
      // An action this controller does not know: clients skip the rule (API doc of `action`).
      default: continue;
    }
  }
  return NO_MATCH;
}

/** The first terminated container (then init container) whose non-zero exit code satisfies the requirement. */
function matchOnExitCodes(pod: Pod, req: PodFailurePolicyOnExitCodesRequirement): ContainerStatus | undefined {
  const matching = (list: ContainerStatus[] | undefined) => (list ?? []).find((s) => {
    const code = s.state?.terminated?.exitCode;
    if (code === undefined || code === 0) return false;
    if (req.containerName && req.containerName !== s.name) return false;
    const listed = (req.values ?? []).includes(code);
    return req.operator === 'In' ? listed : req.operator === 'NotIn' ? !listed : false;
  });
  return matching(pod.status?.containerStatuses) ?? matching(pod.status?.initContainerStatuses);
}

/** The type of the first pod condition matching one of the rule's patterns. */
function matchOnPodConditions(pod: Pod, rule: PodFailurePolicyRule): string | undefined {
  for (const c of pod.status?.conditions ?? []) {
    if (rule.onPodConditions!.some((p) => p.type === c.type && p.status === c.status)) return c.type;
  }
  return undefined;
}

/** The message of the first failed pod matching a FailJob rule: the Job fails with reason PodFailurePolicy. */
export function failJobMessage(job: Job, pods: Pod[]): string | undefined {
  const policy = job.spec?.podFailurePolicy;
  if (!policy) return undefined;
  for (const p of pods) {
    if (!isPodFailed(p, job)) continue;
    const m = matchPodFailurePolicy(policy, p);
    if (m.failJobMessage) return m.failJobMessage;
  }
  return undefined;
}

/** Whether a failed pod's failure counts toward the limits (false when an Ignore rule matched). */
export function countsAsFailure(job: Job, pod: Pod): boolean {
  return matchPodFailurePolicy(job.spec?.podFailurePolicy, pod).countFailed;
}
