// Which nodes a DaemonSet runs on and how its pod is pinned to one
// (kube's pkg/controller/daemon: NodeShouldRunDaemonPod, util.AddOrUpdateDaemonPodTolerations,
// util.ReplaceDaemonSetPodNodeNameNodeAffinity).
// https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#how-daemon-pods-are-scheduled
import type { Node, Pod, PodTemplateSpec, Taint, Toleration } from 'kubernetes-types/core/v1.d.ts';
import type { DaemonSet } from 'kubernetes-types/apps/v1.d.ts';
import { matchesRequiredNodeAffinity, requiredNodeAffinity } from '../scheduler/plugins/node-affinity.ts';
import { tolerationsTolerateTaint } from '../scheduler/plugins/taint-toleration.ts';
import type { NodeInfo } from '../scheduler/snapshot.ts';
import { podFromTemplate } from './pod-control.ts';

/**
 * The tolerations the DaemonSet controller adds to every daemon pod, so node
 * conditions and cordoning do not keep or evict them.
 * https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/#taints-and-tolerations
 */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key, operator: 'Exists', effect });
  const list = [
    t('node.kubernetes.io/not-ready', 'NoExecute'),
    t('node.kubernetes.io/unreachable', 'NoExecute'),
    t('node.kubernetes.io/disk-pressure', 'NoSchedule'),
    t('node.kubernetes.io/memory-pressure', 'NoSchedule'),
    t('node.kubernetes.io/pid-pressure', 'NoSchedule'),
    t('node.kubernetes.io/unschedulable', 'NoSchedule'),
  ];
  if (hostNetwork) list.push(t('node.kubernetes.io/network-unavailable', 'NoSchedule'));
  return list;
}

/** The template's tolerations plus the daemon defaults it does not already have. */
function withDaemonTolerations(template: PodTemplateSpec): Toleration[] {
  const own = template.spec?.tolerations ?? [];
  const same = (a: Toleration, b: Toleration) =>
    (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') && (a.effect ?? '') === (b.effect ?? '') && (a.value ?? '') === (b.value ?? '');
  return [...own, ...daemonPodTolerations(!!template.spec?.hostNetwork).filter((d) => !own.some((o) => same(o, d)))];
}

/**
 * The pod the DaemonSet would run on nodeName: the template with the daemon
 * tolerations and a required node affinity on `metadata.name` (matchFields), which
 * replaces the template's required node terms: the controller already checked those,
 * and the scheduler binds the pod to exactly this node.
 */
export function daemonPodForNode(ds: DaemonSet, template: PodTemplateSpec, nodeName: string): Pod {
  const pod = podFromTemplate(template, ds as never);
  const spec = pod.spec!;
  spec.tolerations = withDaemonTolerations(template);
  const affinity = spec.affinity ?? {};
  const nodeAffinity = affinity.nodeAffinity ?? {};
  spec.affinity = {
    ...affinity,
    nodeAffinity: {
      ...nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
  return pod;
}

/** The node a daemon pod is (spec.nodeName) or will be (its matchFields affinity) on. */
export function targetNodeOf(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

export interface NodeVerdict {
  /** A daemon pod should be created here if there is none. */
  shouldRun: boolean;
  /** An existing daemon pod may stay (NoSchedule taints do not evict). */
  shouldContinueRunning: boolean;
}

/**
 * NodeShouldRunDaemonPod: spec.nodeName (if the template sets one), nodeSelector and
 * required node affinity must match; an untolerated NoSchedule taint keeps new pods
 * off, an untolerated NoExecute taint also removes existing ones.
 */
export function nodeShouldRunDaemonPod(ds: DaemonSet, node: Node): NodeVerdict {
  const name = node.metadata!.name!;
  const template = ds.spec!.template;
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (template.spec?.nodeName && template.spec.nodeName !== name) return no;
  const pod: Pod = { spec: template.spec };
  // Only the name and labels are read; the rest of NodeInfo is the scheduler's bookkeeping.
  const info = { node, name, labels: node.metadata?.labels ?? {} } as NodeInfo;
  if (!matchesRequiredNodeAffinity(requiredNodeAffinity(pod), info)) return no;
  const tolerations = withDaemonTolerations(template);
  const untolerated = (node.spec?.taints ?? []).filter((t: Taint) =>
    (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerationsTolerateTaint(tolerations, t));
  if (untolerated.some((t) => t.effect === 'NoExecute')) return no;
  if (untolerated.length > 0) return { shouldRun: false, shouldContinueRunning: true };
  return { shouldRun: true, shouldContinueRunning: true };
}
