// At most N API calls in flight from one hollow-nodes process: thousands of
// nodes share one connection pool, and a burst (registration, every lease at
// once after a pause) queues here instead of opening a socket per node.
export class Limiter {
  private readonly max: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(max: number) {
    this.max = max;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand our slot straight to the next caller
      else this.active--;
    }
  }
}
