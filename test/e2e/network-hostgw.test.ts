// Issue 6, section 5 with the host-gw backend: on a 3-node cluster (real `skiff server` and
// `skiff agent` processes in network namespaces, network-cluster.ts) pods on different nodes
// reach each other by IP over plain routes (no skiff.1 VXLAN device, full underlay MTU), and a
// Service spreads a client's requests over replicas on the other two nodes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { clientPod, HTTP_GET, type NetworkCluster, readyPods, service, startNetworkCluster, tally, webDeployment } from './network-cluster.ts';

let c: NetworkCluster;
let web: Pod[] = [];

before(async () => {
  c = await startNetworkCluster({ backend: 'host-gw' });
  await c.apply(clientPod('client', 'n0'));
  await c.apply(webDeployment(2, ['n1', 'n2']));
  await c.apply(service('web', { app: 'web' }));
  web = await readyPods(c, 'app=web', 2);
  await readyPods(c, 'app=client', 1);
});

after(async () => {
  // SKIFF_NET_E2E_LOG=FILE keeps what the server and agents printed (for a failed run).
  if (process.env.SKIFF_NET_E2E_LOG && c) writeFileSync(process.env.SKIFF_NET_E2E_LOG, c.output());
  await c?.cleanup();
});

test('host-gw: each node routes the others\' leases via their underlay addresses, without a VXLAN device', async () => {
  const n0 = c.mn.nodes[0];
  const routes = await c.mn.ip(n0, ['route', 'show', 'proto', '83']);
  for (const peer of c.mn.nodes.slice(1)) assert.match(routes, new RegExp(`via ${peer.underlayIp.replaceAll('.', '\\.')} dev skiffeth0`), routes);
  const links = await c.mn.ip(n0, ['-o', 'link', 'show']);
  assert.doesNotMatch(links, /skiff\.1[:@]/, links);
  // No encapsulation: the bridge (and so every pod) keeps the underlay's MTU.
  assert.match(links, /skiff0: .* mtu 1500 /, links);
});

test('host-gw: pods on different nodes reach each other by IP', async () => {
  assert.deepEqual(web.map((p) => p.spec?.nodeName).sort(), ['n1', 'n2']);
  for (const p of web) {
    const ip = p.status!.podIP!;
    const r = await c.exec('client', `${HTTP_GET}; ping -c 1 -W 3 ${ip} >/dev/null && get ${ip} 8080`);
    assert.equal(r.stdout.trim(), p.metadata!.name, `client on n0 → ${p.metadata!.name} on ${p.spec!.nodeName} (${ip}): ${r.stdout}${r.stderr}`);
  }
  // And back: a replica reaches the client on n0.
  const client = (await c.pods('app=client'))[0];
  const back = await c.exec(web[0].metadata!.name!, `ping -c 1 -W 3 ${client.status!.podIP}`);
  assert.equal(back.code, 0, back.stdout + back.stderr);
});

test('host-gw: web.default.svc.cluster.local spreads over the replicas on n1 and n2', async () => {
  const r = await c.exec('client', `${HTTP_GET}; for i in $(seq 40); do get web.default.svc.cluster.local 8080; done`, 120_000);
  const counts = tally(r.stdout);
  assert.deepEqual([...counts.keys()].sort(), web.map((p) => p.metadata!.name!).sort(), JSON.stringify([...counts]));
  for (const [name, n] of counts) assert.ok(n >= 5, `${name} got ${n} of 40: ${JSON.stringify([...counts])}`);
});
