// What makes a StatefulSet pod itself: its ordinal name `<set>-<ordinal>`, its
// stable network identity (hostname, subdomain), its identity labels, its own
// PersistentVolumeClaims `<template>-<set>-<ordinal>`, and its revision
// (kube's pkg/controller/statefulset/stateful_set_utils.go).
// https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#pod-identity
import type { StatefulSet, ControllerRevision } from 'kubernetes-types/apps/v1.d.ts';
import type { PersistentVolumeClaim, Pod, PodTemplateSpec, Volume } from 'kubernetes-types/core/v1.d.ts';
import { computeHash } from './deployment-util.ts';
import { controllerRefTo, podFromTemplate } from './pod-control.ts';
import { cloneJson } from '../api/json-clone.ts';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

/** The ordinal of a pod named `<set>-<n>`, or undefined if the name is not the set's. */
export function ordinalOf(set: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${set.metadata!.name}-`;
  const name = pod.metadata?.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata!.name}-${ordinal}`;
}

export function claimName(set: StatefulSet, template: PersistentVolumeClaim, ordinal: number): string {
  return `${template.metadata!.name}-${set.metadata!.name}-${ordinal}`;
}

/** The claims the pod at ordinal uses, as they are created (labels are the set's selector labels, as kube does). */
export function claimsFor(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => ({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(set, t, ordinal), namespace: set.metadata!.namespace,
      labels: { ...t.metadata?.labels, ...set.spec?.selector?.matchLabels },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
    },
    spec: cloneJson(t.spec ?? {}),
  }));
}

/** The pod at ordinal from a revision's template, with its identity and its claims mounted in place of same-named volumes. */
export function newStatefulSetPod(set: StatefulSet, template: PodTemplateSpec, revisionName: string, ordinal: number): Pod {
  const pod = podFromTemplate(template, set as never);
  const name = podName(set, ordinal);
  delete pod.metadata!.generateName;
  pod.metadata!.name = name;
  pod.metadata!.labels = {
    ...pod.metadata!.labels, [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [REVISION_LABEL]: revisionName,
  };
  pod.spec!.hostname = name;
  if (set.spec?.serviceName) pod.spec!.subdomain = set.spec.serviceName;
  const templates = set.spec?.volumeClaimTemplates ?? [];
  if (templates.length > 0) {
    const claimed = new Set(templates.map((t) => t.metadata!.name!));
    const volumes: Volume[] = (pod.spec!.volumes ?? []).filter((v) => !claimed.has(v.name));
    for (const t of templates) {
      volumes.push({ name: t.metadata!.name!, persistentVolumeClaim: { claimName: claimName(set, t, ordinal) } });
    }
    pod.spec!.volumes = volumes;
  }
  return pod;
}

// ---------------------------------------------------------------- revisions
// A revision stores the pod template as a patch of the set (kube's getPatch keeps
// only spec.template, marked $patch: replace); its name is `<set>-<hash>`.
// https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#rolling-updates

function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x && typeof x === 'object') {
      return Object.fromEntries(Object.keys(x).sort().filter((k) => (x as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sort((x as Record<string, unknown>)[k])]));
    }
    return x;
  };
  return JSON.stringify(sort(v));
}

export function templateOfRevision(rev: ControllerRevision): PodTemplateSpec {
  const data = rev.data as { spec?: { template?: PodTemplateSpec & { $patch?: string } } } | undefined;
  const t = cloneJson(data?.spec?.template ?? {});
  delete t.$patch;
  return t;
}

export function revisionMatches(set: StatefulSet, rev: ControllerRevision): boolean {
  return canonicalJson(templateOfRevision(rev)) === canonicalJson(set.spec?.template ?? {});
}

export function newRevision(set: StatefulSet, revision: number): ControllerRevision {
  const hash = computeHash(set.spec!.template, set.status?.collisionCount);
  return {
    apiVersion: 'apps/v1', kind: 'ControllerRevision',
    metadata: {
      name: `${set.metadata!.name}-${hash}`, namespace: set.metadata!.namespace,
      labels: { ...set.spec?.template?.metadata?.labels, 'controller.kubernetes.io/hash': hash },
      ownerReferences: [controllerRefTo(set as never)],
    },
    data: { spec: { template: { ...cloneJson(set.spec!.template), $patch: 'replace' } } },
    revision,
  };
}
