// API semantics a client relies on, checked over HTTPS against the real binary:
// watch (initial events, bookmarks, selectors, timeouts, 410 after compaction),
// dry run, generateName, deletecollection, finalizers, preconditions, kill -9,
// audit log and metrics.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';

type Obj = { kind?: string; metadata: { name: string; resourceVersion: string; uid?: string; annotations?: Record<string, string>;
  deletionTimestamp?: string; finalizers?: string[]; generateName?: string }; data?: Record<string, string> };

describe('API semantics', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ extraArgs: ['--etcd-compaction-interval', '1s', '--audit-log-path', '{dataDir}/AUDIT', '--audit-log-maxsize', '0.05', '--audit-log-maxbackup', '2'] });
  });
  after(async () => {
    await s?.cleanup();
  });

  const json = (method: string, body: unknown) => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const cm = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { a: '1' } });
  const create = async (path: string, body: unknown): Promise<Obj> => {
    const r = await s.fetch(path, json('POST', body));
    assert.equal(r.status, 201, await r.clone().text());
    return await r.json() as Obj;
  };

  /** Reads watch events until `done` says so or the deadline passes. */
  async function watchEvents(path: string, done: (evs: { type: string; object: Obj }[]) => boolean, action?: () => Promise<void>, ms = 10000) {
    const ctl = new AbortController();
    const res = await s.fetch(path, { signal: ctl.signal });
    assert.equal(res.status, 200);
    const events: { type: string; object: Obj }[] = [];
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    const deadline = setTimeout(() => ctl.abort(), ms);
    const acting = action?.();
    try {
      while (!done(events)) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += dec.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
    } finally {
      clearTimeout(deadline);
      ctl.abort();
      await acting;
    }
    return events;
  }

  it('sends initial events then the initial-events-end bookmark', async () => {
    await s.k(['create', 'namespace', 'w1']);
    for (const n of ['a', 'b', 'c']) await create('/api/v1/namespaces/w1/configmaps', cm(n));
    // kube-root-ca.crt (published into every namespace, as in Kubernetes) is left out of the comparison.
    const evs = (await watchEvents('/api/v1/namespaces/w1/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true',
      (e) => e.some((x) => x.type === 'BOOKMARK'))).filter((e) => e.object.metadata.name !== 'kube-root-ca.crt');
    assert.deepEqual(evs.slice(0, 3).map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'a'], ['ADDED', 'b'], ['ADDED', 'c']]);
    assert.equal(evs[3].type, 'BOOKMARK');
    assert.equal(evs[3].object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
    const bad = await s.fetch('/api/v1/namespaces/w1/configmaps?watch=true&sendInitialEvents=true');
    assert.equal(bad.status, 422);
  });

  it('turns label changes into ADDED and DELETED for a selector, and ends at timeoutSeconds', async () => {
    const list = await (await s.fetch('/api/v1/namespaces/w1/configmaps')).json() as { metadata: { resourceVersion: string } };
    const patch = (name: string, labels: object) => s.fetch(`/api/v1/namespaces/w1/configmaps/${name}`,
      { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels } }) });
    const evs = await watchEvents(`/api/v1/namespaces/w1/configmaps?watch=true&labelSelector=team%3Dred&resourceVersion=${list.metadata.resourceVersion}`,
      (e) => e.length >= 3, async () => {
        await new Promise((r) => setTimeout(r, 200));
        await patch('a', { team: 'red' });
        await patch('b', { other: 'x' }); // never matches: no event
        await patch('a', { team: 'red', more: 'y' });
        await patch('a', { team: 'blue' });
      });
    assert.deepEqual(evs.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    const t0 = Date.now();
    const ended = await watchEvents('/api/v1/namespaces/w1/configmaps?watch=true&timeoutSeconds=1&resourceVersion=' + list.metadata.resourceVersion, () => false, undefined, 8000);
    assert.ok(Date.now() - t0 < 5000, 'the watch ended at its timeout');
    assert.ok(ended.length >= 3);
  });

  it('dry-runs, generates names, deletes collections and honours preconditions', async () => {
    // The list's own resourceVersion is the store's, which other writers (leases, events) move:
    // compare what the namespace holds instead.
    const contents = async () => ((await (await s.fetch('/api/v1/namespaces/w1/configmaps')).json()) as
      { items: { metadata: { name: string; resourceVersion: string } }[] }).items.map((i) => `${i.metadata.name}@${i.metadata.resourceVersion}`);
    const before = await contents();
    const dry = await create('/api/v1/namespaces/w1/configmaps?dryRun=All', cm('dry'));
    assert.equal(dry.metadata.name, 'dry');
    assert.equal((await s.fetch('/api/v1/namespaces/w1/configmaps/dry')).status, 404);
    assert.deepEqual(await contents(), before, 'a dry run writes nothing');
    const gen = await create('/api/v1/namespaces/w1/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    assert.match(gen.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    for (const n of ['x1', 'x2', 'x3']) await create('/api/v1/namespaces/w1/configmaps', cm(n, { batch: 'x' }));
    const dc = await s.fetch('/api/v1/namespaces/w1/configmaps?labelSelector=batch%3Dx', { method: 'DELETE' });
    assert.equal(dc.status, 200);
    const left = await (await s.fetch('/api/v1/namespaces/w1/configmaps?labelSelector=batch%3Dx')).json() as { items: unknown[] };
    assert.equal(left.items.length, 0);
    const pre = await s.fetch('/api/v1/namespaces/w1/configmaps/c', json('DELETE', { preconditions: { uid: 'not-the-uid' } }));
    assert.equal(pre.status, 409);
    assert.equal((await s.fetch('/api/v1/namespaces/w1/configmaps/c')).status, 200);
  });

  it('keeps an object with finalizers until they are removed', async () => {
    await create('/api/v1/namespaces/w1/configmaps', { ...cm('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    const del = await s.fetch('/api/v1/namespaces/w1/configmaps/held', { method: 'DELETE' });
    assert.equal(del.status, 200);
    const held = await (await s.fetch('/api/v1/namespaces/w1/configmaps/held')).json() as Obj;
    assert.ok(held.metadata.deletionTimestamp, 'deletionTimestamp set');
    const patch = await s.fetch('/api/v1/namespaces/w1/configmaps/held', { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { finalizers: null } }) });
    assert.equal(patch.status, 200);
    assert.equal((await s.fetch('/api/v1/namespaces/w1/configmaps/held')).status, 404);
  });

  it('answers 410 Gone for a compacted resourceVersion', async () => {
    const first = await create('/api/v1/namespaces/w1/configmaps', cm('old'));
    const oldRv = first.metadata.resourceVersion;
    // The store keeps the last 1,000 revisions; write past them.
    for (let i = 0; i < 1100; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => create('/api/v1/namespaces/w1/configmaps', cm(`filler-${i + j}`))));
    }
    let gone = false;
    const deadline = Date.now() + 10000;
    while (!gone && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      const r = await s.fetch(`/api/v1/namespaces/w1/configmaps?resourceVersion=${oldRv}&resourceVersionMatch=Exact`);
      gone = r.status === 410;
      if (gone) assert.equal(((await r.json()) as { reason: string }).reason, 'Expired');
    }
    assert.ok(gone, 'a list at a compacted revision answers 410');
    const evs = await watchEvents(`/api/v1/namespaces/w1/configmaps?watch=true&resourceVersion=${oldRv}`, (e) => e.length >= 1);
    assert.equal(evs[0].type, 'ERROR');
    assert.equal((evs[0].object as unknown as { code: number }).code, 410);
  });

  it('records requests in a rotated audit log and counts them in /metrics', async () => {
    const metrics = await (await s.fetch('/metrics')).text();
    assert.match(metrics, /apiserver_request_total\{[^}]*verb="POST"[^}]*resource="configmaps"[^}]*\} \d+/);
    assert.match(metrics, /apiserver_request_duration_seconds_bucket/);
    assert.match(metrics, /apiserver_storage_objects\{resource="configmaps"\} \d+/);
    await s.fetch('/api/v1/namespaces/w1/configmaps/c?audit-marker=1');
    await new Promise((r) => setTimeout(r, 500));
    const files = readdirSync(s.dataDir).filter((f) => f.startsWith('AUDIT'));
    assert.ok(files.length >= 2 && files.length <= 3, `rotated audit files: ${files.join(', ')}`);
    const lines = readFileSync(join(s.dataDir, 'AUDIT'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const ev = lines.find((l) => l.requestURI === '/api/v1/namespaces/w1/configmaps/c?audit-marker=1');
    assert.ok(ev, 'a GET of a configmap is in the current audit file');
    assert.equal(ev.apiVersion, 'audit.k8s.io/v1');
    assert.equal(ev.kind, 'Event');
    assert.equal(ev.user.username, 'skiff-admin');
    assert.equal(ev.stage, 'ResponseComplete');
    assert.equal(ev.verb, 'get');
    assert.deepEqual(ev.objectRef, { resource: 'configmaps', namespace: 'w1', name: 'c', apiGroup: '', apiVersion: 'v1' });
    assert.equal(ev.responseStatus.code, 200);
  });

  it('keeps every acknowledged write across kill -9', async () => {
    await s.k(['create', 'namespace', 'durable']);
    const acked: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await s.fetch('/api/v1/namespaces/durable/configmaps', json('POST', cm(`w${w}-${i}`)));
          if (r.status === 201) acked.push(`w${w}-${i}`);
        } catch {
          return; // the server died mid-request: that write was never acknowledged
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    await s.kill9();
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.length > 20, `wrote ${acked.length} before the kill`);
    const dataDir = s.dataDir;
    s = await startServer({ dataDir });
    const list = await (await s.fetch('/api/v1/namespaces/durable/configmaps')).json() as { items: Obj[] };
    const names = new Set(list.items.map((i) => i.metadata.name));
    for (const n of acked) assert.ok(names.has(n), `acknowledged ${n} survived`);
  });
});
