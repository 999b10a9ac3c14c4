// The network agent's life on two nodes: waiting for its Node and lease, restarting without
// changing anything, switching backends, bad configuration, and teardown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { type Backend, type NetworkAgent, startNetworkAgent, teardownNetwork } from '../../src/network/index.ts';
import { createMultiNode, type MultiNode } from '../helpers/multinode.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor, within } from '../helpers/wait.ts';

describe('network agent lifecycle, 2 nodes', { timeout: 240_000 }, () => {
  let server: TestServer;
  let client: RestClient;
  let mn: MultiNode;
  const running = new Set<NetworkAgent>();
  const logs = new Map<NetworkAgent, string[]>();

  const start = (i: number, backend: Backend, underlayIp = mn.nodes[i].underlayIp) => {
    const lines: string[] = [];
    const agent = startNetworkAgent({
      client, nodeName: mn.nodes[i].name, backend, underlayIp, clusterCidr: '10.42.0.0/16', netns: mn.nodes[i].netns,
      resyncMs: 1000, log: (l) => lines.push(l),
    });
    running.add(agent);
    logs.set(agent, lines);
    return agent;
  };
  const stop = async (a: NetworkAgent) => {
    running.delete(a);
    await a.stop();
  };
  const podCidr = async (i: number) => (await client.get<Node>(R.nodes, mn.nodes[i].name)).spec!.podCIDR!;
  const meshed = (agents: NetworkAgent[]) => waitFor('both agents routing to each other', () =>
    agents.every((a) => a.status().lastSync && a.status().peers.length === 1), 60_000, 100);

  before(async () => {
    server = await startServer();
    client = RestClient.fromKubeconfig(server.kubeconfig);
    mn = await createMultiNode({ nodes: 2 });
  });
  after(async () => {
    await Promise.all([...running].map((a) => a.stop()));
    await mn?.cleanup();
    await client?.close();
    await server?.cleanup();
  });

  let agents: NetworkAgent[] = [];

  it('waits for its Node and the Node\'s podCIDR before programming anything, then meshes', async () => {
    agents = [start(0, 'vxlan'), start(1, 'vxlan')];
    let ready = false;
    void Promise.all(agents.map((a) => a.ready())).then(() => (ready = true));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(ready, false, 'ready before the Node exists');
    assert.equal((await mn.exec(0, '/usr/sbin/ip', ['link', 'show', 'dev', 'skiff0'])).code, 1, 'skiff0 made before the node has a lease');
    assert.ok(logs.get(agents[0])!.some((l) => l.includes('does not exist')), logs.get(agents[0])!.join('\n'));
    for (const n of mn.nodes) await client.create<Node>(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: n.name } });
    await within('both agents ready', Promise.all(agents.map((a) => a.ready())), 60_000);
    await meshed(agents);
    const pods = [await mn.addPod(0, await podCidr(0)), await mn.addPod(1, await podCidr(1))];
    assert.ok(await pods[0].ping(pods[1].ip, { count: 2 }));
    for (const p of pods) await p.remove();
  });

  it('a restarted agent keeps its VTEP MAC and finds nothing to change', async () => {
    const mac = agents[0].status().vtepMac;
    assert.ok(mac);
    await stop(agents[0]);
    agents[0] = start(0, 'vxlan');
    await within('restarted agent ready', agents[0].ready(), 60_000);
    await meshed(agents);
    assert.equal(agents[0].status().vtepMac, mac);
    const link = JSON.parse(await mn.ip(0, ['-j', 'link', 'show', 'dev', 'skiff.1'])) as { address: string }[];
    assert.equal(link[0].address, mac);
    const changed = logs.get(agents[0])!.filter((l) => /added|removed|published|masquerade|safety|CNI/.test(l));
    assert.deepEqual(changed, []);
  });

  it('follows a node whose underlay IP changes: its VXLAN device is remade, the peer\'s FDB entry moves', async () => {
    const newIp = '192.168.77.50';
    await mn.ip(1, ['addr', 'add', `${newIp}/24`, 'dev', 'skiffeth0']);
    await stop(agents[1]);
    agents[1] = start(1, 'vxlan', newIp);
    await within('agent 1 ready on its new address', agents[1].ready(), 60_000);
    const mac = agents[1].status().vtepMac!;
    await waitFor('node 0 to send node 1\'s VTEP traffic to the new address only', async () => {
      const fdb = (await mn.exec(0, '/usr/sbin/bridge', ['fdb', 'show', 'dev', 'skiff.1'])).stdout.toString();
      return fdb.includes(`${mac} dst ${newIp} `) && !fdb.includes(`dst ${mn.nodes[1].underlayIp} `);
    }, 30_000, 200);
    const vx = JSON.parse(await mn.ip(1, ['-j', '-d', 'link', 'show', 'dev', 'skiff.1'])) as { linkinfo: { info_data: { local: string } } }[];
    assert.equal(vx[0].linkinfo.info_data.local, newIp);
    const pods = [await mn.addPod(0, await podCidr(0)), await mn.addPod(1, await podCidr(1))];
    assert.ok(await pods[0].ping(pods[1].ip, { count: 2 }));
    for (const p of pods) await p.remove();
  });

  it('switches from VXLAN to host-gw: skiff.1 goes away and the routes point at the underlay', async () => {
    await Promise.all(agents.map(stop));
    agents = [start(0, 'host-gw'), start(1, 'host-gw')];
    await within('host-gw agents ready', Promise.all(agents.map((a) => a.ready())), 60_000);
    await meshed(agents);
    await waitFor('routes via the underlay on both nodes', async () => {
      for (const i of [0, 1]) {
        const routes = await mn.ip(i, ['-4', 'route', 'show', 'proto', '83']);
        if (!routes.includes(`${await podCidr(1 - i)} via ${mn.nodes[1 - i].underlayIp} dev skiffeth0`)) return false;
        if (routes.includes('skiff.1')) return false;
      }
      return true;
    }, 30_000, 200);
    for (const i of [0, 1]) assert.equal((await mn.exec(i, '/usr/sbin/ip', ['link', 'show', 'dev', 'skiff.1'])).code, 1);
    const pods = [await mn.addPod(0, await podCidr(0)), await mn.addPod(1, await podCidr(1))];
    assert.ok(await pods[0].ping(pods[1].ip, { count: 2 }));
    for (const p of pods) await p.remove();
  });

  it('says so when the underlay IP is not on any device, and does not become ready', async () => {
    await stop(agents[0]);
    agents[0] = start(0, 'host-gw', '192.168.77.250');
    await waitFor('an error naming the underlay IP', () =>
      logs.get(agents[0])!.some((l) => l.includes('underlay IP 192.168.77.250 is not on any device')), 30_000, 100);
    const bad = agents[0];
    const readyAfterStop = bad.ready().then(() => 'resolved', (e: Error) => e.message);
    await stop(bad);
    assert.match(await readyAfterStop, /stopped before the pod network was ready/);
  });

  it('teardownNetwork removes everything the agent made, and a second run finds nothing', async () => {
    await Promise.all([...running].map(stop));
    for (const n of mn.nodes) {
      const removed = await teardownNetwork({ netns: n.netns });
      assert.ok(removed.includes('link skiff0'), removed.join(', '));
      assert.ok(removed.includes('nft table ip skiff-nat'), removed.join(', '));
      assert.ok(removed.includes('route unreachable 10.42.0.0/16'), removed.join(', '));
      assert.equal((await mn.exec(n.index, '/usr/sbin/ip', ['link', 'show', 'dev', 'skiff0'])).code, 1);
      assert.equal((await mn.exec(n.index, '/usr/sbin/nft', ['list', 'table', 'ip', 'skiff-nat'])).code, 1);
      assert.equal((await mn.ip(n.index, ['-4', 'route', 'show', 'proto', '83'])).trim(), '');
      assert.equal((await mn.ip(n.index, ['-4', 'route', 'show', 'type', 'unreachable'])).trim(), '');
      assert.deepEqual(await teardownNetwork({ netns: n.netns }), []);
    }
  });
});
