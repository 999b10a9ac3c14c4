// How many pods the agent brings up at once. Creating a sandbox and starting its containers is
// CPU-bound in the runtime (runc, conmon, CNI); when 100 pods start together every one of them
// finishes late. Taking them a few at a time, first come first served, lets the early pods run
// early and the last ones no later than before (kubelet bounds parallel image pulls the same way:
// https://kubernetes.io/docs/concepts/containers/images/#maximum-parallel-image-pulls).

/** Pods whose sandbox and containers may be started at the same time. */
export const DEFAULT_START_SLOTS = 6;

/** A FIFO counting semaphore. */
export class StartSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(slots = DEFAULT_START_SLOTS) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`start slots must be a positive integer, got ${slots}`);
    this.free = slots;
  }

  /** Waits for a slot; the returned function gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }

  /** Pods waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }
}
