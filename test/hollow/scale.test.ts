// Scale check: one process registers 1,000 hollow nodes and keeps every Lease
// renewed over one connection pool. Prints how long registration and a full
// renewal round took.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { type HollowNodes, startHollowNodes } from '../../src/hollow/index.ts';
import { type Harness, startHarness, waitFor } from '../controllers/harness.ts';

const COUNT = 1000;
const RENEW_MS = 3000;

describe('1,000 hollow nodes in one process', { timeout: 90_000 }, () => {
  let h: Harness;
  let hollow: HollowNodes | undefined;
  before(async () => {
    h = await startHarness([]);
  });
  after(async () => {
    await hollow?.stop();
    await h?.stop();
  });

  it('register and keep their leases renewed', async () => {
    const started = Date.now();
    hollow = await startHollowNodes({ client: h.client, count: COUNT, prefix: 'scale', leaseRenewIntervalMs: RENEW_MS, log: (m) => h.logs.push(m) });
    console.log(`# registered ${COUNT} hollow nodes (Node + status + Lease) in ${hollow.registeredInMs} ms`);
    assert.ok(hollow.registeredInMs < 60_000, `registration took ${hollow.registeredInMs} ms`);

    const nodes = await h.client.listAll<Node>(R.nodes, { labelSelector: 'node.skiff.io/hollow=true' });
    assert.equal(nodes.items.length, COUNT);
    assert.ok(nodes.items.every((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'), 'all Ready');

    // Every lease is renewed after registration finished, within about one interval (renewals are spread over it).
    const registeredAt = new Date(started + hollow.registeredInMs).toISOString();
    const renewedSince = async (iso: string) => {
      const { items } = await h.client.listAll<Lease>(R.leases, { namespace: 'kube-node-lease' });
      return items.filter((l) => l.metadata!.name!.startsWith('scale-') && (l.spec!.renewTime ?? '') > iso.replace('Z', '000Z')).length;
    };
    const roundStart = Date.now();
    await waitFor(`all ${COUNT} leases renewed`, async () => (await renewedSince(registeredAt)) === COUNT, 3 * RENEW_MS + 10_000, 250);
    const roundMs = Date.now() - roundStart;
    console.log(`# every lease renewed within ${roundMs} ms after registration (interval ${RENEW_MS} ms)`);
    // Steady state: at any moment the stalest lease is at most about one interval old.
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, RENEW_MS / 2));
      const listStart = Date.now();
      const { items } = await h.client.listAll<Lease>(R.leases, { namespace: 'kube-node-lease' });
      const listedAt = Date.now();
      const oldest = Math.min(...items.filter((l) => l.metadata!.name!.startsWith('scale-')).map((l) => Date.parse(l.spec!.renewTime!)));
      const stalest = listedAt - oldest;
      console.log(`# steady state: stalest of ${COUNT} leases is ${stalest} ms old (interval ${RENEW_MS} ms; the list took ${listedAt - listStart} ms)`);
      assert.ok(stalest < RENEW_MS + 1500, `a lease went ${stalest} ms without renewal`);
    }
    console.log(`# heartbeat stats ${JSON.stringify(hollow.heartbeats.stats)}`);
    assert.equal(hollow.heartbeats.stats.renewFailures, 0, h.logs.slice(-5).join('\n'));
  });
});
