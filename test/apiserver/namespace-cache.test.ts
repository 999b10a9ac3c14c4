import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { NAMESPACES_PREFIX, NamespaceCache } from '../../src/apiserver/registry/namespace-cache.ts';

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ns = (name: string, terminating = false) => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace',
  metadata: { name, ...(terminating && { deletionTimestamp: '2026-11-22T00:00:00Z' }) } });

test('namespace cache follows creates, termination and deletes in the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-nscache-'));
  const store = openSqliteStore(join(dir, 'state.db'));
  const cache = new NamespaceCache(store);
  try {
    await store.create(`${NAMESPACES_PREFIX}before`, ns('before'));
    await store.create(`${NAMESPACES_PREFIX}gone-before`, ns('gone-before', true));
    assert.equal(cache.isActive('before'), false, 'not in sync before start');
    await cache.start();
    assert.equal(cache.synced, true);
    assert.equal(cache.isActive('before'), true);
    assert.equal(cache.isActive('gone-before'), false, 'a Terminating namespace is not active');
    assert.equal(cache.isActive('missing'), false);

    const created = await store.create(`${NAMESPACES_PREFIX}later`, ns('later'));
    await until(() => cache.isActive('later'), 'the created namespace');
    await store.update(`${NAMESPACES_PREFIX}later`, ns('later', true), created.revision);
    await until(() => !cache.isActive('later'), 'the namespace to turn Terminating');

    cache.forceLiveLookup('before');
    assert.equal(cache.isActive('before'), false, 'a namespace being deleted through this server is read live');

    const { kv } = await store.get(`${NAMESPACES_PREFIX}later`);
    await store.delete(`${NAMESPACES_PREFIX}later`, kv!.modRevision);
    await store.create(`${NAMESPACES_PREFIX}later`, ns('later'));
    await until(() => cache.isActive('later'), 'the re-created namespace');

    cache.stop();
    assert.equal(cache.isActive('later'), false, 'a stopped cache answers nothing');
  } finally {
    cache.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
