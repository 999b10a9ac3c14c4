// Three nodes (network namespaces on one underlay bridge) with the VXLAN backend, Nodes in a real
// skiff server: fake pods on different nodes reach each other by IP through skiff.1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { BACKEND_DATA_ANNOTATION, BACKEND_TYPE_ANNOTATION, PUBLIC_IP_ANNOTATION } from '../../src/network/node-network.ts';
import type { FakePod } from '../helpers/multinode.ts';
import { run } from '../../src/runtime/command.ts';
import { waitFor } from '../helpers/wait.ts';
import { type NetCluster, startNetCluster, waitForMesh } from './net-cluster.ts';

interface Link { mtu: number; address: string; linkinfo: { info_kind: string; info_data: Record<string, unknown> } }

describe('pod network, VXLAN backend, 3 nodes', { timeout: 240_000 }, () => {
  let c: NetCluster;
  let pods: FakePod[];
  const link = async (i: number, dev: string) => (JSON.parse(await c.mn.ip(i, ['-j', '-d', 'link', 'show', 'dev', dev])) as Link[])[0];

  before(async () => {
    c = await startNetCluster('vxlan', { resyncMs: 1500 });
    await waitForMesh(c);
    pods = [];
    for (let i = 0; i < 3; i++) pods.push(await c.mn.addPod(i, c.podCidrs[i]));
  });
  after(async () => {
    await c?.cleanup();
  });

  it('gives every node its own /24 lease, and pods on different nodes ping each other by IP', async () => {
    assert.equal(new Set(c.podCidrs).size, 3);
    for (const cidr of c.podCidrs) assert.match(cidr, /^10\.42\.\d+\.0\/24$/);
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        assert.ok(await from.ping(to.ip, { count: 2 }), `pod ${from.ip} on ${from.node.name} cannot ping pod ${to.ip} on ${to.node.name}`);
      }
    }
  });

  it('publishes each node\'s backend data on its Node, matching its VXLAN device', async () => {
    for (const n of c.mn.nodes) {
      const node = await c.client.get<Node>(R.nodes, n.name);
      const a = node.metadata!.annotations!;
      assert.equal(a[BACKEND_TYPE_ANNOTATION], 'vxlan');
      assert.equal(a[PUBLIC_IP_ANNOTATION], n.underlayIp);
      const data = JSON.parse(a[BACKEND_DATA_ANNOTATION]) as { VNI: number; VtepMAC: string };
      assert.equal(data.VNI, 1);
      assert.equal(data.VtepMAC, (await link(n.index, 'skiff.1')).address);
    }
  });

  it('programs skiff.1 (VNI 1, port 8472, local underlay IP, no learning) with MTU = underlay MTU - 50, and the bridge with the same MTU', async () => {
    for (const n of c.mn.nodes) {
      const underlay = await link(n.index, n.underlayDev);
      const vx = await link(n.index, 'skiff.1');
      assert.equal(vx.linkinfo.info_kind, 'vxlan');
      assert.equal(vx.linkinfo.info_data.id, 1);
      assert.equal(vx.linkinfo.info_data.port, 8472);
      assert.equal(vx.linkinfo.info_data.local, n.underlayIp);
      assert.equal(vx.linkinfo.info_data.learning, false);
      assert.equal(vx.mtu, underlay.mtu - 50);
      assert.equal((await link(n.index, 'skiff0')).mtu, underlay.mtu - 50);
      const addrs = await c.mn.ip(n.index, ['-4', '-o', 'addr', 'show', 'dev', 'skiff.1']);
      assert.match(addrs, new RegExp(`inet ${c.podCidrs[n.index].replace('/24', '')}/32 `));
    }
    // The largest ICMP echo that fits the pod MTU crosses the tunnel (busybox ping -s: payload bytes).
    const payload = (await link(0, 'skiff0')).mtu - 28;
    const r = await pods[0].exec('/bin/busybox', ['ping', '-c', '1', '-W', '3', '-s', String(payload), pods[1].ip]);
    assert.equal(r.code, 0, r.stdout.toString() + r.stderr.toString());
  });

  it('programs, for every other node, a route via its .0 onlink, a permanent neighbour and an FDB entry to its underlay IP', async () => {
    const nodes = await Promise.all(c.mn.nodes.map((n) => c.client.get<Node>(R.nodes, n.name)));
    for (const n of c.mn.nodes) {
      const routes = await c.mn.ip(n.index, ['-4', 'route', 'show', 'dev', 'skiff.1']);
      const neigh = await c.mn.ip(n.index, ['-4', 'neigh', 'show', 'dev', 'skiff.1', 'nud', 'permanent']);
      const fdb = (await run('/usr/sbin/bridge', ['-n', n.netns, 'fdb', 'show', 'dev', 'skiff.1'])).stdout.toString();
      for (const [j, peer] of c.mn.nodes.entries()) {
        if (j === n.index) continue;
        const vtep = c.podCidrs[j].replace('/24', '');
        const mac = (JSON.parse(nodes[j].metadata!.annotations![BACKEND_DATA_ANNOTATION]) as { VtepMAC: string }).VtepMAC;
        assert.match(routes, new RegExp(`^${c.podCidrs[j]} via ${vtep} .*onlink`, 'm'));
        assert.match(neigh, new RegExp(`^${vtep} lladdr ${mac} PERMANENT`, 'm'));
        assert.match(fdb, new RegExp(`^${mac} dst ${peer.underlayIp} self permanent`, 'm'));
      }
    }
  });

  it('installs the unreachable safety routes and the masquerade table inside each node namespace, never on the host', async () => {
    for (const n of c.mn.nodes) {
      const unreachable = await c.mn.ip(n.index, ['-4', 'route', 'show', 'type', 'unreachable']);
      assert.match(unreachable, /^unreachable 10\.42\.0\.0\/16 metric 4294967295/m);
      assert.match(unreachable, /^unreachable 10\.43\.0\.0\/16 metric 4294967295/m);
      const table = await c.mn.exec(n.index, '/usr/sbin/nft', ['list', 'table', 'ip', 'skiff-nat']);
      assert.equal(table.code, 0, table.stderr.toString());
      assert.match(table.stdout.toString(), /ip saddr 10\.42\.0\.0\/16 ip daddr != 10\.42\.0\.0\/16 masquerade/);
    }
    // A pod address no node holds dies at the safety route instead of taking any default route.
    const r = await pods[0].exec('/bin/busybox', ['ping', '-c', '1', '-W', '2', '10.42.250.9']);
    assert.notEqual(r.code, 0);
    // The host's own routes and tables are not ours to touch.
    const hostRoutes = (await run('/usr/sbin/ip', ['-4', 'route', 'show', 'proto', '83'])).stdout.toString();
    assert.equal(hostRoutes.trim(), '');
    const hostLink = await run('/usr/sbin/ip', ['link', 'show', 'dev', 'skiff.1'], { allowFailure: true });
    assert.notEqual(hostLink.code, 0, 'skiff.1 must not exist in the host namespace');
  });

  it('masquerades pod traffic leaving the cluster range (the underlay has no route back to pods)', async () => {
    assert.ok(await pods[1].ping(c.mn.underlayGateway, { count: 2 }), 'pod cannot reach an address outside the cluster');
    // Removed behind the agent's back, the table comes back on the next periodic reconcile.
    await c.mn.exec(0, '/usr/sbin/nft', ['delete', 'table', 'ip', 'skiff-nat']);
    await waitFor('the agent to restore table skiff-nat', async () => (await c.mn.exec(0, '/usr/sbin/nft', ['list', 'table', 'ip', 'skiff-nat'])).code === 0, 30_000, 200);
    assert.ok(await pods[0].ping(c.mn.underlayGateway, { count: 2 }));
  });

  it('repairs a peer route deleted behind its back', async () => {
    await c.mn.ip(0, ['route', 'del', c.podCidrs[1], 'proto', '83']);
    await waitFor('the agent to restore the route to node 1', async () =>
      (await c.mn.ip(0, ['-4', 'route', 'show', c.podCidrs[1]])).includes('dev skiff.1'), 30_000, 200);
    assert.ok(await pods[0].ping(pods[1].ip, { count: 2 }));
  });

  it('deleting a Node removes its route, neighbour and FDB entries on the other nodes', async () => {
    const gone = c.mn.nodes[2];
    const node = await c.client.get<Node>(R.nodes, gone.name);
    const mac = (JSON.parse(node.metadata!.annotations![BACKEND_DATA_ANNOTATION]) as { VtepMAC: string }).VtepMAC;
    const vtep = c.podCidrs[2].replace('/24', '');
    await c.client.delete(R.nodes, gone.name);
    for (const i of [0, 1]) {
      await waitFor(`node ${i} to drop its route, neighbour and FDB entry for ${gone.name}`, async () => {
        const routes = await c.mn.ip(i, ['-4', 'route', 'show', 'proto', '83']);
        const neigh = await c.mn.ip(i, ['-4', 'neigh', 'show', 'dev', 'skiff.1']);
        const fdb = (await run('/usr/sbin/bridge', ['-n', c.mn.nodes[i].netns, 'fdb', 'show', 'dev', 'skiff.1'])).stdout.toString();
        return !routes.includes(c.podCidrs[2]) && !neigh.includes(`${vtep} `) && !fdb.includes(mac);
      }, 30_000, 200);
      // The other peer stays.
      assert.match(await c.mn.ip(i, ['-4', 'route', 'show', 'proto', '83']), new RegExp(c.podCidrs[1 - i]));
    }
    assert.ok(await pods[0].ping(pods[1].ip), 'the remaining nodes still reach each other');
    assert.equal(await pods[0].ping(pods[2].ip), false, 'the deleted node is no longer routed to');
  });
});
