// The two timestamp forms Kubernetes objects carry: metav1.Time (RFC 3339, whole
// seconds, e.g. creationTimestamp) and metav1.MicroTime (six fractional digits,
// e.g. a Lease's renewTime or an Event's eventTime).

/** metav1.Time: RFC 3339 in UTC, truncated to the second. */
export function rfc3339(t: Date | number | string = new Date()): string {
  const d = t instanceof Date ? t : new Date(t);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime: RFC 3339 in UTC with microseconds (JS dates have milliseconds). */
export function microTime(t: Date | number = new Date()): string {
  const d = t instanceof Date ? t : new Date(t);
  return d.toISOString().replace(/Z$/, '000Z');
}
