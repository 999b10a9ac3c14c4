// Three nodes with the host-gw backend: each node routes every other node's lease straight to
// that node's underlay IP (they share the underlay bridge, so they are L2 neighbours).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { BACKEND_DATA_ANNOTATION, BACKEND_TYPE_ANNOTATION, PUBLIC_IP_ANNOTATION } from '../../src/network/node-network.ts';
import type { FakePod } from '../helpers/multinode.ts';
import { waitFor } from '../helpers/wait.ts';
import { type NetCluster, startNetCluster, waitForMesh } from './net-cluster.ts';

describe('pod network, host-gw backend, 3 nodes', { timeout: 240_000 }, () => {
  let c: NetCluster;
  let pods: FakePod[];

  before(async () => {
    c = await startNetCluster('host-gw');
    await waitForMesh(c);
    pods = [];
    for (let i = 0; i < 3; i++) pods.push(await c.mn.addPod(i, c.podCidrs[i]));
  });
  after(async () => {
    await c?.cleanup();
  });

  it('pods on different nodes ping each other by IP', async () => {
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        assert.ok(await from.ping(to.ip, { count: 2 }), `pod ${from.ip} on ${from.node.name} cannot ping pod ${to.ip} on ${to.node.name}`);
      }
    }
  });

  it('routes each peer lease via the peer\'s underlay IP, with no VXLAN device and the full underlay MTU', async () => {
    for (const n of c.mn.nodes) {
      const routes = await c.mn.ip(n.index, ['-4', 'route', 'show', 'proto', '83']);
      for (const [j, peer] of c.mn.nodes.entries()) {
        if (j === n.index) continue;
        assert.match(routes, new RegExp(`^${c.podCidrs[j]} via ${peer.underlayIp} dev ${n.underlayDev}`, 'm'));
      }
      assert.equal(routes.trim().split('\n').length, 2);
      assert.equal((await c.mn.exec(n.index, '/usr/sbin/ip', ['link', 'show', 'dev', 'skiff.1'])).code, 1);
      const mtu = (dev: string) => c.mn.ip(n.index, ['-j', 'link', 'show', 'dev', dev]).then((s) => (JSON.parse(s) as { mtu: number }[])[0].mtu);
      assert.equal(await mtu('skiff0'), await mtu(n.underlayDev));
    }
  });

  it('publishes backend type host-gw, no backend data, and the underlay IP', async () => {
    for (const n of c.mn.nodes) {
      const a = (await c.client.get<Node>(R.nodes, n.name)).metadata!.annotations!;
      assert.equal(a[BACKEND_TYPE_ANNOTATION], 'host-gw');
      assert.equal(a[BACKEND_DATA_ANNOTATION], 'null');
      assert.equal(a[PUBLIC_IP_ANNOTATION], n.underlayIp);
    }
  });

  it('deleting a Node removes its route on the others', async () => {
    await c.client.delete(R.nodes, c.mn.nodes[0].name);
    for (const i of [1, 2]) {
      await waitFor(`node ${i} to drop its route to the deleted node's ${c.podCidrs[0]}`, async () =>
        !(await c.mn.ip(i, ['-4', 'route', 'show', 'proto', '83'])).includes(c.podCidrs[0]), 30_000, 200);
    }
    assert.ok(await pods[1].ping(pods[2].ip));
    assert.equal(await pods[1].ping(pods[0].ip), false);
  });
});
