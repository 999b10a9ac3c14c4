// Issue 6, section 5 on a 3-node cluster with the VXLAN backend: pods reach each other across
// nodes by IP; a Service name spreads a client's requests over replicas on the other two nodes;
// the NodePort answers on every node's address; a pod reaches itself through its own Service;
// ClientIP affinity pins a client; nslookup answers for Services, headless Services and SRV as
// Kubernetes' DNS specification says. Real `skiff server` and `skiff agent` processes in network
// namespaces (network-cluster.ts), driven with kubectl. HTTP goes through busybox nc: the
// builtin image's busybox (Debian's busybox-static 1.35) segfaults in `wget`, on the host too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import { clientPod, HTTP_GET, type NetworkCluster, readyPods, service, startNetworkCluster, tally, webContainer, webDeployment } from './network-cluster.ts';
import { waitFor } from '../helpers/wait.ts';

let c: NetworkCluster;
/** web replicas: name → node. */
const replicas = new Map<string, string>();
const webIps: string[] = [];

before(async () => {
  c = await startNetworkCluster({ backend: 'vxlan' });
  await c.apply(clientPod('client', 'n0'));
  await c.apply(webDeployment(4, ['n1', 'n2']));
  await c.apply(service('web', { app: 'web' }, { type: 'NodePort' }));
  for (const p of await readyPods(c, 'app=web', 4)) {
    replicas.set(p.metadata!.name!, p.spec!.nodeName!);
    webIps.push(p.status!.podIP!);
  }
  await readyPods(c, 'app=client', 1);
});

after(async () => {
  // SKIFF_NET_E2E_LOG=FILE keeps what the server and agents printed (for a failed run).
  if (process.env.SKIFF_NET_E2E_LOG && c) writeFileSync(process.env.SKIFF_NET_E2E_LOG, c.output());
  await c?.cleanup();
});

/** The web replicas that answered each of n requests to host:port from a pod. */
async function ask(host: string, port: number, n: number, from = 'client'): Promise<Map<string, number>> {
  const r = await c.exec(from, `${HTTP_GET}; for i in $(seq ${n}); do get ${host} ${port}; done`, 120_000);
  assert.equal(r.code, 0, r.stderr);
  return tally(r.stdout);
}

test('the replicas run on nodes n1 and n2, the client on n0', () => {
  assert.deepEqual([...new Set(replicas.values())].sort(), ['n1', 'n2'], JSON.stringify([...replicas]));
});

test('pods on different nodes reach each other by IP (VXLAN)', async () => {
  for (const ip of webIps) {
    const r = await c.exec('client', `${HTTP_GET}; ping -c 1 -W 3 ${ip} >/dev/null && get ${ip} 8080`);
    assert.equal(r.code, 0, `client → ${ip}: ${r.stderr}`);
    assert.ok(replicas.has(r.stdout.trim()), `answer from ${ip}: ${r.stdout}`);
  }
  // The client's address is its own (no NAT between pods): the replica's httpd sees it.
  const client = (await c.pods('app=client'))[0];
  assert.ok(client.status?.podIP?.startsWith('10.42.'), client.status?.podIP);
});

test('web.default.svc.cluster.local spreads over the replicas on n1 and n2', async () => {
  const counts = await ask('web.default.svc.cluster.local', 8080, 60);
  assert.equal(counts.get('FAILED'), undefined, JSON.stringify([...counts]));
  assert.deepEqual([...counts.keys()].sort(), [...replicas.keys()].sort(), `answers: ${JSON.stringify([...counts])}`);
  // 60 requests over 4 replicas picked at random: each gets some (P(one gets < 4) is tiny).
  for (const [name, n] of counts) assert.ok(n >= 4, `${name} got ${n} of 60: ${JSON.stringify([...counts])}`);
  // The short name resolves through the pod's search path.
  const short = await ask('web', 8080, 5);
  assert.ok([...short.keys()].every((k) => replicas.has(k)), JSON.stringify([...short]));
});

test('the NodePort answers on every node\'s address', async () => {
  const svc = await c.getJson<Service>(['get', 'service', 'web']);
  const nodePort = svc.spec?.ports?.[0]?.nodePort;
  assert.ok(nodePort, 'web has a nodePort');
  for (const n of c.mn.nodes) {
    // From the underlay (outside the cluster), and from the client pod.
    const outside = await c.nsRun(c.mn.underlayNs, '/bin/busybox', ['sh', '-c', `${HTTP_GET}; get ${n.underlayIp} ${nodePort}`]);
    assert.ok(replicas.has(outside.stdout.trim()), `underlay → ${n.underlayIp}:${nodePort}: ${outside.stdout}${outside.stderr}`);
    const inside = await c.exec('client', `${HTTP_GET}; get ${n.underlayIp} ${nodePort}`);
    assert.ok(replicas.has(inside.stdout.trim()), `client → ${n.underlayIp}:${nodePort}: ${inside.stdout}${inside.stderr}`);
  }
});

test('a pod reaches itself through its own Service (hairpin)', async () => {
  await c.apply({ ...clientPod('solo', 'n1'), spec: { nodeName: 'n1', terminationGracePeriodSeconds: 0, containers: [webContainer()] } });
  await c.apply(service('solo', { app: 'solo' }));
  await readyPods(c, 'app=solo', 1);
  await waitFor('solo to answer itself through its Service', async () => {
    const r = await c.exec('solo', `${HTTP_GET}; get solo 8080`);
    return r.stdout.trim() === 'solo';
  }, 30_000, 500);
  const counts = await ask('solo.default.svc.cluster.local', 8080, 10, 'solo');
  assert.deepEqual([...counts], [['solo', 10]]);
});

test('ClientIP affinity pins a client to one replica', async () => {
  await c.apply(service('sticky', { app: 'web' }, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }));
  await waitFor('sticky to answer', async () => replicas.has((await c.exec('client', `${HTTP_GET}; get sticky 8080`)).stdout.trim()), 30_000, 500);
  const counts = await ask('sticky.default.svc.cluster.local', 8080, 30);
  assert.equal(counts.size, 1, `one replica for every request: ${JSON.stringify([...counts])}`);
  assert.ok(replicas.has([...counts.keys()][0]));
  // Without affinity the same client is spread (the control).
  const spread = await ask('web.default.svc.cluster.local', 8080, 30);
  assert.ok(spread.size > 1, JSON.stringify([...spread]));
});

test('nslookup answers for Services, headless Services and SRV records as Kubernetes does', async () => {
  // The pod's resolver: n0's node-local DNS server on its bridge gateway, Kubernetes' search path.
  const client = (await c.pods('app=client'))[0];
  const gateway = client.status!.podIP!.replace(/\.\d+$/, '.1');
  const resolv = (await c.exec('client', 'cat /etc/resolv.conf')).stdout;
  assert.match(resolv, new RegExp(`^nameserver ${gateway.replaceAll('.', '\\.')}$`, 'm'), resolv);
  assert.match(resolv, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b/m, resolv);
  assert.match(resolv, /^options ndots:5$/m, resolv);
  const web = await c.getJson<Service>(['get', 'service', 'web']);
  await c.apply(service('web-headless', { app: 'web' }, { clusterIP: 'None' }));
  const lookup = async (args: string) => {
    const r = await c.exec('client', `nslookup ${args}`);
    return `${r.stdout}${r.stderr}`;
  };
  // A Service: its ClusterIP, under the fully qualified name and through the search path.
  let out = await lookup('web.default.svc.cluster.local');
  assert.match(out, new RegExp(`Address:? ${web.spec!.clusterIP!.replaceAll('.', '\\.')}`), out);
  out = await lookup('web');
  assert.match(out, new RegExp(`Address:? ${web.spec!.clusterIP!.replaceAll('.', '\\.')}`), out);
  // A headless Service: every ready endpoint.
  out = await waitFor('the headless Service to resolve to 4 addresses', async () => {
    const o = await lookup('web-headless.default.svc.cluster.local');
    return webIps.every((ip) => o.includes(ip)) ? o : undefined;
  }, 30_000, 500);
  // SRV of the named port: <port> on the Service's name; for the headless Service, one per endpoint.
  out = await lookup('-type=srv _http._tcp.web.default.svc.cluster.local');
  assert.match(out, /0 100 8080 web\.default\.svc\.cluster\.local/, out);
  out = await lookup('-type=srv _http._tcp.web-headless.default.svc.cluster.local');
  for (const ip of webIps) assert.ok(out.includes(`${ip.replaceAll('.', '-')}.web-headless.default.svc.cluster.local`), `SRV target of ${ip}:\n${out}`);
  // A name that does not exist: NXDOMAIN, not a timeout.
  out = await lookup('nothere.default.svc.cluster.local');
  assert.match(out, /NXDOMAIN|can't find/, out);
  // The API server's Service, as every cluster has it.
  out = await lookup('kubernetes.default.svc.cluster.local');
  assert.match(out, /Address:? 10\.43\.0\.1\b/, out);
});
