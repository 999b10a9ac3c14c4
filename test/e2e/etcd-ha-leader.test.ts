// Issue 7's acceptance: the API server running the controllers (the Lease holder) is killed
// with kill -9, and another server's controllers take over: a Deployment change made through a
// surviving server is reconciled within 15 s of the kill.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHaCluster, type HaCluster } from '../helpers/skiff-ha.ts';
import type { TestServer } from '../helpers/skiff-server.ts';

let ha: HaCluster;
before(async () => { ha = await startHaCluster({ servers: 3 }); });
after(async () => { await ha?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deployment(name: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'skiff.local/busybox:latest' }] } },
    },
  });
}

/** The replicas of the ReplicaSets a Deployment owns, as seen through s. */
async function ownedReplicas(s: TestServer, name: string): Promise<number[]> {
  const res = await s.fetch('/apis/apps/v1/namespaces/default/replicasets');
  const list = (await res.json()) as { items: { metadata: { ownerReferences?: { name: string }[] }; spec: { replicas: number } }[] };
  return list.items.filter((rs) => rs.metadata.ownerReferences?.some((o) => o.name === name)).map((rs) => rs.spec.replicas);
}

async function waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen in time`);
    await sleep(200);
  }
}

function leaders(servers: TestServer[]): TestServer[] {
  // A server logs "started controllers" when it takes the Lease and "leader election lost" when it lets go.
  return servers.filter((s) => {
    const out = s.output();
    return out.lastIndexOf('started controllers') > out.lastIndexOf('leader election lost');
  });
}

it('moves the controllers to another API server within 15 s of the leader being killed', { timeout: 150_000 }, async () => {
  await waitFor('a controller leader', Date.now() + 60_000, async () => leaders(ha.servers).length === 1);
  const [leader] = leaders(ha.servers);
  const others = ha.servers.filter((s) => s !== leader);
  assert.equal(leaders(others).length, 0, 'only one server runs the controllers');

  // Reconciling works before the kill.
  const post = (s: TestServer, body: string) => s.fetch('/apis/apps/v1/namespaces/default/deployments', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body,
  });
  assert.equal((await post(others[0], deployment('before', 1))).status, 201);
  await waitFor('the ReplicaSet of "before"', Date.now() + 30_000, async () => (await ownedReplicas(others[1], 'before')).join() === '1');

  await leader.kill9();
  const killedAt = Date.now();
  // Changes through the survivors: a scale and a new Deployment.
  const scaled = await others[1].fetch('/apis/apps/v1/namespaces/default/deployments/before/scale', {
    method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas: 3 } }),
  });
  assert.equal(scaled.status, 200, await scaled.text());
  assert.equal((await post(others[0], deployment('after', 2))).status, 201);

  await waitFor('"before" scaled to 3 and "after" reconciled', killedAt + 15_000, async () =>
    (await ownedReplicas(others[0], 'before')).join() === '3' && (await ownedReplicas(others[0], 'after')).join() === '2');
  const took = (Date.now() - killedAt) / 1000;
  assert.equal(leaders(others).length, 1, 'one survivor took the Lease');
  console.log(`# reconciled ${took.toFixed(1)} s after the leader was killed`);
});
