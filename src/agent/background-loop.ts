// The lifetime of a loop an agent component runs in the background (Lease renewals, the PLEG
// relist, the static pod manifests): start() begins it once, stop() wakes its current wait
// through the signal and resolves when the loop has returned.
export class BackgroundLoop {
  readonly #stopping = new AbortController();
  readonly #body: (signal: AbortSignal) => Promise<void>;
  #running: Promise<void> | undefined;

  /** body runs until signal aborts; it should pass signal to its sleeps. */
  constructor(body: (signal: AbortSignal) => Promise<void>) {
    this.#body = body;
  }

  start(): void {
    this.#running ??= this.#body(this.#stopping.signal);
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }
}
