// The Store on etcd v3, through the etcd3 client library. etcd already has the shape the Store
// interface describes (it was modelled on it): one global revision, compare-and-swap
// transactions on mod revisions, reads at a revision, watches from a revision with the previous
// value, and compaction. So every call is one etcd request; the only state kept here is the
// open watches, which the library re-establishes from their last revision if a member dies, and
// which member the unary calls go to (pinned-member.ts).
// kube-apiserver's storage/etcd3 package does the same mapping:
// https://github.com/kubernetes/kubernetes/tree/master/staging/src/k8s.io/apiserver/pkg/storage/etcd3
import { noop } from 'cockatiel';
import { Etcd3, isRecoverableError, type IKeyValue, type IOptions, type IResponseHeader } from 'etcd3';
import {
  CompactedError, FutureRevisionError, type KeyValue, type ListOptions, type ListResult, type Store, type Watch,
  type WatchEvent, type WatchHandlers, type WriteResult,
} from '../store.ts';
import { KeyCodec, rangeEnd } from './keys.ts';
import { PinnedMember } from './pinned-member.ts';
import { SharedWatch } from './shared-watch.ts';

export interface EtcdStoreOptions {
  /** Client URLs of the members, e.g. http://127.0.0.1:2379. */
  endpoints: string[];
  /** Every key is stored under this prefix (kube-apiserver's --etcd-prefix). */
  prefix?: string;
  /** Client TLS (kube-apiserver's --etcd-cafile / --etcd-certfile / --etcd-keyfile), PEM contents. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Deadline of each unary call. */
  timeoutMs?: number;
  /**
   * Background compaction period (kube-apiserver's --etcd-compaction-interval); 0 turns it off.
   * Each run compacts to the revision the previous run saw, so one interval of history stays.
   */
  compactIntervalMs?: number;
}

/**
 * Where the last compaction revision is recorded. Compaction is cluster-wide in etcd, so this key
 * sits outside every prefix, as kube-apiserver's `compact_rev_key` does.
 */
export const COMPACT_KEY = Buffer.from('skiff_compact_rev_key');

const COMPACTED = /required revision has been compacted/;
/** Tries of a call that failed on a member going away (the client then picks another member). */
const ATTEMPTS = 4;
const FUTURE = /required revision is a future revision/;

function rev(s: string | number | undefined): number {
  return Number(s ?? 0);
}

type KV = Etcd3['kv'];

export class EtcdStore implements Store {
  /** Every member: watches (which move to another member by themselves), compaction, status. */
  private readonly client: Etcd3;
  /** Where unary calls go: one member at a time, the leader when known (pinned-member.ts). */
  private readonly member: PinnedMember;
  private readonly keys: KeyCodec;
  /** Ends each open watch with an error (on close). */
  private readonly watchers = new Set<(err: Error) => void>();
  /** The shared etcd watch of each watched prefix (shared-watch.ts). */
  private readonly shared = new Map<string, Promise<SharedWatch>>();
  private closed = false;
  private compactTimer?: NodeJS.Timeout;

  constructor(o: EtcdStoreOptions) {
    const timeout = o.timeoutMs ?? 10_000;
    const options: IOptions = {
      hosts: o.endpoints,
      dialTimeout: timeout,
      grpcOptions: {
        // A LIST without a limit is one range of every key under a prefix: tens of MB for
        // 50,000 pods. kube-apiserver lifts gRPC's 4 MiB default the same way.
        'grpc.max_receive_message_length': -1,
        // Notice a member that went away without closing the connection (its machine died),
        // with kube-apiserver's etcd keepalive settings.
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      // Retries are ours (see attempt): a write retried after its member died may have been
      // applied already, and only the caller of the retry can tell.
      faultHandling: { global: noop },
      ...(o.tls ? { credentials: { rootCertificate: o.tls.ca ?? Buffer.alloc(0), certChain: o.tls.cert, privateKey: o.tls.key } } : {}),
    };
    this.client = new Etcd3(options);
    this.member = new PinnedMember(options, o.endpoints, this.client);
    this.keys = new KeyCodec(o.prefix ?? '/skiff');
    if (o.compactIntervalMs) this.startCompactor(o.compactIntervalMs);
  }

  private startCompactor(intervalMs: number): void {
    let seen = 0;
    this.compactTimer = setInterval(() => {
      void (async () => {
        const current = await this.currentRevision();
        if (seen > 0) await this.compact(seen);
        seen = current;
      })().catch((e: Error) => console.error(`skiff: etcd compaction failed (will retry): ${e.message}`));
    }, intervalMs);
    this.compactTimer.unref();
  }

  private kv(kv: IKeyValue): KeyValue {
    return { key: this.keys.decode(kv.key), value: kv.value.toString(), createRevision: rev(kv.create_revision), modRevision: rev(kv.mod_revision) };
  }

  /** etcd's mvcc errors as the Store's own. */
  private async call<T>(requested: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const message = (e as Error).message ?? '';
      if (COMPACTED.test(message)) throw new CompactedError(requested, await this.compactedRevision());
      if (FUTURE.test(message)) throw new FutureRevisionError(requested, await this.currentRevision());
      throw e;
    }
  }

  private header(h: IResponseHeader): number {
    return rev(h.revision);
  }

  /**
   * Runs fn on the pinned member, again on the next member when that one failed; fn learns
   * whether it is a retry.
   */
  private async attempt<T>(fn: (kv: KV, retry: boolean) => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      const at = this.member.index;
      try {
        return await fn(this.member.kv(at), i > 0);
      } catch (e) {
        if (i + 1 >= ATTEMPTS || this.closed || !isRecoverableError(e as Error)) throw e;
        this.member.failed(at);
        await new Promise((r) => setTimeout(r, 50 * 2 ** i));
      }
    }
  }

  async currentRevision(): Promise<number> {
    const res = await this.attempt((kv) => kv.range({ key: COMPACT_KEY, count_only: true }));
    return this.header(res.header);
  }

  async compactedRevision(): Promise<number> {
    const res = await this.attempt((kv) => kv.range({ key: COMPACT_KEY }));
    return res.kvs.length ? Number(res.kvs[0].value.toString()) : 0;
  }

  async get(key: string, revision?: number, opts: { stale?: boolean } = {}): Promise<{ kv?: KeyValue; revision: number }> {
    const res = await this.call(revision ?? 0, () => this.attempt((kv) =>
      kv.range({ key: this.keys.encode(key), revision: revision || 0, serializable: !!opts.stale })));
    return { kv: res.kvs.length ? this.kv(res.kvs[0]) : undefined, revision: revision || this.header(res.header) };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const start = this.keys.encode(opts.startKey && opts.startKey > prefix ? opts.startKey : prefix);
    const end = rangeEnd(this.keys.encode(prefix));
    const res = await this.call(opts.revision ?? 0, () => this.attempt((kv) => kv.range({
      key: start, range_end: end, limit: opts.limit || 0, revision: opts.revision || 0,
    })));
    const kvs = res.kvs.map((kv) => this.kv(kv));
    return { kvs, revision: opts.revision || this.header(res.header), remaining: rev(res.count) - kvs.length };
  }

  async count(prefix: string): Promise<{ count: number; revision: number }> {
    const key = this.keys.encode(prefix);
    const res = await this.attempt((kv) => kv.range({ key, range_end: rangeEnd(key), count_only: true }));
    return { count: rev(res.count), revision: this.header(res.header) };
  }

  async create(key: string, value: string): Promise<WriteResult> {
    const k = this.keys.encode(key);
    let retried = false;
    const res = await this.attempt((kv, retry) => {
      retried = retry;
      return kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: k } }],
      });
    });
    const revision = this.header(res.header);
    if (res.succeeded) return { ok: true, revision, kv: { key, value, createRevision: revision, modRevision: revision } };
    const current = res.responses[0].response_range.kvs[0];
    // A retry after the member died unanswered: if the first try was applied, the key holds our
    // own value (stored objects carry a fresh uid, so it is no one else's).
    if (retried && current && current.value.toString() === value) {
      const kv = this.kv(current);
      return { ok: true, revision: kv.modRevision, kv };
    }
    return { ok: false, revision, kv: current ? this.kv(current) : undefined };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<WriteResult> {
    const k = this.keys.encode(key);
    let retried = false;
    const res = await this.attempt((kv, retry) => {
      retried = retry;
      return kv.txn({
        // Version > 0 as well: a mod revision of 0 would otherwise "match" a key that does not exist.
        compare: [
          { key: k, target: 'Version', result: 'Greater', version: 0 },
          { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
        ],
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      });
    });
    const revision = this.header(res.header);
    if (res.succeeded) {
      const prev = res.responses[0].response_put.prev_kv;
      return { ok: true, revision, kv: { key, value, createRevision: rev(prev?.create_revision), modRevision: revision } };
    }
    const current = res.responses[0].response_range.kvs[0];
    // A retried call whose first try was applied (see create): the key moved on to exactly our value.
    if (retried && current && rev(current.mod_revision) > expectedModRevision && current.value.toString() === value) {
      const kv = this.kv(current);
      return { ok: true, revision: kv.modRevision, kv };
    }
    return { ok: false, revision, kv: current ? this.kv(current) : undefined };
  }

  async delete(key: string, expectedModRevision?: number): Promise<WriteResult> {
    const k = this.keys.encode(key);
    // A retry whose first try was applied answers "missing key", as a delete of a deleted key does.
    const res = await this.attempt((kv) => kv.txn({
      compare: [
        { key: k, target: 'Version', result: 'Greater', version: 0 },
        ...(expectedModRevision !== undefined ? [{ key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expectedModRevision }] : []),
      ],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    }));
    const revision = this.header(res.header);
    if (res.succeeded) {
      const prev = res.responses[0].response_delete_range.prev_kvs[0];
      return { ok: true, revision, kv: prev ? this.kv(prev) : undefined };
    }
    const current = res.responses[0].response_range.kvs[0];
    return { ok: false, revision, kv: current ? this.kv(current) : undefined };
  }

  async watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch> {
    if (this.closed) throw new Error('store is closed');
    // A watch below the compacted revision must fail now (the API answers 410 Gone); etcd would
    // only cancel it later, so ask the way a list at that revision does.
    const compacted = await this.compactedRevision();
    if (fromRevision + 1 < compacted) throw new CompactedError(fromRevision, compacted);
    let shared = this.shared.get(prefix);
    if (!shared || !(await shared).canServe(fromRevision)) {
      // The first watch of a prefix starts its shared etcd watch; one too far behind the shared
      // one's recent events gets an etcd watch of its own.
      shared = this.openSharedWatch(prefix, fromRevision, !shared);
    }
    return (await shared).subscribe(fromRevision, handlers);
  }

  /** An etcd watch of prefix from after `from`, fanned out by a SharedWatch; registered as the prefix's shared one if `register`. */
  private async openSharedWatch(prefix: string, from: number, register: boolean): Promise<SharedWatch> {
    let self: Promise<SharedWatch> | undefined;
    const sw = new SharedWatch(from, () => {
      this.watchers.delete(fail);
      if (register && this.shared.get(prefix) === self) this.shared.delete(prefix);
    });
    const fail = (err: Error) => sw.fail(err);
    this.watchers.add(fail);
    self = (async () => {
      const start = this.keys.encode(prefix);
      const watcher = await this.client.watch().inRange({ start, end: rangeEnd(start) })
        .startRevision(String(from + 1)).withPreviousKV().create()
        .catch((e: Error) => {
          sw.fail(e);
          throw e;
        });
      sw.attach({ cancel: () => void watcher.cancel().catch(() => undefined) });
      watcher.on('data', (res) => {
        if (res.compact_revision && rev(res.compact_revision) > 0) {
          sw.fail(new CompactedError(from, rev(res.compact_revision)));
          return;
        }
        sw.publish(res.events.map((ev) => {
          const prevKv = ev.prev_kv ? this.kv(ev.prev_kv) : undefined;
          if (ev.type === 'Put') return { type: 'put', kv: this.kv(ev.kv), ...(prevKv ? { prevKv } : {}) };
          // A delete event carries only the key and the deleting revision: the value is the previous one.
          const kv = prevKv ? { ...prevKv, modRevision: rev(ev.kv.mod_revision) } : this.kv(ev.kv);
          return { type: 'delete', kv, ...(prevKv ? { prevKv } : {}) };
        }));
      });
      watcher.on('error', (err: Error) => sw.fail(COMPACTED.test(err.message) ? new CompactedError(from, 0) : err));
      return sw;
    })();
    if (register) this.shared.set(prefix, self);
    return self;
  }

  async compact(revision: number): Promise<void> {
    // Record it first (only ever upwards), so every API server sharing this etcd reads the same
    // compacted revision; then ask etcd to forget history before it.
    const current = await this.client.kv.range({ key: COMPACT_KEY });
    const prev = current.kvs[0];
    if (prev && Number(prev.value.toString()) >= revision) return;
    const res = await this.client.kv.txn({
      compare: [{ key: COMPACT_KEY, target: 'Mod', result: 'Equal', mod_revision: prev ? rev(prev.mod_revision) : 0 }],
      success: [{ request_put: { key: COMPACT_KEY, value: Buffer.from(String(revision)) } }],
    });
    if (!res.succeeded) return; // another API server compacted meanwhile
    await this.call(revision, () => this.client.kv.compact({ revision }));
  }

  async dbSize(): Promise<number> {
    const status = await this.client.maintenance.status();
    return rev(status.dbSize);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.compactTimer);
    for (const fail of [...this.watchers]) fail(new Error('store closed'));
    this.member.close();
    this.client.close();
  }
}

export function openEtcdStore(o: EtcdStoreOptions): EtcdStore {
  return new EtcdStore(o);
}
