// kubelet's pod lifecycle event generator, in its relisting form: every second the runtime's
// sandboxes and containers are listed, and every pod whose runtime state changed (a container
// exited, a sandbox appeared or went away) gets a sync. It is also how pods the API no longer
// has are found: their sandboxes carry a pod uid the workers are told about.
// https://github.com/kubernetes/design-proposals-archive/blob/main/node/pod-lifecycle-event-generator.md
import { BackgroundLoop } from './background-loop.ts';
import type { CriClient } from '../cri/client.ts';
import { sleep } from '../client/wait.ts';
import { POD_UID_LABEL } from './labels.ts';

export const RELIST_MS = 1000;

export interface PlegOptions {
  cri: CriClient;
  /** A pod's runtime state changed (or the pod was seen for the first time). */
  onChange: (podUid: string) => void;
  log: (line: string) => void;
  intervalMs?: number;
}

export class Pleg {
  private readonly o: PlegOptions;
  private readonly loop = new BackgroundLoop((signal) => this.run(signal));
  private seen = new Map<string, string>();
  private lastError = '';
  /** When the last relist finished (ms since the epoch): kubelet's PLEG health. */
  lastRelist = 0;

  constructor(o: PlegOptions) {
    this.o = o;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Lists the runtime once; returns the uids of every pod it holds. */
  async relist(): Promise<string[]> {
    const [sandboxes, containers] = await Promise.all([this.o.cri.listPodSandbox({}), this.o.cri.listContainers({})]);
    const now = new Map<string, string[]>();
    const add = (uid: string | undefined, entry: string) => {
      if (!uid) return;
      const list = now.get(uid) ?? [];
      list.push(entry);
      now.set(uid, list);
    };
    for (const s of sandboxes.items) add(s.labels?.[POD_UID_LABEL], `s:${s.id}:${s.state}`);
    for (const c of containers.containers) add(c.labels?.[POD_UID_LABEL], `c:${c.id}:${c.state}`);
    const next = new Map([...now].map(([uid, list]) => [uid, list.sort().join(',')]));
    for (const [uid, sig] of next) if (this.seen.get(uid) !== sig) this.o.onChange(uid);
    for (const uid of this.seen.keys()) if (!next.has(uid)) this.o.onChange(uid);
    this.seen = next;
    this.lastRelist = Date.now();
    return [...next.keys()];
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.relist();
        this.lastError = '';
      } catch (e) {
        const message = (e as Error).message;
        // Say it once, not every second, while the runtime is away.
        if (message !== this.lastError && !signal.aborted) this.o.log(`relisting the runtime failed: ${message}`);
        this.lastError = message;
      }
      await sleep(this.o.intervalMs ?? RELIST_MS, signal);
    }
  }
}
