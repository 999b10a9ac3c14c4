// Issue 6, section 5, what changes: scaling the Deployment changes what the proxy serves within
// 1 s of the EndpointSlice change; a replica that fails readiness stops getting traffic (and
// gets it again once ready); with no replica left, connections to the Service fail at once
// (refused, no timeout). 3 nodes, VXLAN, real `skiff server` and `skiff agent` processes.
// Latency is measured from the moment a kubectl watch of the EndpointSlices (a client of the API
// server like the agents) shows the new ready set to the moment node n0's nft map holds exactly
// that set (polled), so it is an upper bound of the proxy's own delay.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { clientPod, HTTP_GET, type KubectlWatch, type NetworkCluster, readyPods, service, startNetworkCluster, tally, webContainer, webDeployment } from './network-cluster.ts';
import { waitFor } from '../helpers/wait.ts';

const READINESS = { exec: { command: ['sh', '-c', 'test ! -f /tmp/unready'] }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1 };

let c: NetworkCluster;
let slices: KubectlWatch;
let clusterIp = '';

before(async () => {
  c = await startNetworkCluster({ backend: 'vxlan' });
  await c.apply(clientPod('client', 'n0'));
  await c.apply(webDeployment(2, ['n1', 'n2'], webContainer({ readinessProbe: READINESS })));
  await c.apply(service('web', { app: 'web' }));
  await readyPods(c, 'app=web', 2);
  await readyPods(c, 'app=client', 1);
  clusterIp = (await c.getJson<Service>(['get', 'service', 'web'])).spec!.clusterIP!;
  // -o json prints each object indented, ending with a "}" line of its own. (-o jsonpath with a
  // range over .endpoints printed the first list only.)
  slices = c.watch(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-w', '-o', 'json']);
  await waitFor('the EndpointSlice watch to print', () => sliceEvents(0).length > 0, 30_000, 100);
});

after(async () => {
  // SKIFF_NET_E2E_LOG=FILE keeps what the server and agents printed (for a failed run).
  if (process.env.SKIFF_NET_E2E_LOG && c) writeFileSync(process.env.SKIFF_NET_E2E_LOG, c.output());
  await slices?.stop();
  await c?.cleanup();
});

/** The endpoints (IPs on port 8080) node n0's proxy serves now. */
async function proxied(): Promise<string[]> {
  const r = await c.nsRun(c.mn.nodes[0].netns, '/usr/sbin/nft', ['list', 'map', 'ip', 'skiff-proxy', 'endpoints-tcp']);
  if (r.code !== 0) throw new Error(`nft list map: ${r.stderr}`);
  return [...r.stdout.matchAll(/(\d+\.\d+\.\d+\.\d+) \. 8080\b/g)].map((m) => m[1]).sort();
}

/** The EndpointSlices the watch printed from line `from` on, each with when its last line arrived. */
function sliceEvents(from: number): { at: number; slice: EndpointSlice }[] {
  const out: { at: number; slice: EndpointSlice }[] = [];
  let start = from;
  // An object may have begun before `from`: back up to its first line.
  while (start > 0 && slices.lines[start - 1].text !== '}') start--;
  for (let i = start; i < slices.lines.length; i++) {
    if (slices.lines[i].text !== '}') continue;
    const text = slices.lines.slice(start, i + 1).map((l) => l.text).join('\n');
    out.push({ at: slices.lines[i].at, slice: JSON.parse(text) as EndpointSlice });
    start = i + 1;
  }
  return out;
}

/** The ready addresses of a slice (ready unset counts as ready, as for the proxy). */
function readySet(slice: EndpointSlice): string[] {
  return (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => e.addresses[0]).sort();
}

/**
 * Runs change(), then waits until the EndpointSlice's ready set has `want` addresses and n0's
 * proxy serves exactly those; returns the set and how long after the watch showed it the proxy did.
 */
async function proxyFollows(change: () => Promise<void>, want: number): Promise<{ ips: string[]; latencyMs: number }> {
  const from = slices.lines.length;
  await change();
  const seen = await waitFor(`the EndpointSlice to show ${want} ready endpoints`, () =>
    sliceEvents(from).find((e) => readySet(e.slice).length === want), 120_000, 20);
  const ips = readySet(seen.slice);
  // Polled from when the watch showed the set: the time includes the poll's own (an upper bound).
  await waitFor(`n0's proxy to serve ${ips.join(', ') || 'no endpoint'}`, async () => (await proxied()).join() === ips.join(), 10_000, 10);
  return { ips, latencyMs: Date.now() - seen.at };
}

test('scaling the Deployment changes what the proxy serves within 1 s', async (t) => {
  const up = await proxyFollows(() => c.k(['scale', 'deployment', 'web', '--replicas=4']).then(() => undefined), 4);
  assert.ok(up.latencyMs <= 1000, `scale 2 → 4: n0's proxy served the 4 endpoints ${up.latencyMs} ms after the EndpointSlice showed them`);
  t.diagnostic(`scale 2 → 4: n0's proxy serves the new endpoints ${up.latencyMs} ms after the watch showed them`);
  const counts = tally((await c.exec('client', `${HTTP_GET}; for i in $(seq 40); do get ${clusterIp} 8080; done`, 120_000)).stdout);
  assert.equal(counts.size, 4, `4 replicas answer: ${JSON.stringify([...counts])}`);

  const down = await proxyFollows(() => c.k(['scale', 'deployment', 'web', '--replicas=2']).then(() => undefined), 2);
  assert.ok(down.latencyMs <= 1000, `scale 4 → 2: n0's proxy dropped the 2 endpoints ${down.latencyMs} ms after the EndpointSlice did`);
  t.diagnostic(`scale 4 → 2: ${down.latencyMs} ms`);
  const pods = await readyPods(c, 'app=web', 2);
  const after = tally((await c.exec('client', `${HTTP_GET}; for i in $(seq 20); do get ${clusterIp} 8080; done`, 120_000)).stdout);
  assert.deepEqual([...after.keys()].sort(), pods.map((p) => p.metadata!.name!).sort(), JSON.stringify([...after]));
});

test('a replica that fails readiness stops receiving traffic, and gets it again once ready', async () => {
  const pods = await readyPods(c, 'app=web', 2);
  const [sick, healthy] = pods.map((p) => p.metadata!.name!);
  const sickIp = pods[0].status!.podIP!;
  const r = await proxyFollows(async () => {
    const x = await c.exec(sick, 'touch /tmp/unready');
    assert.equal(x.code, 0, x.stderr);
  }, 1);
  assert.ok(!r.ips.includes(sickIp), `${sick} (${sickIp}) left the ready set: ${r.ips}`);
  assert.ok(r.latencyMs <= 1000, `the proxy dropped the unready endpoint ${r.latencyMs} ms after the EndpointSlice did`);
  const counts = tally((await c.exec('client', `${HTTP_GET}; for i in $(seq 30); do get web 8080; done`, 120_000)).stdout);
  assert.deepEqual([...counts], [[healthy, 30]], `only ${healthy} answers while ${sick} is not ready`);

  const back = await proxyFollows(async () => {
    const x = await c.exec(sick, 'rm /tmp/unready');
    assert.equal(x.code, 0, x.stderr);
  }, 2);
  assert.ok(back.ips.includes(sickIp));
  const again = tally((await c.exec('client', `${HTTP_GET}; for i in $(seq 30); do get web 8080; done`, 120_000)).stdout);
  assert.deepEqual([...again.keys()].sort(), [healthy, sick].sort(), JSON.stringify([...again]));
});

test('with every replica gone, connections to the Service fail at once', async () => {
  const gone = await proxyFollows(() => c.k(['scale', 'deployment', 'web', '--replicas=0']).then(() => undefined), 0);
  assert.ok(gone.latencyMs <= 1000, `the proxy dropped the last endpoints ${gone.latencyMs} ms after the EndpointSlice did`);
  // Time the attempt inside the pod (/proc/uptime, 10 ms steps): a reject, not a 5 s timeout.
  for (const target of [clusterIp, 'web.default.svc.cluster.local']) {
    const r = await c.exec('client', `a=$(cut -d' ' -f1 /proc/uptime); printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${target} 8080 2>&1; echo "rc=$?"; b=$(cut -d' ' -f1 /proc/uptime); echo "took $a $b"`);
    const took = /took (\S+) (\S+)/.exec(r.stdout);
    assert.ok(took, r.stdout + r.stderr);
    const seconds = Number(took[2]) - Number(took[1]);
    assert.match(r.stdout, /refused/i, `connecting to ${target}:8080 with no endpoint: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /rc=0/, r.stdout);
    assert.ok(seconds < 1, `connecting to ${target}:8080 with no endpoint took ${seconds.toFixed(2)} s: ${r.stdout}`);
  }
});
