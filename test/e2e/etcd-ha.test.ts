// Issue 7's acceptance: 10,000 writes spread over three API servers on a 3-member etcd while
// an etcd member is SIGKILLed (and later restarted) and an API server is killed with kill -9.
// Afterwards every acknowledged write is there, and every watcher on a surviving server saw
// every object's ADDED, in resourceVersion order, never going backwards.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { RawWatcher, startHaCluster, type HaCluster } from '../helpers/skiff-ha.ts';
import type { TestServer } from '../helpers/skiff-server.ts';

const WRITES = Number(process.env.SKIFF_HA_WRITES ?? 10_000);
const CLIENTS = 24;
const NS = 'ha';

let ha: HaCluster;
before(async () => { ha = await startHaCluster({ servers: 3 }); });
after(async () => { await ha?.stop(); });

function configMap(i: number): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i), pad: 'x'.repeat(200) } });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('keeps every acknowledged write and every watcher in order through an etcd member and an API server dying', { timeout: 240_000 }, async () => {
  const [s0, s1, s2] = ha.servers;
  assert.equal((await s0.fetch('/api/v1/namespaces', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) })).status, 201);
  const startRv = ((await (await s1.fetch(`/api/v1/namespaces/${NS}/configmaps`)).json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const watchers = ha.servers.map((s) => new RawWatcher(s, `/api/v1/namespaces/${NS}/configmaps`, startRv));

  const agents = new Map<TestServer, Agent>(ha.servers.map((s) => [s, new Agent({ connect: { ca: s.ca }, connections: CLIENTS })]));
  const acked = new Set<number>();
  const conflictOnRetry = new Set<number>();
  const conflictFirst = new Set<number>();
  let retries = 0;
  let progress = 0;
  const create = async (i: number) => {
    const deadline = Date.now() + 90_000;
    for (let attempt = 0; ; attempt++) {
      // Spread over the servers; each retry goes to the next one.
      const s = ha.servers[(i + attempt) % ha.servers.length];
      let problem: string;
      try {
        const res = await request(`${s.url}/api/v1/namespaces/${NS}/configmaps`, {
          method: 'POST', body: configMap(i), dispatcher: agents.get(s),
          headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
          headersTimeout: 30_000, bodyTimeout: 30_000,
        });
        const text = await res.body.text();
        if (res.statusCode === 201) {
          acked.add(i);
          return;
        }
        if (res.statusCode === 409) {
          (attempt > 0 ? conflictOnRetry : conflictFirst).add(i);
          return;
        }
        problem = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
        if (res.statusCode < 500 && res.statusCode !== 429) throw new Error(`create cm-${i} via ${s.url}: ${problem}`);
      } catch (e) {
        if ((e as Error).message.startsWith('create ')) throw e;
        problem = (e as Error).message;
      }
      retries++;
      if (Date.now() > deadline) throw new Error(`create cm-${i} kept failing for 90 s, last: ${problem}`);
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  };

  const started = Date.now();
  // The failures, at fixed points of the run.
  const chaos = (async () => {
    const at = async (n: number) => {
      while (progress < n) await sleep(20);
      console.log(`# ${n} writes after ${((Date.now() - started) / 1000).toFixed(1)} s, ${retries} retries`);
    };
    await at(WRITES * 0.2);
    await ha.etcd.kill(0);
    await at(WRITES * 0.45);
    await s2.kill9();
    await at(WRITES * 0.7);
    await ha.etcd.restart(0);
  })();

  let next = 0;
  await Promise.all([chaos, ...Array.from({ length: CLIENTS }, async () => {
    for (let i = next++; i < WRITES; i = next++) {
      await create(i);
      progress++;
    }
  })]);
  const seconds = (Date.now() - started) / 1000;

  // Every write answered 201 is stored (read through each surviving server).
  const present = new Map<string, number>();
  for (const s of [s0, s1]) {
    const list = (await (await s.fetch(`/api/v1/namespaces/${NS}/configmaps`)).json()) as { items: { metadata: { name: string; resourceVersion: string } }[] };
    // Only ours (the root CA publisher adds kube-root-ca.crt to the namespace).
    list.items = list.items.filter((o) => o.metadata.name.startsWith('cm-'));
    const names = new Set(list.items.map((o) => o.metadata.name));
    const missing = [...acked].filter((i) => !names.has(`cm-${i}`));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged writes are missing on ${s.url}`);
    assert.equal(list.items.length, WRITES, 'every create ended in 201 or 409 (stored), so every object exists');
    for (const o of list.items) present.set(o.metadata.name, Number(o.metadata.resourceVersion));
  }
  const expectedOrder = [...present.entries()].sort((a, b) => a[1] - b[1]).map(([name]) => name);

  // The watchers of the surviving servers catch up with everything, in order.
  for (const [i, w] of watchers.entries()) {
    if (i === 2) continue; // that server was killed
    const deadline = Date.now() + 60_000;
    const ours = () => w.events.filter((e) => e.name.startsWith('cm-'));
    while (ours().length < WRITES && w.errors.length === 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(w.errors, [], `watcher on server ${i}`);
    assert.deepEqual(w.events.filter((e) => e.type !== 'ADDED'), [], `watcher on server ${i} saw only ADDED`);
    for (let k = 1; k < w.events.length; k++) {
      if (w.events[k].resourceVersion <= w.events[k - 1].resourceVersion) {
        assert.fail(`watcher on server ${i}: resourceVersion went from ${w.events[k - 1].resourceVersion} to ${w.events[k].resourceVersion} at event ${k}`);
      }
    }
    assert.equal(ours().length, WRITES, `watcher on server ${i} saw every object once`);
    assert.deepEqual(ours().map((e) => e.name), expectedOrder, `watcher on server ${i} saw the objects in resourceVersion order`);
  }
  for (const w of watchers) await w.stop();
  for (const a of agents.values()) await a.close().catch(() => undefined);
  await chaos;
  console.log(`# ${WRITES} creates in ${seconds.toFixed(1)} s (${(WRITES / seconds).toFixed(0)}/s): ${acked.size} answered 201, ` +
    `${conflictOnRetry.size} 409 on a retry, ${conflictFirst.size} 409 on the first try, ${retries} retries; ` +
    `watch resumes: ${watchers.map((w) => w.resumes).join('/')}`);
  assert.equal(conflictFirst.size, 0, 'a first attempt answered 409 means the server retried a write that had succeeded');
});
