// Compaction: forgets history older than a revision but keeps every key's
// latest row, like etcd's compact and kine's compactor. A background timer
// compacts to "head - retainRevisions" periodically.
//
// Two marks live in `meta`: compact_revision (reads and watches below it fail)
// is raised first, then rows are deleted in chunks with the event loop running
// in between, then compact_done records how far deletion got. A crash between
// the two leaves extra rows that the next compaction removes.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DatabaseSync } from 'node:sqlite';
import type { Statements } from './statements.ts';

export interface CompactorOptions {
  intervalMs: number;
  retainRevisions: number;
  headRevision: () => number;
  /** Commits the store's open write batch before compaction starts a transaction of its own. */
  flush?: () => void;
  onError: (err: Error) => void;
}

/** Revisions processed per delete transaction. */
const CHUNK = 10_000;

export class Compactor {
  private readonly db: DatabaseSync;
  private readonly st: Statements;
  private readonly opts: CompactorOptions;
  private compacted: number;
  private done: number;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(db: DatabaseSync, st: Statements, opts: CompactorOptions) {
    this.db = db;
    this.st = st;
    this.opts = opts;
    this.compacted = this.readMeta('compact_revision');
    this.done = this.readMeta('compact_done');
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Raises the compacted revision to revision (no-op if already there) and deletes the history below it. */
  async compact(revision: number): Promise<void> {
    if (revision > this.compacted) {
      this.st.setMeta.run(revision, 'compact_revision');
      this.compacted = revision;
    }
    await this.deleteHistory();
  }

  private tick(): void {
    const target = this.opts.headRevision() - this.opts.retainRevisions;
    if (target <= this.compacted) return;
    this.compact(target).catch((err: Error) => this.opts.onError(err));
  }

  /** One deletion loop at a time; it runs until compact_done reaches the compacted revision. */
  private deleteHistory(): Promise<void> {
    this.running ??= this.deleteLoop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async deleteLoop(): Promise<void> {
    while (!this.stopped && this.done < this.compacted) {
      const target = this.compacted;
      for (let lo = this.done; lo < target; lo += CHUNK) {
        if (this.stopped) return;
        const hi = Math.min(lo + CHUNK, target);
        this.opts.flush?.();
        this.st.begin.run();
        try {
          this.st.compactSuperseded.run(lo, hi);
          this.st.compactTombstones.run(lo, hi);
          this.st.setMeta.run(hi, 'compact_done');
          this.st.commit.run();
        } catch (err) {
          if (this.db.isTransaction) this.st.rollback.run();
          throw err;
        }
        this.done = hi;
        await nextTurn();
      }
    }
  }

  private readMeta(name: string): number {
    const row = this.st.getMeta.get(name) as { value: number } | undefined;
    if (!row) throw new Error(`store metadata ${name} is missing`);
    return row.value;
  }
}
