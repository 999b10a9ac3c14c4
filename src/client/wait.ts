// Small timing helpers shared by the informer, leader election and the work queue.

/** Resolves after ms, or early (without throwing) when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** ms scaled by a random factor in [1, 1+factor): client-go's wait.Jitter, so clients don't retry in lockstep. */
export function jitter(ms: number, factor = 0.2): number {
  return ms * (1 + Math.random() * factor);
}

/** Exponential backoff: next() returns initial, 2x, 4x ... up to max; reset() after a success. */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private current: number;

  constructor(initialMs: number, maxMs: number) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.current = initialMs;
  }

  next(): number {
    const d = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return jitter(d);
  }

  reset(): void {
    this.current = this.initialMs;
  }
}
