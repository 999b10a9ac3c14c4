// Cron schedules as CronJobs accept them: the five standard fields or a descriptor
// (@hourly ...), with the errors of the robfig/cron parser Kubernetes uses.
// https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { min: 0, max: 59 }, // minute
  { min: 0, max: 23 }, // hour
  { min: 1, max: 31 }, // day of month
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];

/** The parse error for a schedule, or undefined when it parses. */
export function cronScheduleError(schedule: string): string | undefined {
  let spec = schedule.trim();
  const tz = /^(CRON_TZ|TZ)=(\S+)\s*(.*)$/.exec(spec);
  if (tz) spec = tz[3].trim();
  if (spec.startsWith('@')) {
    if (DESCRIPTORS.has(spec)) return undefined;
    if (spec.startsWith('@every ')) {
      return /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(spec.slice(7).trim())
        ? undefined
        : `failed to parse duration ${spec}: time: invalid duration "${spec.slice(7).trim()}"`;
    }
    return `unrecognized descriptor: ${spec}`;
  }
  const fields = spec.split(/\s+/).filter((f) => f.length > 0);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`;
  for (let i = 0; i < 5; i++) {
    for (const expr of fields[i].split(',')) {
      const err = parseRange(expr, FIELDS[i], i === 2 || i === 4);
      if (err) return err;
    }
  }
  return undefined;
}

function parseRange(expr: string, b: Bounds, questionOk: boolean): string | undefined {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  if (lowAndHigh[0] === '*' || (questionOk && lowAndHigh[0] === '?')) {
    start = b.min;
    end = b.max;
  } else {
    const s = parseIntOrName(lowAndHigh[0], b.names);
    if (typeof s === 'string') return s;
    start = s;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const e = parseIntOrName(lowAndHigh[1], b.names);
      if (typeof e === 'string') return e;
      end = e;
    } else return `too many hyphens: ${expr}`;
  }
  if (rangeAndStep.length === 2) {
    const step = parseInt0(rangeAndStep[1]);
    if (typeof step === 'string') return step;
    if (single) end = b.max;
    if (step <= 0) return `step of range should be a positive number: ${expr}`;
  } else if (rangeAndStep.length > 2) return `too many slashes: ${expr}`;
  if (start < b.min) return `beginning of range (${start}) below minimum (${b.min}): ${expr}`;
  if (end > b.max) return `end of range (${end}) above maximum (${b.max}): ${expr}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${expr}`;
  return undefined;
}

function parseIntOrName(s: string, names?: Record<string, number>): number | string {
  const n = names?.[s.toLowerCase()];
  return n !== undefined ? n : parseInt0(s);
}

function parseInt0(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `failed to parse int from ${s}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`;
  const n = Number(s);
  if (n < 0) return `negative number (${n}) not allowed: ${s}`;
  return n;
}

let zones: Set<string> | undefined;

/** Whether a name is an IANA time zone Go's time.LoadLocation would load. */
export function isKnownTimeZone(tz: string): boolean {
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(tz) || tz === 'UTC' || tz === 'GMT' || /^Etc\/(UTC|GMT([+-](1[0-4]|[0-9]))?|Universal|Zulu|Greenwich|UCT)$/.test(tz)) return true;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone.toLowerCase() === tz.toLowerCase() && /^[A-Z]/.test(tz);
  } catch {
    return false; // RangeError: not a time zone this runtime knows
  }
}
