// Cron schedule arithmetic for the CronJob controller: the five standard fields
// or a descriptor (@hourly ...), in a time zone (spec.timeZone, or CRON_TZ=/TZ=
// in the schedule, else UTC), with the matching rules of robfig/cron which
// Kubernetes uses: day-of-month and day-of-week are ANDed when either field
// starts with * or ?, ORed otherwise.
// https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
//
// Times are epoch milliseconds. Wall-clock times of the zone are handled as
// "wall ms" (the wall time read as if it were UTC) so that field arithmetic is
// plain Date.UTC; they are mapped back to instants at the end. A wall time that
// a DST jump skips runs at the same wall time with the old offset (2:30 → 3:30),
// as Go's time.Date does; a repeated wall time runs at its first occurrence.
import { cronScheduleError } from '../api/validation/cron.ts';
import { parseGoDuration } from '../api/time.ts';

export interface CronFields {
  kind: 'cron';
  minutes: Set<number>;
  hours: Set<number>;
  doms: Set<number>;
  months: Set<number>; // 1-12
  dows: Set<number>; // 0-6, Sunday 0
  /** The field started with * or ? (robfig's star bit): day matching ANDs instead of ORs. */
  domStar: boolean;
  dowStar: boolean;
  timeZone: string;
}

/** @every <duration>: fixed intervals from the previous run. */
export interface CronEvery {
  kind: 'every';
  everyMs: number;
  timeZone: string;
}

export type CronSchedule = CronFields | CronEvery;

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const BOUNDS: [number, number, Record<string, number>?][] = [[0, 59], [0, 23], [1, 31], [1, 12, MONTHS], [0, 6, DAYS]];
const MINUTE = 60_000;
const DAY = 86_400_000;
/** Searches give up after this much wall time (robfig: 5 years), e.g. for "0 0 30 2 *". */
const SEARCH_LIMIT = 5 * 366 * DAY;

/** Parses a CronJob schedule; timeZone (spec.timeZone) wins over CRON_TZ= in the schedule. Throws with the parser's message. */
export function parseSchedule(schedule: string, timeZone?: string | null): CronSchedule {
  const err = cronScheduleError(schedule);
  if (err) throw new Error(err);
  let spec = schedule.trim();
  let tz = 'UTC';
  const m = /^(?:CRON_TZ|TZ)=(\S+)\s*(.*)$/.exec(spec);
  if (m) {
    tz = m[1];
    spec = m[2].trim();
  }
  if (timeZone) tz = timeZone;
  wallFormatter(tz); // throws on an unknown zone
  if (spec.startsWith('@every ')) return { kind: 'every', everyMs: Math.max(1000, (parseGoDuration(spec.slice(7)) ?? 0) / 1e6), timeZone: tz };
  const fields = (DESCRIPTORS[spec] ?? spec).split(/\s+/);
  const sets = fields.map((f, i) => parseField(f, BOUNDS[i]));
  return {
    kind: 'cron', minutes: sets[0].set, hours: sets[1].set, doms: sets[2].set, months: sets[3].set, dows: sets[4].set,
    domStar: sets[2].star, dowStar: sets[4].star, timeZone: tz,
  };
}

function parseField(field: string, [min, max, names]: [number, number, Record<string, number>?]): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  const num = (s: string) => names?.[s.toLowerCase()] ?? Number(s);
  for (const expr of field.split(',')) {
    const [range, stepStr] = expr.split('/');
    const step = stepStr === undefined ? 1 : Number(stepStr);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [min, max];
      if (step === 1) star = true; // "*/2" is not a star for day matching
    } else {
      const [a, b] = range.split('-');
      lo = num(a);
      hi = b !== undefined ? num(b) : stepStr !== undefined ? max : lo;
    }
    for (let v = lo; v <= hi; v += step) set.add(v);
  }
  return { set, star };
}


// --- time zones ---

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallFormatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time (to the minute) at instant t in tz, as wall ms. */
export function wallOf(t: number, tz: string): number {
  if (tz === 'UTC') return t - mod(t, MINUTE);
  const p: Record<string, number> = {};
  for (const part of wallFormatter(tz).formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
}

/** The zone's offset from UTC at instant t, in ms. */
export function offsetAt(t: number, tz: string): number {
  return wallOf(t, tz) - (t - mod(t, MINUTE));
}

/** The instants at which tz's clocks show wall: none → (a DST gap) the time with the earlier offset. */
function instantsOf(wall: number, tz: string): number[] {
  if (tz === 'UTC') return [wall];
  const candidates = [...new Set([wall - offsetAt(wall - DAY, tz), wall - offsetAt(wall + DAY, tz)])].sort((a, b) => a - b);
  const valid = candidates.filter((c) => wallOf(c, tz) === wall);
  return valid.length ? valid : [wall - offsetAt(wall - DAY, tz)];
}

const mod = (a: number, b: number) => ((a % b) + b) % b;

// --- searching ---

function dayMatches(s: CronFields, d: Date): boolean {
  const dom = s.doms.has(d.getUTCDate());
  const dow = s.dows.has(d.getUTCDay());
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

/** The first schedule time strictly after t (undefined if none within 5 years). */
export function nextAfter(s: CronSchedule, t: number): number | undefined {
  if (s.kind === 'every') return t - mod(t, 1000) + s.everyMs;
  const start = wallOf(t, s.timeZone) + MINUTE;
  for (let w = start; w - start < SEARCH_LIMIT;) {
    const d = new Date(w);
    const [y, mo, day, h] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()];
    if (!s.months.has(mo + 1)) w = Date.UTC(y, mo + 1, 1);
    else if (!dayMatches(s, d)) w = Date.UTC(y, mo, day + 1);
    else if (!s.hours.has(h)) w = Date.UTC(y, mo, day, h + 1);
    else if (!s.minutes.has(d.getUTCMinutes())) w += MINUTE;
    else {
      const at = instantsOf(w, s.timeZone).find((i) => i > t);
      if (at !== undefined) return at;
      w += MINUTE;
    }
  }
  return undefined;
}

/** The last schedule time at or before t (undefined if none within 5 years). */
export function atOrBefore(s: CronFields, t: number): number | undefined {
  const start = wallOf(t, s.timeZone);
  for (let w = start; start - w < SEARCH_LIMIT;) {
    const d = new Date(w);
    const [y, mo, day, h] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()];
    if (!s.months.has(mo + 1)) w = Date.UTC(y, mo, 1) - MINUTE;
    else if (!dayMatches(s, d)) w = Date.UTC(y, mo, day) - MINUTE;
    else if (!s.hours.has(h)) w = Date.UTC(y, mo, day, h) - MINUTE;
    else if (!s.minutes.has(d.getUTCMinutes())) w -= MINUTE;
    else {
      const at = instantsOf(w, s.timeZone).filter((i) => i <= t).pop();
      if (at !== undefined) return at;
      w -= MINUTE;
    }
  }
  return undefined;
}

/**
 * The most recent schedule time in (earliest, now], and how many schedule times
 * fall in that window (counted up to 101: CronJobs warn beyond 100 missed starts).
 */
export function mostRecentScheduleTime(s: CronSchedule, earliest: number, now: number): { time: number | undefined; missed: number } {
  const first = nextAfter(s, earliest);
  if (first === undefined || first > now) return { time: undefined, missed: 0 };
  if (s.kind === 'every') {
    const n = Math.floor((now - first) / s.everyMs);
    return { time: first + n * s.everyMs, missed: n + 1 };
  }
  let missed = 0;
  for (let t: number | undefined = first; t !== undefined && t <= now && missed <= 100; t = nextAfter(s, t)) missed++;
  return { time: atOrBefore(s, now), missed };
}

/** RFC 3339 to the second, with the zone's offset (Z for UTC), as Go formats time.RFC3339. */
export function formatInZone(t: number, tz: string): string {
  const secs = t - mod(t, 1000);
  if (tz === 'UTC') return new Date(secs).toISOString().replace('.000Z', 'Z');
  const off = offsetAt(secs, tz);
  const local = new Date(secs + off).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const a = Math.abs(off) / MINUTE;
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}
