// batch/v1 Job and CronJob (pkg/apis/batch/validation).
import type { KubeObject, StatusCause } from '../types.ts';
import { child, duplicate, goStringMap, index, invalid, invalidEach, isObject, nonNegative, notSupported, raw, required, tooLong } from './errors.ts';
import { isQualifiedName } from './names.ts';
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
  if (isSet(spec.maxFailedIndexes) && !isSet(spec.backoffLimitPerIndex)) {
    out.push(required(child(path, 'backoffLimitPerIndex'), 'when maxFailedIndexes is specified'));
  }
  const mode = spec.completionMode;
  if (mode !== undefined && mode !== null && mode !== 'NonIndexed' && mode !== 'Indexed') {
    out.push(notSupported(child(path, 'completionMode'), mode, ['NonIndexed', 'Indexed']));
  }
  if (mode === 'Indexed') out.push(...validateIndexedLimits(spec, path));
  if (!isSet(mode) || mode === 'NonIndexed') {
    for (const f of ['backoffLimitPerIndex', 'maxFailedIndexes']) {
      if (isSet(spec[f])) out.push(invalid(child(path, f), spec[f], 'requires indexed completion mode'));
    }
  }
  if (isObject(spec.podFailurePolicy)) out.push(...validatePodFailurePolicy(spec, child(path, 'podFailurePolicy')));
  if (isObject(spec.successPolicy)) {
    if (mode !== 'Indexed') out.push(invalid(child(path, 'successPolicy'), raw('batch.SuccessPolicy{...}'), 'requires indexed completion mode'));
    else out.push(...validateSuccessPolicy(spec, child(path, 'successPolicy')));
  }
  const prp = spec.podReplacementPolicy;
  if (isSet(prp)) {
    // A podFailurePolicy needs a failed pod's final state, so only Failed pods are replaced.
    if (spec.podFailurePolicy) {
      if (prp !== 'Failed') out.push(notSupported(child(path, 'podReplacementPolicy'), prp, ['Failed']));
    } else if (prp !== 'Failed' && prp !== 'TerminatingOrFailed') {
      out.push(notSupported(child(path, 'podReplacementPolicy'), prp, ['Failed', 'TerminatingOrFailed']));
    }
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
  } else if (spec.podFailurePolicy && rp !== 'Never') {
    out.push(invalid(child(path, 'template', 'spec', 'restartPolicy'), rp, 'only "Never" is supported when podFailurePolicy is specified'));
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
  for (const f of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy']) {
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

// --- Indexed Job limits, podFailurePolicy and successPolicy (pkg/apis/batch/validation) ---

const MAX_PARALLELISM_INDEXED = 100_000;
const MAX_FAILED_INDEXES = 100_000;
const COMPLETIONS_SOFT_LIMIT = 100_000;
const LIMIT_FOR_HIGH_COMPLETIONS = 10_000;
const MAX_POD_FAILURE_POLICY_RULES = 20;
const MAX_ON_EXIT_CODES_VALUES = 255;
const MAX_ON_POD_CONDITIONS = 20;
const MAX_SUCCESS_POLICY_RULES = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;
const POD_FAILURE_POLICY_ACTIONS = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
const ON_EXIT_CODES_OPERATORS = ['In', 'NotIn'];
const CONDITION_STATUSES = ['False', 'True', 'Unknown'];

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Go's %q of a []string, as in "valid values: [\"a\" \"b\"]". */
function goQuotedList(values: string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

/** Go's %#v of a []int32. */
function goInt32s(v: unknown): unknown {
  if (!Array.isArray(v)) return raw('[]int32(nil)');
  return raw(`[]int32{${v.join(', ')}}`);
}

function tooMany(field: string, actual: number, max: number): StatusCause {
  return { reason: 'FieldValueTooMany', field, message: `Too many: ${actual}: must have at most ${max} items` };
}

/** field.Invalid with field.OmitValue(): the message carries no value. */
function invalidOmitValue(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${detail}` };
}

function validateIndexedLimits(spec: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const { completions, parallelism, maxFailedIndexes } = spec as Record<string, number | undefined | null>;
  if (!isSet(completions)) out.push(required(child(path, 'completions'), 'when completion mode is Indexed'));
  if (isSet(parallelism) && parallelism! > MAX_PARALLELISM_INDEXED) {
    out.push(invalid(child(path, 'parallelism'), parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
  }
  if (isSet(completions) && isSet(maxFailedIndexes) && maxFailedIndexes! > completions!) {
    out.push(invalid(child(path, 'maxFailedIndexes'), maxFailedIndexes, 'must be less than or equal to completions'));
  }
  if (isSet(maxFailedIndexes) && maxFailedIndexes! > MAX_FAILED_INDEXES) {
    out.push(invalid(child(path, 'maxFailedIndexes'), maxFailedIndexes, `must be less than or equal to ${MAX_FAILED_INDEXES}`));
  }
  if (isSet(completions) && completions! > COMPLETIONS_SOFT_LIMIT && isSet(spec.backoffLimitPerIndex)) {
    const why = `when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`;
    if (!isSet(maxFailedIndexes)) out.push(required(child(path, 'maxFailedIndexes'), `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`));
    if (isSet(parallelism) && parallelism! > LIMIT_FOR_HIGH_COMPLETIONS) {
      out.push(invalid(child(path, 'parallelism'), parallelism, `must be less than or equal to ${LIMIT_FOR_HIGH_COMPLETIONS} ${why}`));
    }
    if (isSet(maxFailedIndexes) && maxFailedIndexes! > LIMIT_FOR_HIGH_COMPLETIONS) {
      out.push(invalid(child(path, 'maxFailedIndexes'), maxFailedIndexes, `must be less than or equal to ${LIMIT_FOR_HIGH_COMPLETIONS} ${why}`));
    }
  }
  return out;
}

function validatePodFailurePolicy(spec: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const rules = Array.isArray((spec.podFailurePolicy as Obj).rules) ? ((spec.podFailurePolicy as Obj).rules as unknown[]) : [];
  const rulesPath = child(path, 'rules');
  if (rules.length > MAX_POD_FAILURE_POLICY_RULES) out.push(tooMany(rulesPath, rules.length, MAX_POD_FAILURE_POLICY_RULES));
  const podSpec = ((spec.template as Obj | undefined)?.spec ?? {}) as Obj;
  const containerNames = new Set<string>();
  for (const list of [podSpec.containers, podSpec.initContainers]) {
    if (Array.isArray(list)) for (const c of list) if (isObject(c) && typeof c.name === 'string') containerNames.add(c.name);
  }
  for (const [i, r] of rules.entries()) {
    const rule = (isObject(r) ? r : {}) as Obj;
    const rulePath = index(rulesPath, i);
    const actionPath = child(rulePath, 'action');
    const action = rule.action;
    if (!isSet(action) || action === '') out.push(required(actionPath, `valid values: ${goQuotedList(POD_FAILURE_POLICY_ACTIONS)}`));
    else if (action === 'FailIndex') {
      if (!isSet(spec.backoffLimitPerIndex)) out.push(invalid(actionPath, action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!POD_FAILURE_POLICY_ACTIONS.includes(String(action))) out.push(notSupported(actionPath, action, POD_FAILURE_POLICY_ACTIONS));
    const onExitCodes = isObject(rule.onExitCodes) ? rule.onExitCodes : undefined;
    const onPodConditions = Array.isArray(rule.onPodConditions) ? rule.onPodConditions : [];
    if (onExitCodes) out.push(...validateOnExitCodes(onExitCodes, child(rulePath, 'onExitCodes'), containerNames));
    if (onPodConditions.length > 0) out.push(...validateOnPodConditions(onPodConditions, child(rulePath, 'onPodConditions')));
    if (onExitCodes && onPodConditions.length > 0) out.push(invalidOmitValue(rulePath, 'specifying both OnExitCodes and OnPodConditions is not supported'));
    if (!onExitCodes && onPodConditions.length === 0) out.push(invalidOmitValue(rulePath, 'specifying one of OnExitCodes and OnPodConditions is required'));
  }
  return out;
}

function validateOnPodConditions(patterns: unknown[], path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (patterns.length > MAX_ON_POD_CONDITIONS) out.push(tooMany(path, patterns.length, MAX_ON_POD_CONDITIONS));
  for (const [j, p] of patterns.entries()) {
    const pattern = (isObject(p) ? p : {}) as Obj;
    const patternPath = index(path, j);
    const type = String(pattern.type ?? '');
    out.push(...invalidEach(child(patternPath, 'type'), type, isQualifiedName(type)));
    const status = pattern.status;
    if (!isSet(status) || status === '') out.push(required(child(patternPath, 'status'), `valid values: ${goQuotedList(CONDITION_STATUSES)}`));
    else if (!CONDITION_STATUSES.includes(String(status))) out.push(notSupported(child(patternPath, 'status'), status, CONDITION_STATUSES));
  }
  return out;
}

function validateOnExitCodes(req: Obj, path: string, containerNames: Set<string>): StatusCause[] {
  const out: StatusCause[] = [];
  const opPath = child(path, 'operator');
  const op = req.operator;
  if (!isSet(op) || op === '') out.push(required(opPath, `valid values: ${goQuotedList(ON_EXIT_CODES_OPERATORS)}`));
  else if (!ON_EXIT_CODES_OPERATORS.includes(String(op))) out.push(notSupported(opPath, op, ON_EXIT_CODES_OPERATORS));
  if (isSet(req.containerName) && !containerNames.has(String(req.containerName))) {
    out.push(invalid(child(path, 'containerName'), req.containerName, 'must be one of the container or initContainer names in the pod template'));
  }
  const valuesPath = child(path, 'values');
  const values = Array.isArray(req.values) ? (req.values as number[]) : [];
  if (values.length === 0) out.push(invalid(valuesPath, goInt32s(req.values), 'at least one value is required'));
  else if (values.length > MAX_ON_EXIT_CODES_VALUES) out.push(tooMany(valuesPath, values.length, MAX_ON_EXIT_CODES_VALUES));
  const seen = new Set<number>();
  let ordered = true;
  for (const [j, v] of values.entries()) {
    if (op === 'In' && v === 0) out.push(invalid(index(valuesPath, j), v, 'must not be 0 for the In operator'));
    if (seen.has(v)) out.push(duplicate(index(valuesPath, j), v));
    else seen.add(v);
    if (j > 0 && values[j - 1] > v) ordered = false;
  }
  if (!ordered) out.push(invalid(valuesPath, goInt32s(values), 'must be ordered'));
  return out;
}

function validateSuccessPolicy(spec: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const rules = Array.isArray((spec.successPolicy as Obj).rules) ? ((spec.successPolicy as Obj).rules as unknown[]) : [];
  const rulesPath = child(path, 'rules');
  if (rules.length === 0) out.push(required(rulesPath, 'at least one rules must be specified when the successPolicy is specified'));
  if (rules.length > MAX_SUCCESS_POLICY_RULES) out.push(tooMany(rulesPath, rules.length, MAX_SUCCESS_POLICY_RULES));
  const completions = Number(spec.completions ?? 0);
  for (const [i, r] of rules.entries()) {
    const rule = (isObject(r) ? r : {}) as Obj;
    const rulePath = index(rulesPath, i);
    if (!isSet(rule.succeededCount) && !isSet(rule.succeededIndexes)) {
      out.push(required(rulePath, 'at least one of succeededCount or succeededIndexes must be specified'));
    }
    let total = 0;
    if (isSet(rule.succeededIndexes)) {
      const p = child(rulePath, 'succeededIndexes');
      const str = String(rule.succeededIndexes);
      if (str.length > MAX_SUCCEEDED_INDEXES_LENGTH) out.push(tooLong(p, MAX_SUCCEEDED_INDEXES_LENGTH));
      const parsed = indexesFormat(str, completions);
      if (typeof parsed === 'string') out.push(invalid(p, str, `error parsing succeededIndexes: ${parsed}`));
      else total = parsed;
    }
    if (isSet(rule.succeededCount)) {
      const p = child(rulePath, 'succeededCount');
      const count = Number(rule.succeededCount);
      out.push(...nonNegative(p, count));
      if (count > completions) out.push(invalid(p, count, `must be less than or equal to ${completions} (the number of specified completions)`));
      if (isSet(rule.succeededIndexes) && count > total) {
        out.push(invalid(p, count, `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`));
      }
    }
  }
  return out;
}

/** The number of indexes in "1,3-5" below completions, or the error as upstream words it (validateIndexesFormat). */
function indexesFormat(s: string, completions: number): number | string {
  if (s === '') return 0;
  let last: number | undefined;
  let total = 0;
  for (const interval of s.split(',')) {
    const parts = interval.split('-');
    if (parts.length > 2) return `the fragment ${JSON.stringify(interval)} violates the requirement that an index interval can have at most two parts separated by '-'`;
    const nums: number[] = [];
    for (const part of parts) {
      if (!/^[+-]?\d+$/.test(part)) return `cannot convert string to integer for index: ${JSON.stringify(part)}`;
      const n = Number(part);
      if (n >= completions) return `too large index: ${JSON.stringify(part)}`;
      nums.push(n);
    }
    const [x, y = nums[0]] = nums;
    if (nums.length === 2 && x >= y) return `non-increasing order, previous: ${x}, current: ${y}`;
    if (last !== undefined && last >= x) return `non-increasing order, previous: ${last}, current: ${x}`;
    total += y - x + 1;
    last = y;
  }
  return total;
}
