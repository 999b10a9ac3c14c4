// Node IPAM against a real server: unique per-node /24s from the cluster range,
// ranges already in use respected, a CIDRNotAvailable event when the range is
// full, and a deleted node's range handed to the next node that needs one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { CidrSet, definition } from '../../src/controllers/node-ipam.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';

const node = (name: string, podCIDR?: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, ...(podCIDR ? { spec: { podCIDR, podCIDRs: [podCIDR] } } : {}) });

describe('node IPAM controller', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    // A /22 holds four /24s: enough to fill it in a test.
    h = await startHarness([], { options: { clusterCidr: '10.42.0.0/22', nodeCidrMaskSize: 24 } });
  });
  after(() => h?.stop());

  it('gives every node its own /24, never one in use, and reuses a deleted node\'s range', async () => {
    await h.client.create(R.nodes, node('pre', '10.42.0.0/24')); // allocated before the controller ran
    h.start(definition);
    for (const name of ['a', 'b', 'c']) await h.client.create(R.nodes, node(name));
    const cidrs = await waitFor('a, b and c get pod CIDRs', async () => {
      const got = await Promise.all(['a', 'b', 'c'].map(async (n) => (await h.client.get<Node>(R.nodes, n)).spec));
      return got.every((s) => s?.podCIDR) && got;
    });
    const all = ['10.42.0.0/24', ...cidrs.map((s) => s!.podCIDR!)];
    assert.equal(new Set(all).size, 4, `unique: ${all}`);
    for (const s of cidrs) {
      assert.match(s!.podCIDR!, /^10\.42\.[0-3]\.0\/24$/);
      assert.deepEqual(s!.podCIDRs, [s!.podCIDR]);
    }
    assert.equal((await h.client.get<Node>(R.nodes, 'pre')).spec!.podCIDR, '10.42.0.0/24', 'an existing range is kept');

    // The range is full: the fifth node waits, with an event saying why.
    await h.client.create(R.nodes, node('d'));
    await waitFor('CIDRNotAvailable event for d', async () => {
      const { items } = await h.client.list<Event>(R.events, { namespace: 'default' });
      return items.some((e) => e.reason === 'CIDRNotAvailable' && e.involvedObject.name === 'd');
    });
    assert.equal((await h.client.get<Node>(R.nodes, 'd')).spec?.podCIDR, undefined);

    // Deleting b frees its range for d.
    const freed = cidrs[1]!.podCIDR!;
    await h.client.delete(R.nodes, 'b');
    const got = await waitFor('d gets the freed range', async () => (await h.client.get<Node>(R.nodes, 'd')).spec?.podCIDR);
    assert.equal(got, freed);
    assert.match(await h.k(['get', 'node', 'd', '-o', 'jsonpath={.spec.podCIDR}']), new RegExp(`^${freed.replace(/\./g, '\\.')}$`));
  });
});

describe('CidrSet', () => {
  it('hands out each subnet once and takes back only from its holder', () => {
    const s = new CidrSet('10.42.0.0/16', 24);
    const got = new Set<string>();
    for (let i = 0; i < 256; i++) got.add(s.allocate(`n${i}`)!);
    assert.equal(got.size, 256);
    assert.equal(s.allocate('extra'), undefined, 'full');
    s.release('10.42.7.0/24', 'somebody-else');
    assert.equal(s.allocate('extra'), undefined, 'not released by a non-holder');
    s.release('10.42.7.0/24', 'n7');
    assert.equal(s.allocate('extra'), '10.42.7.0/24');
    assert.equal(s.occupy('10.42.7.0/24', 'other'), false, 'held by extra');
    assert.equal(s.occupy('192.168.0.0/24', 'other'), false, 'outside the range');
  });

  it('rejects a cluster range with host bits or a node mask larger than it', () => {
    assert.throws(() => new CidrSet('10.42.0.1/16', 24), /host bits/);
    assert.throws(() => new CidrSet('10.42.0.0/24', 16), /larger than the cluster range/);
  });
});
