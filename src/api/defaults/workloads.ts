// Defaults of apps/v1 and batch/v1 workloads (pkg/apis/apps/v1/defaults.go,
// pkg/apis/batch/v1/defaults.go), with the Job selector the job strategy generates.
import type { KubeObject } from '../types.ts';
import { isNew } from './pod.ts';
import { defaultPodTemplate, defaultPVCSpec } from './podspec.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function spec(obj: KubeObject): Obj {
  if (!isObj(obj.spec)) obj.spec = {};
  return obj.spec as Obj;
}
function orDefault(o: Obj, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

export function defaultDeployment(d: KubeObject): void {
  const s = spec(d);
  orDefault(s, 'replicas', 1);
  const strategy = (isObj(s.strategy) ? s.strategy : (s.strategy = {})) as Obj;
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = (isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {})) as Obj;
    orDefault(ru, 'maxUnavailable', '25%');
    orDefault(ru, 'maxSurge', '25%');
  }
  orDefault(s, 'revisionHistoryLimit', 10);
  orDefault(s, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(s.template);
}

export function defaultReplicaSet(rs: KubeObject): void {
  const s = spec(rs);
  orDefault(s, 'replicas', 1);
  defaultPodTemplate(s.template);
}

export function defaultDaemonSet(ds: KubeObject): void {
  const s = spec(ds);
  const us = (isObj(s.updateStrategy) ? s.updateStrategy : (s.updateStrategy = {})) as Obj;
  if (!us.type) us.type = 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = (isObj(us.rollingUpdate) ? us.rollingUpdate : (us.rollingUpdate = {})) as Obj;
    orDefault(ru, 'maxUnavailable', 1);
    orDefault(ru, 'maxSurge', 0);
  }
  orDefault(s, 'revisionHistoryLimit', 10);
  defaultPodTemplate(s.template);
}

export function defaultStatefulSet(sts: KubeObject): void {
  const s = spec(sts);
  if (!s.podManagementPolicy) s.podManagementPolicy = 'OrderedReady';
  const us = (isObj(s.updateStrategy) ? s.updateStrategy : (s.updateStrategy = {})) as Obj;
  if (!us.type) {
    us.type = 'RollingUpdate';
    if (!isObj(us.rollingUpdate)) us.rollingUpdate = {};
  }
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate)) orDefault(us.rollingUpdate, 'partition', 0);
  const policy = (isObj(s.persistentVolumeClaimRetentionPolicy) ? s.persistentVolumeClaimRetentionPolicy : (s.persistentVolumeClaimRetentionPolicy = {})) as Obj;
  if (!policy.whenDeleted) policy.whenDeleted = 'Retain';
  if (!policy.whenScaled) policy.whenScaled = 'Retain';
  orDefault(s, 'replicas', 1);
  orDefault(s, 'revisionHistoryLimit', 10);
  defaultPodTemplate(s.template);
  if (Array.isArray(s.volumeClaimTemplates)) {
    for (const t of s.volumeClaimTemplates as Obj[]) {
      if (!isObj(t)) continue;
      // Embedded PVCs are full objects: kube-apiserver fills in their type and initial status.
      if (!t.apiVersion) t.apiVersion = 'v1';
      if (!t.kind) t.kind = 'PersistentVolumeClaim';
      if (!isObj(t.spec)) t.spec = {};
      defaultPVCSpec(t.spec as Obj);
      const st = (isObj(t.status) ? t.status : (t.status = {})) as Obj;
      if (!st.phase) st.phase = 'Pending';
    }
  }
}

export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

function defaultJobSpec(s: Obj): void {
  if ((s.completions === undefined || s.completions === null) && (s.parallelism === undefined || s.parallelism === null)) {
    s.completions = 1;
    s.parallelism = 1;
  }
  orDefault(s, 'parallelism', 1);
  if (s.backoffLimit === undefined || s.backoffLimit === null) s.backoffLimit = s.backoffLimitPerIndex !== undefined && s.backoffLimitPerIndex !== null ? 2147483647 : 6;
  orDefault(s, 'completionMode', 'NonIndexed');
  orDefault(s, 'suspend', false);
  orDefault(s, 'podReplacementPolicy', s.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed');
  // A podFailurePolicy condition pattern without a status matches the condition being True.
  const rules = isObj(s.podFailurePolicy) && Array.isArray(s.podFailurePolicy.rules) ? s.podFailurePolicy.rules : [];
  for (const rule of rules) {
    if (!isObj(rule) || !Array.isArray(rule.onPodConditions)) continue;
    for (const pattern of rule.onPodConditions) if (isObj(pattern) && !pattern.status) pattern.status = 'True';
  }
  orDefault(s, 'manualSelector', false);
}

export function defaultJob(job: KubeObject): void {
  const s = spec(job);
  defaultJobSpec(s);
  const uid = job.metadata?.uid;
  if (s.manualSelector !== true && uid && isNew(job)) generateJobSelector(job, s, uid);
  const template = (isObj(s.template) ? s.template : (s.template = {})) as Obj;
  const tmeta = isObj(template.metadata) ? template.metadata : undefined;
  const tlabels = tmeta && isObj(tmeta.labels) ? (tmeta.labels as Record<string, string>) : undefined;
  if (tlabels && job.metadata && Object.keys(job.metadata.labels ?? {}).length === 0) job.metadata.labels = { ...tlabels };
  defaultPodTemplate(s.template);
}

/** The labels and selector the job strategy adds so the Job's pods are its own. */
function generateJobSelector(job: KubeObject, s: Obj, uid: string): void {
  const template = (isObj(s.template) ? s.template : (s.template = {})) as Obj;
  const meta = (isObj(template.metadata) ? template.metadata : (template.metadata = {})) as Obj;
  const labels = (isObj(meta.labels) ? meta.labels : (meta.labels = {})) as Obj;
  const name = job.metadata?.name ?? '';
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!Object.hasOwn(labels, k)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!Object.hasOwn(labels, k)) labels[k] = uid;
  const sel = (isObj(s.selector) ? s.selector : (s.selector = {})) as Obj;
  const ml = (isObj(sel.matchLabels) ? sel.matchLabels : (sel.matchLabels = {})) as Obj;
  if (!Object.hasOwn(ml, CONTROLLER_UID_LABEL)) ml[CONTROLLER_UID_LABEL] = uid;
}

export function defaultCronJob(cj: KubeObject): void {
  const s = spec(cj);
  if (!s.concurrencyPolicy) s.concurrencyPolicy = 'Allow';
  orDefault(s, 'suspend', false);
  orDefault(s, 'successfulJobsHistoryLimit', 3);
  orDefault(s, 'failedJobsHistoryLimit', 1);
  const jt = s.jobTemplate;
  if (isObj(jt) && isObj(jt.spec)) defaultPodTemplate((jt.spec as Obj).template);
}
