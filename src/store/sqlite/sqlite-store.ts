// The embedded store: etcd's data model (one global revision, history, watch)
// on node:sqlite, the way kine maps it onto SQL.
//
// Revisions follow etcd: an empty store is at revision 1 and its first write
// gets revision 2, so no list ever reports resourceVersion "0" (which the
// Kubernetes API reserves for "any version"). compactedRevision() is 0 until
// the first compaction.
//
// node:sqlite is synchronous, so each method does its work in one synchronous
// step: a compare-and-swap write is one SQLite transaction that nothing else can
// interleave with. The methods are async only to fit the Store interface.
//
// Durability: WAL with synchronous=NORMAL, so a resolved write survives a crash
// (kill -9) of the process, not a power loss. The file is locked exclusively
// while open (a second opener fails with "database is locked").
//
// close() first delivers committed events to live watches, then ends every
// watch with onError(Error("store ... closed")).
import { DatabaseSync } from 'node:sqlite';
import { CompactedError, FutureRevisionError } from '../store.ts';
import type { KeyValue, ListOptions, ListResult, Store, Watch, WatchEvent, WatchHandlers, WriteResult } from '../store.ts';
import { prepareDatabase } from './schema.ts';
import { prefixEnd } from './prefix.ts';
import { prepareStatements, toKeyValue, toWatchEvent, tuplesToKeyValues } from './statements.ts';
import type { CurrentRow, HistoryRow, KeyValueTuple, Statements } from './statements.ts';
import { WatchHub } from './watch-hub.ts';
import { Compactor } from './compactor.ts';

export interface SqliteStoreOptions {
  /** Background compaction period; 0 turns it off. Default 5 minutes (kine's default). */
  compactIntervalMs?: number;
  /** Background compaction keeps at least this many recent revisions. Default 1000 (kine's default). */
  compactRetainRevisions?: number;
  /** Recent events kept in memory so watches near the head skip SQLite. Default 10,000. */
  watchRingSize?: number;
  /** ...bounded to about this many bytes. Default 64 MiB. */
  watchRingMaxBytes?: number;
  /** A watch with more undelivered events than this is dropped with onError. Default 100,000. */
  maxWatchBacklog?: number;
  /** Revisions read from SQLite per step of a watch replay (the event loop runs between steps). Default 5,000. */
  watchReplayChunk?: number;
  /** Receives errors of background compaction. Default: console.error. */
  onBackgroundError?: (err: Error) => void;
}

const EMPTY_REVISION = 1;

interface Batch {
  writes: { rev: number; event: WatchEvent; resolve: () => void; reject: (err: Error) => void }[];
  readers: (() => void)[];
}

export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly st: Statements;
  private readonly hub: WatchHub;
  private readonly compactor: Compactor;
  /** The last committed revision: what readers and watchers see. */
  private revision: number;
  /** The last revision handed to a write (ahead of `revision` while a batch is open). */
  private head: number;
  /** Writes of one event-loop turn share one transaction (group commit); see inBatch. */
  private batch: Batch | undefined;
  private closed = false;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.path = path;
    this.db = new DatabaseSync(path);
    try {
      prepareDatabase(this.db);
      this.st = prepareStatements(this.db);
    } catch (err) {
      this.db.close();
      throw new Error(`cannot open store ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.compactor = new Compactor(this.db, this.st, {
      intervalMs: opts.compactIntervalMs ?? 5 * 60_000,
      retainRevisions: opts.compactRetainRevisions ?? 1000,
      headRevision: () => this.revision,
      flush: () => this.flush(),
      onError: opts.onBackgroundError ?? ((err) => console.error('skiff: background store compaction failed:', err)),
    });
    const logHead = (this.st.maxRevision.get() as { n: number }).n;
    this.revision = Math.max(EMPTY_REVISION, logHead, this.compactor.compactedRevision);
    this.head = this.revision;
    this.hub = new WatchHub(
      {
        headRevision: () => this.revision,
        compactedRevision: () => this.compactor.compactedRevision,
        readHistory: (prefix, after, upTo) => this.readHistory(prefix, after, upTo),
      },
      {
        ringSize: opts.watchRingSize ?? 10_000,
        ringMaxBytes: opts.watchRingMaxBytes ?? 64 * 1024 * 1024,
        maxBacklog: opts.maxWatchBacklog ?? 100_000,
        replayChunk: opts.watchReplayChunk ?? 5_000,
      },
    );
    this.compactor.start();
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    await this.settled();
    return this.revision;
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    return this.compactor.compactedRevision;
  }

  async get(key: string, revision?: number): Promise<{ kv?: KeyValue; revision: number }> {
    await this.settled();
    const at = this.readRevision(revision);
    if (at === this.revision) {
      const row = this.st.getCurrent.get(key) as CurrentRow | undefined;
      return { kv: row && toKeyValue(row), revision: at };
    }
    const row = this.st.getAt.get(key, at) as (CurrentRow & { deleted: number }) | undefined;
    return { kv: row && !row.deleted ? toKeyValue(row) : undefined, revision: at };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    await this.settled();
    const at = this.readRevision(opts.revision);
    const end = prefixEnd(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const start = opts.startKey ?? prefix;
    const head = at === this.revision;
    const rows = (head
      ? this.st.listCurrent.all(start, prefix, end, limit)
      : this.st.listAt.all(start, prefix, end, at, limit)) as unknown as KeyValueTuple[];
    let remaining = 0;
    if (limit > 0 && rows.length === limit) {
      const last = rows[rows.length - 1][0];
      const counted = head ? this.st.countCurrentAfter.get(last, end) : this.st.countAtAfter.get(last, end, at);
      remaining = (counted as { n: number }).n;
    }
    return { kvs: tuplesToKeyValues(rows), revision: at, remaining };
  }

  async count(prefix: string): Promise<{ count: number; revision: number }> {
    this.assertOpen();
    await this.settled();
    const { n } = this.st.countCurrent.get(prefix, prefixEnd(prefix)) as { n: number };
    return { count: n, revision: this.revision };
  }

  async create(key: string, value: string): Promise<WriteResult> {
    this.assertOpen();
    const current = this.st.getCurrent.get(key) as CurrentRow | undefined;
    if (current) return this.failed(current);
    const rev = ++this.head;
    this.inBatch(() => {
      this.st.insertLog.run(rev, key, value, rev, 0, 0);
      this.st.insertCurrent.run(key, value, rev, rev);
    });
    return this.committed(rev, { type: 'put', kv: { key, value, createRevision: rev, modRevision: rev } }, undefined);
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<WriteResult> {
    this.assertOpen();
    const current = this.st.getCurrent.get(key) as CurrentRow | undefined;
    if (!current || current.mod_revision !== expectedModRevision) return this.failed(current);
    const rev = ++this.head;
    this.inBatch(() => {
      this.st.insertLog.run(rev, key, value, current.create_revision, current.mod_revision, 0);
      this.st.updateCurrent.run(value, rev, key);
    });
    const kv = { key, value, createRevision: current.create_revision, modRevision: rev };
    return this.committed(rev, { type: 'put', kv, prevKv: toKeyValue(current) }, undefined);
  }

  /** On success kv is the deleted key as it was (its last modRevision); revision is the delete's. */
  async delete(key: string, expectedModRevision?: number): Promise<WriteResult> {
    this.assertOpen();
    const current = this.st.getCurrent.get(key) as CurrentRow | undefined;
    if (!current || (expectedModRevision !== undefined && current.mod_revision !== expectedModRevision)) return this.failed(current);
    const rev = ++this.head;
    this.inBatch(() => {
      this.st.insertLog.run(rev, key, current.value, current.create_revision, current.mod_revision, 1);
      this.st.deleteCurrent.run(key);
    });
    const prevKv = toKeyValue(current);
    return this.committed(rev, { type: 'delete', kv: { ...prevKv, modRevision: rev }, prevKv }, prevKv);
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    this.assertOpen();
    await this.settled();
    const compacted = this.compactor.compactedRevision;
    if (fromRevision < compacted) throw new CompactedError(fromRevision, compacted);
    return this.hub.watch(prefix, fromRevision, handlers);
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    await this.settled();
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    await this.compactor.compact(revision);
  }

  async dbSize(): Promise<number> {
    this.assertOpen();
    const { page_count: pages } = this.st.pageCount.get() as { page_count: number };
    const { page_size: size } = this.st.pageSize.get() as { page_size: number };
    return pages * size;
  }

  /** Stops compaction, ends every watch with onError (after delivering committed events), closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.compactor.stop();
    try {
      this.hub.close(new Error(`store ${this.path} closed`));
    } finally {
      this.db.close();
    }
  }

  /** Number of open watches (for metrics and tests). */
  get watchCount(): number {
    return this.hub.watcherCount;
  }

  /**
   * Group commit: the writes of one event-loop turn run in one transaction, committed on the
   * next turn (setImmediate). A write's promise resolves, and its watch event is published, only
   * after that COMMIT, so an acknowledged write is durable; reads wait for an open batch so they
   * never see uncommitted data. Compare-and-swap checks run inside the batch and see its writes.
   */
  private inBatch(write: () => void): void {
    if (!this.batch) {
      this.st.begin.run();
      this.batch = { writes: [], readers: [] };
      setImmediate(() => this.flush());
    }
    try {
      write();
    } catch (err) {
      this.abortBatch(err as Error);
      throw err;
    }
  }

  private committed(rev: number, event: WatchEvent, resultKv: KeyValue | undefined): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.batch!.writes.push({ rev, event, resolve: () => resolve({ ok: true, revision: rev, kv: resultKv ?? event.kv }), reject });
    });
  }

  /** A failed compare answers once the batch that may hold the current value is committed. */
  private async failed(current: CurrentRow | undefined): Promise<WriteResult> {
    await this.settled();
    return { ok: false, revision: this.revision, kv: current && toKeyValue(current) };
  }

  private settled(): Promise<void> | undefined {
    const batch = this.batch;
    if (!batch) return undefined;
    return new Promise((resolve) => batch.readers.push(resolve));
  }

  /** Commits the open batch now (also called before compaction and close). */
  private flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    try {
      this.st.commit.run();
    } catch (err) {
      this.batch = batch;
      this.abortBatch(err as Error);
      return;
    }
    this.revision = this.head;
    for (const w of batch.writes) this.hub.publish(w.rev, w.event);
    for (const w of batch.writes) w.resolve();
    for (const r of batch.readers) r();
  }

  private abortBatch(err: Error): void {
    const batch = this.batch;
    this.batch = undefined;
    if (this.db.isTransaction) this.st.rollback.run();
    this.head = this.revision;
    for (const w of batch?.writes ?? []) w.reject(new Error(`store write failed and was rolled back: ${err.message}`, { cause: err }));
    for (const r of batch?.readers ?? []) r();
  }

  /** Resolves the revision a read happens at, enforcing the readable window. */
  private readRevision(requested: number | undefined): number {
    this.assertOpen();
    if (!requested || requested <= 0) return this.revision;
    if (requested > this.revision) throw new FutureRevisionError(requested, this.revision);
    const compacted = this.compactor.compactedRevision;
    if (requested < compacted) throw new CompactedError(requested, compacted);
    return requested;
  }

  private readHistory(prefix: string, after: number, upTo: number): WatchEvent[] {
    const rows = this.st.history.all(after, upTo, prefix, prefixEnd(prefix)) as unknown as HistoryRow[];
    return rows.map(toWatchEvent);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`store ${this.path} is closed`);
  }
}

/** Opens (creating if needed) the store in the SQLite file at path. */
export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}
