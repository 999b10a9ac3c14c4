// The in-memory watch the server's own controllers use (src/apiserver/local-watch.ts) must
// send exactly what the HTTP watch sends: compared event by event with an HTTP watch of the
// same resource, selector and resourceVersion, plus the 410 and abort paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../../src/apiserver/start.ts';
import { localWatch } from '../../src/apiserver/local-watch.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import type { WatchEvent } from '../../src/client/watch-stream.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { freePort } from '../helpers/wait.ts';

async function collect(gen: AsyncGenerator<WatchEvent>, n: number, ms = 10_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const deadline = setTimeout(() => void gen.return(undefined), ms);
  try {
    for await (const ev of gen) {
      out.push(ev);
      if (out.length >= n) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

const summary = (evs: WatchEvent[]) => evs.map((e) => [e.type, (e.object as KubeObject).metadata?.name, (e.object as KubeObject).metadata?.resourceVersion,
  JSON.stringify((e.object as KubeObject).metadata?.labels ?? {})]);

type Server = Awaited<ReturnType<typeof startApiServer>>;

/** A server without controllers, one client watching over HTTP and one watching in memory. */
async function withServer(fn: (s: Server, http: RestClient, local: RestClient) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-localwatch-'));
  const s = await startApiServer({ dataDir: dir, port: await freePort(), bindAddress: '127.0.0.1', controllers: false });
  const http = new RestClient({ server: s.url, token: s.adminToken, ca: s.caCertPem });
  const local = new RestClient({ server: s.url, token: s.adminToken, ca: s.caCertPem }, { localWatch: localWatch(s.server.parts) });
  try {
    await fn(s, http, local);
  } finally {
    await http.close();
    await local.close();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the in-memory watch sends what the HTTP watch sends, and 410 as an ERROR event', () => withServer(async (s, http, local) => {
  const start = await http.create(R.configmaps, { metadata: { name: 'first', labels: { app: 'a' } } }, { namespace: 'default' });
  const rv = (start as KubeObject).metadata!.resourceVersion!;
  const opts = { namespace: 'default', labelSelector: 'app=a', resourceVersion: rv };
  const ac = new AbortController();
  const fromLocal = local.watch(R.configmaps, { ...opts, signal: ac.signal });
  const fromHttp = http.watch(R.configmaps, { ...opts, signal: ac.signal });
  // Created, updated, leaving the selector (DELETED), entering it (ADDED), deleted; plus one never selected.
  await http.create(R.configmaps, { metadata: { name: 'second', labels: { app: 'a' } }, data: { k: 'v' } }, { namespace: 'default' });
  await http.create(R.configmaps, { metadata: { name: 'other', labels: { app: 'b' } } }, { namespace: 'default' });
  await http.patch(R.configmaps, 'second', { data: { k: 'w' } }, { namespace: 'default' });
  await http.patch(R.configmaps, 'second', { metadata: { labels: { app: 'b' } } }, { namespace: 'default' });
  await http.patch(R.configmaps, 'other', { metadata: { labels: { app: 'a' } } }, { namespace: 'default' });
  await http.delete(R.configmaps, 'first', { namespace: 'default' });
  const [l, h] = await Promise.all([collect(fromLocal, 5), collect(fromHttp, 5)]);
  assert.deepEqual(summary(l).map((e) => e.slice(0, 2)), [['ADDED', 'second'], ['MODIFIED', 'second'], ['DELETED', 'second'], ['ADDED', 'other'], ['DELETED', 'first']]);
  assert.deepEqual(summary(l), summary(h), 'same events, resourceVersions and objects as over HTTP');
  assert.deepEqual(l.map((e) => e.object), h.map((e) => e.object));

  // Each watcher owns its objects: freezing or changing one leaves another watcher's alone.
  const a = collect(local.watch(R.configmaps, { namespace: 'default', resourceVersion: rv }), 1);
  const b = collect(local.watch(R.configmaps, { namespace: 'default', resourceVersion: rv }), 1);
  const [[ea], [eb]] = await Promise.all([a, b]);
  assert.notEqual(ea!.object, eb!.object);
  (ea!.object as KubeObject).metadata!.name = 'changed';
  assert.equal((eb!.object as KubeObject).metadata!.name, 'second');

  // Initial events (resourceVersion "0") come as copies of the listed objects too.
  const initial = await collect(local.watch(R.configmaps, { namespace: 'default', resourceVersion: '0' }), 2);
  assert.deepEqual(initial.map((e) => [e.type, (e.object as KubeObject).metadata?.name]).sort(), [['ADDED', 'other'], ['ADDED', 'second']]);

  // A compacted resourceVersion is an ERROR event with a 410 Status, as over HTTP.
  await s.store.compact(await s.store.currentRevision());
  const [gone] = await collect(local.watch(R.configmaps, { namespace: 'default', resourceVersion: rv }), 1);
  const [goneHttp] = await collect(http.watch(R.configmaps, { namespace: 'default', resourceVersion: rv }), 1);
  assert.equal(gone?.type, 'ERROR');
  assert.equal((gone!.object as { code?: number }).code, 410);
  assert.deepEqual(gone, goneHttp);

  // Aborting ends the stream.
  const ac2 = new AbortController();
  const live = local.watch(R.configmaps, { namespace: 'default', signal: ac2.signal, resourceVersion: String(await s.store.currentRevision()) });
  const ended = collect(live, 100, 10_000);
  setTimeout(() => ac2.abort(), 100);
  const t0 = Date.now();
  assert.deepEqual(await ended, []);
  assert.ok(Date.now() - t0 < 5000, 'ended on abort, not on the deadline');
  ac.abort();
}));

test('a watch selecting by name and namespace passes only that object, decided from its key', () => withServer(async (s, http, local) => {
  await http.create(R.namespaces, { metadata: { name: 'other' } });
  const rv = String(await s.store.currentRevision());
  const byName = { fieldSelector: 'metadata.name=wanted', resourceVersion: rv };
  const notOther = { fieldSelector: 'metadata.namespace!=other,metadata.name!=skip', resourceVersion: rv };
  const watches = [local.watch(R.configmaps, byName), http.watch(R.configmaps, byName), local.watch(R.configmaps, notOther), http.watch(R.configmaps, notOther)];
  for (const [ns, name] of [['default', 'wanted'], ['default', 'unwanted'], ['other', 'wanted'], ['default', 'skip'], ['default', 'wantedx']]) {
    await http.create(R.configmaps, { metadata: { name } }, { namespace: ns });
  }
  await http.patch(R.configmaps, 'wanted', { data: { a: 'b' } }, { namespace: 'default' });
  await http.delete(R.configmaps, 'wanted', { namespace: 'other' });
  const names = (evs: WatchEvent[]) => evs.map((e) => `${e.type} ${(e.object as KubeObject).metadata?.namespace}/${(e.object as KubeObject).metadata?.name}`);
  const [lName, hName, lNot, hNot] = await Promise.all([collect(watches[0]!, 4, 3000), collect(watches[1]!, 4, 3000), collect(watches[2]!, 4), collect(watches[3]!, 4)]);
  assert.deepEqual(names(lName), ['ADDED default/wanted', 'ADDED other/wanted', 'MODIFIED default/wanted', 'DELETED other/wanted']);
  assert.deepEqual(names(hName), names(lName));
  assert.deepEqual(names(lNot), ['ADDED default/wanted', 'ADDED default/unwanted', 'ADDED default/wantedx', 'MODIFIED default/wanted']);
  assert.deepEqual(names(hNot), names(lNot));
}));
