// A rate-limited work queue of string keys, with client-go's workqueue
// guarantees (https://pkg.go.dev/k8s.io/client-go/util/workqueue):
// - a key added while already queued is queued once (dedup);
// - a key is handed to one worker at a time: added while being processed, it is
//   queued again only when that worker calls done(key);
// - addAfter delays an add; addRateLimited delays it by the rate limiter
//   (per-key exponential backoff plus an overall token bucket); forget resets it.
// Keys are usually "namespace/name" of the object to reconcile.
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly rateLimiter: RateLimiter;
  private shuttingDown = false;
  private drained: (() => void) | undefined;
  readonly name: string;

  constructor(name = 'queue', rateLimiter: RateLimiter = defaultControllerRateLimiter()) {
    this.name = name;
    this.rateLimiter = rateLimiter;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() queues it again
    this.push(key);
  }

  /** Adds key after ms; of several pending delayed adds of one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Adds key after the rate limiter's delay for it (grows with each call until forget). */
  addRateLimited(key: string): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Stops the backoff of key (call after it was processed successfully). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key, waiting for one; undefined once the queue is shut down (and empty). */
  get(): Promise<string | undefined> {
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks key's processing finished; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
    else if (this.processing.size === 0) this.drained?.();
  }

  /** Keys queued (not counting those being processed or waiting for a delay). */
  len(): number {
    return this.queue.length - this.head;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting keys; get() returns undefined to every waiting and later caller once the queue is empty. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /** shutDown, then wait until keys being processed are done. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((r) => (this.drained = r));
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.queue.push(key);
      getter(this.take());
    } else {
      this.queue.push(key);
    }
  }

  private take(): string {
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head); // compact the consumed prefix now and then
      this.head = 0;
    }
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }
}

export interface RunWorkersOptions {
  /** Give up on a key after this many consecutive failures (default: never). */
  maxRetries?: number;
  log?: (message: string) => void;
}

/**
 * n workers that take keys and call sync(key), level-triggered: sync reads the
 * current state (from informer caches) and makes the world match it. On error the
 * key is retried with backoff; on success its backoff is forgotten. Resolves when
 * the queue is shut down and every worker has finished its current key.
 */
export async function runWorkers(queue: WorkQueue, n: number, sync: (key: string) => Promise<void>, opts: RunWorkersOptions = {}): Promise<void> {
  const log = opts.log ?? console.error;
  const worker = async () => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await sync(key);
        queue.forget(key);
      } catch (e) {
        const retries = queue.numRequeues(key);
        if (opts.maxRetries !== undefined && retries >= opts.maxRetries) {
          log(`${queue.name}: dropping ${key} after ${retries + 1} failures: ${(e as Error).message}`);
          queue.forget(key);
        } else {
          log(`${queue.name}: sync ${key} failed (retry ${retries + 1}): ${(e as Error).message}`);
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
}
