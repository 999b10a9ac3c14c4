// How long a failed key waits before its retry: client-go's
// DefaultControllerRateLimiter, the max of a per-key exponential backoff
// (5 ms doubling to 1000 s) and an overall token bucket (10 qps, burst 100)
// that keeps a storm of failures from hammering the API server.
// TokenBucket is the non-blocking kind (TryAccept) for rates such as node evictions.

export interface RateLimiter {
  /** Delay in ms before key may be retried; counts a failure. */
  when(key: string): number;
  /** Forget the key's failures (after a success). */
  forget(key: string): void;
  numRequeues(key: string): number;
}

export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs = 5, maxMs = 1000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** Token bucket: `burst` tokens, refilled at `qps`; a reservation past empty waits for its token. */
export class BucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(qps = 10, burst = 100, now: () => number = Date.now) {
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }

  when(_key: string): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1; // may go negative: later reservations queue up behind this one
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/**
 * A token bucket of burst 1 asked without waiting (flowcontrol.NewTokenBucketRateLimiter(qps, 1)
 * with TryAccept): the node lifecycle controller's per-zone eviction rate. qps <= 0 never accepts.
 */
export class TokenBucket {
  readonly qps: number;
  private tokens: number;
  private last: number;
  constructor(qps: number, now = Date.now(), full = true) {
    this.qps = qps;
    this.tokens = full && qps > 0 ? 1 : 0;
    this.last = now;
  }
  tryAccept(now = Date.now()): boolean {
    if (this.qps <= 0) return false;
    this.tokens = this.available(now);
    this.last = Math.max(this.last, now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** Whether a token is available, without taking it. */
  ready(now = Date.now()): boolean {
    return this.qps > 0 && this.available(now) >= 1;
  }
  private available(now: number): number {
    return Math.min(1, this.tokens + (Math.max(0, now - this.last) / 1000) * this.qps);
  }
}

/** The longest delay any of the limiters asks for. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(...this.limiters.map((l) => l.numRequeues(key)));
  }
}

export function defaultControllerRateLimiter(): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1000_000), new BucketRateLimiter(10, 100));
}
