// What a node programs for its peers, from the Node objects alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { parseIpv4Cidr } from '../../src/network/cidr.ts';
import { vtepMac } from '../../src/network/links.ts';
import { masqueradeTable } from '../../src/network/masquerade.ts';
import { backendAnnotations, type Backend } from '../../src/network/node-network.ts';
import { planPeers } from '../../src/network/peers.ts';
import { podNetworkConflist } from '../../src/network/cni.ts';

const cluster = parseIpv4Cidr('10.42.0.0/16');
const node = (name: string, podCIDR: string | undefined, backend: Backend | undefined, ip: string, mac?: string): Node => ({
  metadata: { name, annotations: backend ? backendAnnotations(backend, ip, mac) : {} },
  spec: podCIDR ? { podCIDR } : {},
});
const input = (backend: Backend) => ({ self: 'a', backend, clusterCidr: cluster, ownPodCidr: '10.42.0.0/24', underlayDev: 'eth0' });

describe('planPeers', () => {
  const macB = vtepMac('b');
  const macC = vtepMac('c');
  it('VXLAN: a route via the peer .0 onlink, a neighbour to its VTEP MAC and an FDB entry to its underlay IP; not for itself', () => {
    const plan = planPeers([node('a', '10.42.0.0/24', 'vxlan', '192.168.1.1', vtepMac('a')), node('b', '10.42.1.0/24', 'vxlan', '192.168.1.2', macB),
      node('c', '10.42.2.0/24', 'vxlan', '192.168.1.3', macC)], input('vxlan'));
    assert.deepEqual(plan.routes, [
      { dst: '10.42.1.0/24', via: '10.42.1.0', dev: 'skiff.1', onlink: true },
      { dst: '10.42.2.0/24', via: '10.42.2.0', dev: 'skiff.1', onlink: true },
    ]);
    assert.deepEqual(plan.neighbours, [{ ip: '10.42.1.0', mac: macB }, { ip: '10.42.2.0', mac: macC }]);
    assert.deepEqual(plan.fdb, [{ mac: macB, dst: '192.168.1.2' }, { mac: macC, dst: '192.168.1.3' }]);
    assert.deepEqual(plan.skipped, []);
  });

  it('host-gw: a route via the peer underlay IP on the underlay device', () => {
    const plan = planPeers([node('b', '10.42.1.0/24', 'host-gw', '192.168.1.2')], input('host-gw'));
    assert.deepEqual(plan.routes, [{ dst: '10.42.1.0/24', via: '192.168.1.2', dev: 'eth0', onlink: false }]);
    assert.deepEqual([plan.neighbours, plan.fdb], [[], []]);
  });

  it('leaves out nodes it cannot route to, saying why', () => {
    const plan = planPeers([
      node('b', undefined, 'vxlan', '192.168.1.2', macB),
      node('c', '10.42.2.0/24', undefined, '192.168.1.3'),
      node('d', '10.42.3.0/24', 'host-gw', '192.168.1.4'),
      node('e', '10.42.4.0/24', 'vxlan', '192.168.1.5'),
      node('f', '10.99.0.0/24', 'vxlan', '192.168.1.6', vtepMac('f')),
      node('g', '10.42.0.0/24', 'vxlan', '192.168.1.7', vtepMac('g')),
      node('h', '10.42.8.0/24', 'vxlan', '192.168.1.8', vtepMac('h')),
      node('i', '10.42.8.0/24', 'vxlan', '192.168.1.9', vtepMac('i')),
      node('j', '10.42.9.0/24', 'vxlan', 'not-an-ip', vtepMac('j')),
    ], input('vxlan'));
    assert.deepEqual(plan.peers.map((p) => p.name), ['h']);
    const why = Object.fromEntries(plan.skipped.map((s) => [s.name, s.problem]));
    assert.match(why.b, /no spec.podCIDR/);
    assert.match(why.c, /has not published/);
    assert.match(why.d, /uses backend host-gw, this node vxlan/);
    assert.match(why.e, /no VtepMAC/);
    assert.match(why.f, /outside the cluster range/);
    assert.match(why.g, /claims podCIDR 10.42.0.0\/24, which node a holds/);
    assert.match(why.i, /claims podCIDR 10.42.8.0\/24, which node h holds/);
    assert.match(why.j, /public-ip/);
  });
});

describe('pod network pieces', () => {
  it('a VTEP MAC is stable per node name, unicast and locally administered', () => {
    assert.equal(vtepMac('node-1'), vtepMac('node-1'));
    assert.notEqual(vtepMac('node-1'), vtepMac('node-2'));
    const first = parseInt(vtepMac('node-1').slice(0, 2), 16);
    assert.equal(first & 1, 0);
    assert.equal(first & 2, 2);
  });

  it('masquerades only traffic from the cluster range to outside it', () => {
    assert.match(masqueradeTable('10.42.0.0/16'), /ip saddr 10\.42\.0\.0\/16 ip daddr != 10\.42\.0\.0\/16 masquerade/);
    assert.throws(() => masqueradeTable('10.42.0.1/16'), /host bits/);
  });

  it('the CNI conflist is the agent\'s, with the backend MTU on the bridge plugin', () => {
    const c = podNetworkConflist('10.42.3.0/24', 1450) as { plugins: { type: string; mtu?: number; isGateway?: boolean; ipam?: { ranges: unknown } }[] };
    assert.deepEqual(c.plugins.map((p) => p.type), ['bridge', 'portmap']);
    assert.equal(c.plugins[0].mtu, 1450);
    assert.equal(c.plugins[0].isGateway, true);
    assert.deepEqual(c.plugins[0].ipam?.ranges, [[{ subnet: '10.42.3.0/24' }]]);
  });
});
