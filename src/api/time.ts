// The two timestamp forms Kubernetes objects carry: metav1.Time (RFC 3339, whole
// seconds, e.g. creationTimestamp) and metav1.MicroTime (six fractional digits,
// e.g. a Lease's renewTime or an Event's eventTime).

// Every write stamps the current second (creationTimestamp, managedFields time), many times per
// second: the last second's text is kept.
let lastSecond = NaN;
let lastText = '';

/** metav1.Time: RFC 3339 in UTC, truncated to the second. */
export function rfc3339(t: Date | number | string = Date.now()): string {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : new Date(t).getTime();
  const second = Math.floor(ms / 1000);
  if (second === lastSecond) return lastText;
  const text = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); // throws RangeError on an invalid time, as before
  lastSecond = second;
  lastText = text;
  return text;
}

/** metav1.MicroTime: RFC 3339 in UTC with microseconds (JS dates have milliseconds). */
export function microTime(t: Date | number = new Date()): string {
  const d = t instanceof Date ? t : new Date(t);
  return d.toISOString().replace(/Z$/, '000Z');
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

/**
 * Go's time.ParseDuration ("1h30m", "500ms", "-2s", "0") in nanoseconds, or undefined when
 * the text is not a duration. Kubernetes writes durations this way in flags, metav1.Duration
 * and annotations.
 */
export function parseGoDuration(text: string): number | undefined {
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(text.trim());
  if (!m) return undefined;
  let ns = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ns += Number(part[1]) * DURATION_UNITS[part[2]];
  return m[1] === '-' ? -ns : ns;
}
