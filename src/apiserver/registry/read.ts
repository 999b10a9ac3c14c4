// GET and LIST against the store, with Kubernetes' resourceVersion and paging
// semantics (https://kubernetes.io/docs/reference/using-api/api-concepts/#the-resourceversion-parameter).
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { CompactedError, FutureRevisionError, type Store } from '../../store/store.ts';
import { errors } from '../errors.ts';
import { decodeKv, storageKey, storagePrefix, storedJsonWithVersion } from './codec.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import type { ObjectFilter } from './filter.ts';

export async function getObject(store: Store, r: ResourceInfo, namespace: string, name: string, revision = 0): Promise<KubeObject> {
  const { kv } = await store.get(storageKey(r, namespace, name), revision).catch(storeError);
  if (!kv) throw errors.notFound(r.group, r.plural, name);
  return decodeKv(kv);
}

export interface ListRequest {
  namespace: string;
  filter: ObjectFilter;
  limit: number; // 0: everything
  continueToken: string | null;
  resourceVersion: string | null;
  resourceVersionMatch: string | null;
}

export interface ListPage {
  /** Each item as JSON text with its resourceVersion set. */
  items: string[];
  /** Parsed items, when filtering parsed them anyway (same order as items). */
  parsed?: KubeObject[];
  resourceVersion: number;
  continueToken?: string;
  remainingItemCount?: number;
}

export function storeError(e: unknown): never {
  if (e instanceof CompactedError) {
    throw errors.gone(`too old resource version: ${(e as CompactedError).message.match(/revision (\d+)/)?.[1] ?? ''} (${e.compactedRevision})`);
  }
  if (e instanceof FutureRevisionError) {
    throw errors.timeout(`Too large resource version: ${e.message}`);
  }
  throw e;
}

const CONTINUE_EXPIRED = 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export async function listObjects(store: Store, r: ResourceInfo, req: ListRequest): Promise<ListPage> {
  const prefix = storagePrefix(r, req.namespace);
  let revision = 0;
  let startKey: string | undefined;
  if (req.continueToken) {
    if (req.resourceVersion && req.resourceVersion !== '0') {
      throw errors.badRequest('specifying resource version is not allowed when using continue');
    }
    const tok = decodeContinue(req.continueToken);
    revision = tok.rv;
    startKey = prefix + tok.start;
  } else if (req.resourceVersion && req.resourceVersion !== '0') {
    const rv = Number(req.resourceVersion);
    if (!Number.isInteger(rv) || rv < 0) throw errors.badRequest(`invalid resource version: ${req.resourceVersion}`);
    if (req.resourceVersionMatch === 'Exact') revision = rv;
    else {
      // NotOlderThan (the default for a non-zero rv): the latest state, provided the store has reached rv.
      const current = await store.currentRevision();
      if (rv > current) throw errors.timeout(`Too large resource version: ${rv}, current: ${current}`);
    }
  } else if (req.resourceVersionMatch && req.resourceVersionMatch !== 'NotOlderThan') {
    throw errors.badRequest(`resourceVersionMatch "${req.resourceVersionMatch}" is forbidden for resourceVersion "${req.resourceVersion ?? ''}"`);
  }

  const items: string[] = [];
  const parsed: KubeObject[] = [];
  const wantParsed = !req.filter.everything;
  let readRevision = revision;
  let remaining = 0;
  let nextStart: string | undefined;
  for (;;) {
    const pageSize = req.limit > 0 ? Math.max(req.limit - items.length, req.filter.everything ? 0 : req.limit) : 0;
    let page;
    try {
      page = await store.list(prefix, { revision: readRevision, limit: pageSize, startKey });
    } catch (e) {
      if (e instanceof CompactedError && req.continueToken) throw errors.gone(CONTINUE_EXPIRED);
      storeError(e);
    }
    readRevision = page.revision;
    remaining = page.remaining;
    let i = 0;
    for (; i < page.kvs.length; i++) {
      const kv = page.kvs[i];
      if (req.limit > 0 && items.length >= req.limit) break;
      if (wantParsed) {
        const obj = JSON.parse(kv.value) as KubeObject;
        obj.metadata!.resourceVersion = String(kv.modRevision);
        if (!req.filter.matches(obj)) continue;
        parsed.push(obj);
        items.push(JSON.stringify(obj));
      } else {
        items.push(storedJsonWithVersion(kv.value, kv.modRevision));
      }
    }
    remaining += page.kvs.length - i;
    const lastKv = page.kvs[page.kvs.length - 1];
    if (i < page.kvs.length) {
      nextStart = page.kvs[i].key;
      break;
    }
    if (page.remaining === 0 || !lastKv) {
      nextStart = undefined;
      break;
    }
    if (req.limit > 0 && items.length >= req.limit) {
      nextStart = lastKv.key + '\u0000';
      break;
    }
    startKey = lastKv.key + '\u0000';
  }
  const result: ListPage = { items, resourceVersion: readRevision };
  if (wantParsed) result.parsed = parsed;
  if (req.limit > 0 && nextStart !== undefined && remaining > 0) {
    result.continueToken = encodeContinue(readRevision, nextStart.slice(prefix.length));
    // Kubernetes only reports the count when no selector makes it a guess.
    if (req.filter.everything) result.remainingItemCount = remaining;
  }
  return result;
}
