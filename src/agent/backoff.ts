// Per-key exponential back-off in the shape of client-go's flowcontrol.Backoff, which kubelet uses
// for crash loops and image pulls: the first failure is retried at once, then each retry waits
// twice as long (10 s, 20 s, ... 5 min); a key untouched for twice the maximum starts over.
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts

interface Entry {
  delayMs: number;
  /** When the last failure happened (ms since the epoch). */
  lastUpdate: number;
}

export class BackOff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly entries = new Map<string, Entry>();

  constructor(initialMs: number, maxMs: number) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  /** The current delay of key (0 when it has none). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Records a failure at eventTime: the delay starts at initialMs or doubles (up to maxMs). */
  next(key: string, eventTime: number): number {
    const e = this.entries.get(key);
    if (!e || eventTime - e.lastUpdate > 2 * this.maxMs) {
      this.entries.set(key, { delayMs: this.initialMs, lastUpdate: eventTime });
      return this.initialMs;
    }
    e.delayMs = Math.min(e.delayMs * 2, this.maxMs);
    e.lastUpdate = eventTime;
    return e.delayMs;
  }

  /** Whether a retry now is too early, eventTime being the failure the delay counts from. */
  isInBackOffSince(key: string, eventTime: number, now = Date.now()): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    if (now - e.lastUpdate > 2 * this.maxMs) return false;
    return now - eventTime < e.delayMs;
  }

  /** Whether a retry now is too early, counting from the last recorded failure. */
  isInBackOffSinceUpdate(key: string, now = Date.now()): boolean {
    const e = this.entries.get(key);
    return !!e && now - e.lastUpdate < e.delayMs;
  }

  /** ms until a retry counting from eventTime is allowed (0 when it already is). */
  remaining(key: string, eventTime: number, now = Date.now()): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, eventTime + e.delayMs - now) : 0;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
