// What the Job controller needs to know about pods: which are active, finished,
// terminating, ready, which completion index they run, and the pod a Job's
// template makes (pkg/controller/job semantics).
// https://kubernetes.io/docs/concepts/workloads/controllers/job/
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Container, EnvVar, Pod } from 'kubernetes-types/core/v1.d.ts';
import { podFromTemplate as podFromOwnerTemplate } from './pod-control.ts';

/** Finalizer on every pod a Job creates, so a finished pod is counted before it can disappear. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
/** Annotation and label carrying an Indexed Job pod's completion index. */
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

export const isFinished = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
/** Being deleted but not finished yet: its containers may still run. */
export const isTerminating = (p: Pod): boolean => !isFinished(p) && !!p.metadata?.deletionTimestamp;
export const hasTrackingFinalizer = (p: Pod): boolean => p.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
export const isIndexed = (job: Job): boolean => job.spec?.completionMode === 'Indexed';

/**
 * Whether a pod counts as a failure. A deleted pod that never finished counts as
 * failed (it will never report), unless the Job only replaces pods once they are
 * Failed (podReplacementPolicy Failed, or a podFailurePolicy).
 */
export function isPodFailed(p: Pod, job: Job): boolean {
  if (p.status?.phase === 'Failed') return true;
  if (job.spec?.podFailurePolicy || job.spec?.podReplacementPolicy === 'Failed') return false;
  return !!p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded';
}

/** The pod's completion index, or undefined when missing or not a number. */
export function completionIndexOf(p: Pod): number | undefined {
  const v = p.metadata?.annotations?.[JOB_COMPLETION_INDEX] ?? p.metadata?.labels?.[JOB_COMPLETION_INDEX];
  if (v === undefined || !/^(0|[1-9][0-9]*)$/.test(v)) return undefined;
  return Number(v);
}

/** The pod the Job's template makes; index only for Indexed Jobs. */
export function podFromTemplate(job: Job, index?: number): Pod {
  const name = job.metadata!.name!;
  const pod = podFromOwnerTemplate(job.spec!.template, { ...job, apiVersion: 'batch/v1', kind: 'Job' });
  const meta = pod.metadata!;
  meta.labels = { ...(meta.labels ?? {}) };
  meta.annotations = { ...(meta.annotations ?? {}) };
  meta.finalizers = [JOB_TRACKING_FINALIZER];
  if (index !== undefined) {
    const spec = pod.spec!;
    meta.generateName = `${name}-${index}-`;
    meta.annotations[JOB_COMPLETION_INDEX] = String(index);
    meta.labels[JOB_COMPLETION_INDEX] = String(index);
    // A stable hostname per index lets the pods of an Indexed Job find each other through a headless Service.
    spec.hostname ??= `${name}-${index}`;
    const env: EnvVar = { name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } };
    const withEnv = (c: Container): Container =>
      c.env?.some((e) => e.name === JOB_COMPLETION_INDEX_ENV) ? c : { ...c, env: [...(c.env ?? []), env] };
    spec.containers = spec.containers.map(withEnv);
    if (spec.initContainers) spec.initContainers = spec.initContainers.map(withEnv);
  }
  return pod;
}

/** When a failed pod stopped: its last container's finish time, else its deletion time, else now. */
export function failureTime(p: Pod, now: number): number {
  let latest = 0;
  for (const s of p.status?.containerStatuses ?? []) {
    const at = s.state?.terminated?.finishedAt;
    if (at) latest = Math.max(latest, Date.parse(at));
  }
  if (latest > 0) return latest;
  if (p.metadata?.deletionTimestamp) return Date.parse(p.metadata.deletionTimestamp);
  return now;
}

/** Sum of container restarts: a restartPolicy OnFailure Job's failures that never fail the pod. */
export function restartCount(p: Pod): number {
  let n = 0;
  for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) n += s.restartCount ?? 0;
  return n;
}

/** restartPolicy OnFailure: failures are container restarts, and they count against backoffLimit too. */
export function pastBackoffLimitOnFailure(job: Job, activePods: Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  const limit = job.spec.backoffLimit ?? 6;
  let restarts = 0;
  for (const p of activePods) if (p.status?.phase === 'Running' || p.status?.phase === 'Pending') restarts += restartCount(p);
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

// --- completion index sets, written as status.completedIndexes is: "1,3-5,7" ---

/** Parses "1,3-5,7" into sorted distinct indexes below limit (malformed parts are skipped). */
export function parseIndexes(s: string | undefined, limit: number): number[] {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    for (let i = lo; i <= hi && i < limit; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** Formats indexes as intervals, as kube does: [0,1,2,4,6,7] → "0-2,4,6,7" (a pair is two numbers, not a range). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : j === i + 1 ? `${sorted[i]},${sorted[j]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
