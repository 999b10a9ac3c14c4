// batch/v1 Job and CronJob (pkg/apis/batch/validation).
import type { KubeObject, StatusCause } from '../types.ts';
import { child, goStringMap, invalid, isObject, nonNegative, notSupported, raw, required } from './errors.ts';
import { cronScheduleError, isKnownTimeZone } from './cron.ts';
import { goLabelSelector, selectorMatches, semanticEqual, validateAnnotations, validateLabels, validateLabelSelector } from './meta.ts';
import { validatePodTemplateSpec } from './podspec.ts';

type Obj = Record<string, unknown>;

export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

function specOf(o: KubeObject | undefined): Obj {
  return isObject(o?.spec) ? (o!.spec as Obj) : {};
}

/** validateJobSpec; `isTemplate` for a CronJob's jobTemplate, whose selector is generated later. */
function validateJobSpec(spec: Obj, path: string, isTemplate: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex', 'maxFailedIndexes']) {
    out.push(...nonNegative(child(path, f), spec[f]));
  }
  const mode = spec.completionMode;
  if (mode !== undefined && mode !== null && mode !== 'NonIndexed' && mode !== 'Indexed') {
    out.push(notSupported(child(path, 'completionMode'), mode, ['NonIndexed', 'Indexed']));
  }
  if (mode === 'Indexed') {
    if (spec.completions === undefined || spec.completions === null) out.push(required(child(path, 'completions'), 'when completion mode is Indexed'));
    else if (Number(spec.completions) > 100000) out.push(invalid(child(path, 'completions'), spec.completions, 'must be less than or equal to 100000 when completion mode is Indexed'));
  }
  const prp = spec.podReplacementPolicy;
  if (prp !== undefined && prp !== null && prp !== 'Failed' && prp !== 'TerminatingOrFailed') {
    out.push(notSupported(child(path, 'podReplacementPolicy'), prp, ['Failed', 'TerminatingOrFailed']));
  }
  const template = spec.template as Obj | undefined;
  const labels = ((template?.metadata as Obj | undefined)?.labels ?? undefined) as Record<string, string> | undefined;
  if (!isTemplate || spec.selector) {
    if (!spec.selector) out.push(required(child(path, 'selector')));
    else {
      out.push(...validateLabelSelector(spec.selector, child(path, 'selector')));
      if (!selectorMatches(spec.selector, labels)) {
        out.push(invalid(child(path, 'template', 'metadata', 'labels'), raw(goStringMap(labels)), '`selector` does not match template `labels`'));
      }
    }
  }
  out.push(...validatePodTemplateSpec(template, child(path, 'template')));
  const rp = (template?.spec as Obj | undefined)?.restartPolicy;
  if (isObject(template) && rp !== 'OnFailure' && rp !== 'Never') {
    out.push(notSupported(child(path, 'template', 'spec', 'restartPolicy'), rp ?? '', ['OnFailure', 'Never']));
  }
  return out;
}

export function validateJob(job: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(job);
  const out = validateJobSpec(spec, 'spec', false);
  const uid = job.metadata?.uid;
  if (spec.manualSelector !== true && uid && isObject(spec.selector)) {
    const ml = (spec.selector.matchLabels ?? {}) as Record<string, string>;
    if (ml[CONTROLLER_UID_LABEL] !== uid && !old) out.push(invalid('spec.selector', goLabelSelector(spec.selector), '`selector` not auto-generated'));
  }
  if (old) out.push(...validateJobUpdate(spec, specOf(old), old));
  return out;
}

function validateJobUpdate(spec: Obj, oldSpec: Obj, old: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const elastic = spec.completionMode === 'Indexed' && spec.completions === spec.parallelism && oldSpec.completions === oldSpec.parallelism;
  if (!elastic && !semanticEqual(spec.completions, oldSpec.completions)) out.push(invalid('spec.completions', spec.completions ?? null, 'field is immutable'));
  if (!semanticEqual(spec.selector, oldSpec.selector)) out.push(invalid('spec.selector', goLabelSelector(spec.selector), 'field is immutable'));
  for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy']) {
    if (!semanticEqual(spec[f], oldSpec[f])) out.push(invalid(`spec.${f}`, spec[f] ?? null, 'field is immutable'));
  }
  // A suspended job that never started may have its scheduling directives changed.
  const mutableScheduling = oldSpec.suspend === true && !(old.status as Obj | undefined)?.startTime;
  const strip = (t: unknown): unknown => {
    if (!isObject(t) || !mutableScheduling) return t;
    const podSpec = isObject(t.spec) ? { ...t.spec } : {};
    for (const f of ['nodeSelector', 'tolerations', 'affinity', 'schedulingGates']) delete (podSpec as Obj)[f];
    const { labels: _l, annotations: _a, ...meta } = (isObject(t.metadata) ? t.metadata : {}) as Obj;
    return { ...t, metadata: meta, spec: podSpec };
  };
  if (!semanticEqual(strip(spec.template), strip(oldSpec.template))) {
    out.push(invalid('spec.template', raw('core.PodTemplateSpec{...}'), 'field is immutable'));
  }
  return out;
}

export function validateCronJob(cj: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = specOf(cj);
  const out: StatusCause[] = [];
  const name = cj.metadata?.name ?? '';
  // Job names get an 11-character suffix and must stay DNS-1035 labels.
  if (!old && name.length > 52) out.push(invalid('metadata.name', name, 'must be no more than 52 characters'));
  const schedule = typeof spec.schedule === 'string' ? spec.schedule : '';
  if (!schedule) out.push(required('spec.schedule'));
  else {
    const err = cronScheduleError(schedule);
    if (err) out.push(invalid('spec.schedule', schedule, err));
    if (schedule.includes('TZ')) {
      const oldSchedule = String((old?.spec as Obj | undefined)?.schedule ?? '');
      if (spec.timeZone !== undefined && spec.timeZone !== null) {
        out.push(invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
      } else if (!oldSchedule.includes('TZ')) {
        out.push(invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
      }
    }
  }
  const tz = spec.timeZone;
  if (tz !== undefined && tz !== null) {
    const s = String(tz);
    if (s.length === 0) out.push(invalid('spec.timeZone', s, 'timeZone must be nil or non-empty string'));
    else if (s.toLowerCase() === 'local') out.push(invalid('spec.timeZone', s, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
    else if (!isKnownTimeZone(s)) out.push(invalid('spec.timeZone', s, `unknown time zone ${s}`));
  }
  const cp = spec.concurrencyPolicy;
  if (cp !== undefined && cp !== 'Allow' && cp !== 'Forbid' && cp !== 'Replace') {
    out.push(notSupported('spec.concurrencyPolicy', cp, ['Allow', 'Forbid', 'Replace']));
  }
  for (const f of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) out.push(...nonNegative(`spec.${f}`, spec[f]));
  const jt = spec.jobTemplate;
  if (!isObject(jt)) out.push(required('spec.jobTemplate'));
  else {
    const meta = isObject(jt.metadata) ? jt.metadata : {};
    out.push(...validateLabels(meta.labels, 'spec.jobTemplate.metadata.labels'));
    out.push(...validateAnnotations(meta.annotations, 'spec.jobTemplate.metadata.annotations'));
    const jspec = isObject(jt.spec) ? jt.spec : {};
    out.push(...validateJobSpec(jspec, 'spec.jobTemplate.spec', true));
    if (jspec.manualSelector !== true && jspec.selector) {
      out.push(invalid('spec.jobTemplate.spec.selector', goLabelSelector(jspec.selector), '`selector` will be auto-generated'));
    }
  }
  return out;
}
