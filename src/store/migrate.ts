// Copies every key of one Store into another, as read at one revision of the source: how
// `skiff store migrate` moves a cluster from the embedded SQLite store to etcd. Values are
// copied verbatim (stored objects carry no resourceVersion: it is the store's modRevision, so
// objects get the destination's revisions, as after an etcd restore).
import type { Store } from './store.ts';

export interface MigrateResult {
  copied: number;
  /** The source revision the copy was read at. */
  revision: number;
}

const PAGE = 500;
const PARALLEL = 32;

/** Refuses to write into a destination that already has keys, so nothing is overwritten or mixed. */
export async function copyStore(from: Store, to: Store, onProgress?: (copied: number) => void): Promise<MigrateResult> {
  const existing = await to.count('');
  if (existing.count > 0) {
    throw new Error(`the destination already holds ${existing.count} keys: migrate into an empty store (or a new --etcd-prefix)`);
  }
  let copied = 0;
  let startKey: string | undefined;
  let revision = 0;
  for (;;) {
    const page = await from.list('', { limit: PAGE, startKey, revision: revision || undefined });
    revision = page.revision;
    for (let i = 0; i < page.kvs.length; i += PARALLEL) {
      await Promise.all(page.kvs.slice(i, i + PARALLEL).map(async (kv) => {
        const r = await to.create(kv.key, kv.value);
        if (!r.ok) throw new Error(`${kv.key} appeared in the destination during the migration`);
      }));
    }
    copied += page.kvs.length;
    onProgress?.(copied);
    if (page.remaining === 0 || page.kvs.length === 0) break;
    startKey = `${page.kvs[page.kvs.length - 1].key}\0`;
  }
  return { copied, revision };
}
