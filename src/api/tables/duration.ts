// Ages as kubectl shows them: k8s.io/apimachinery/pkg/util/duration.HumanDuration,
// about two significant figures ("45s", "3m20s", "2d3h", "400d", "3y20d").

/** HumanDuration of a span in milliseconds. */
export function humanDuration(ms: number): string {
  // Go's int(d.Seconds()) truncates toward zero; up to 2s in the future reads as "0s" (clock skew).
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** A metav1.Time / MicroTime as RFC 3339 text, or undefined when unset (Go's zero time). */
export function parseTime(t: unknown): Date | undefined {
  if (typeof t !== 'string' || t === '') return undefined;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** translateTimestampSince: the age of a timestamp, `<unknown>` when it is unset. */
export function since(t: unknown, now: Date): string {
  const d = parseTime(t);
  return d ? humanDuration(now.getTime() - d.getTime()) : '<unknown>';
}

/** metav1.Time's RFC 3339 form in UTC (whole seconds), as the default table's "Created At" shows it. */
export function rfc3339(t: unknown): string {
  const d = parseTime(t);
  // Go formats the zero time as 0001-01-01T00:00:00Z.
  return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '0001-01-01T00:00:00Z';
}
