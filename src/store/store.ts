// The storage boundary. Shaped like etcd v3 (and like kine's Backend): keys are
// paths, every write bumps one global revision, and that revision is what the
// API layer exposes as metadata.resourceVersion. The API server imports this
// file only; SQLite (src/store/sqlite/) and etcd (src/store/etcd/) sit behind it.

export interface KeyValue {
  key: string;
  /** The stored bytes as text (Skiff stores JSON). */
  value: string;
  /** Revision of the write that created this key (since it last did not exist). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For 'put': the new value. For 'delete': the key with the deleting revision as modRevision and the last value. */
  kv: KeyValue;
  /** The value before this event, if the key existed. */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** Read at this revision (0 or absent: the latest). Older than the compacted revision: throws CompactedError. */
  revision?: number;
  /** At most this many keys (0 or absent: all). */
  limit?: number;
  /** Start at this key (inclusive); used for paging. */
  startKey?: string;
}

export interface ListResult {
  kvs: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** Keys left under the prefix after the last one returned. */
  remaining: number;
}

export interface WriteResult {
  /** false when the compare failed (key exists on create, wrong modRevision on update/delete, missing key). */
  ok: boolean;
  /** The store's revision after the operation (the write's own revision when ok). */
  revision: number;
  /** On success: the written kv (for delete, the deleted value). On failure: the current kv, if any. */
  kv?: KeyValue;
}

export interface Watch {
  /** Stop delivering events. */
  cancel(): void;
}

export interface WatchHandlers {
  /** Events in revision order, a batch at a time; every event of one revision arrives in the same batch. */
  onEvents(events: WatchEvent[]): void;
  /** The watch ended abnormally (store closed, or the watcher fell too far behind). No more calls follow. */
  onError(err: Error): void;
}

export interface Store {
  /** The latest revision. */
  currentRevision(): Promise<number>;
  /** The oldest revision still readable / watchable from (everything before it is compacted). */
  compactedRevision(): Promise<number>;
  /**
   * The key's value (at revision, if given). With stale, a store with replicas may answer from
   * the nearest one without confirming it is current (etcd's serializable read): for checks that
   * tolerate a just-changed value, as kube-apiserver's admission reads its informer caches.
   */
  get(key: string, revision?: number, opts?: { stale?: boolean }): Promise<{ kv?: KeyValue; revision: number }>;
  /** Keys with this prefix, sorted by key. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  count(prefix: string): Promise<{ count: number; revision: number }>;
  /** Creates the key only if it does not exist. */
  create(key: string, value: string): Promise<WriteResult>;
  /** Replaces the value only if the key's modRevision equals expectedModRevision. */
  update(key: string, value: string, expectedModRevision: number): Promise<WriteResult>;
  /** Deletes the key; if expectedModRevision is given, only when it matches. */
  delete(key: string, expectedModRevision?: number): Promise<WriteResult>;
  /**
   * Delivers every change to keys under prefix with revision > fromRevision, in order, then live changes.
   * fromRevision older than the compacted revision: throws CompactedError (the API answers 410 Gone).
   */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch>;
  /** Forgets history before revision (keeps every key's latest value). */
  compact(revision: number): Promise<void>;
  /** Approximate bytes the store occupies. */
  dbSize(): Promise<number>;
  close(): Promise<void>;
}

/** The requested revision has been compacted away (etcd's ErrCompacted). */
export class CompactedError extends Error {
  compactedRevision: number;
  constructor(requested: number, compactedRevision: number) {
    super(`required revision ${requested} has been compacted (oldest available is ${compactedRevision})`);
    this.name = 'CompactedError';
    this.compactedRevision = compactedRevision;
  }
}

/** The requested revision is newer than the store's (etcd's ErrFutureRev). */
export class FutureRevisionError extends Error {
  constructor(requested: number, current: number) {
    super(`required revision ${requested} is a future revision (current is ${current})`);
    this.name = 'FutureRevisionError';
  }
}
