// The proxy against the real kernel: a real skiff server holds Services and EndpointSlices,
// startProxy programs nftables in a test network namespace, and busybox clients in other
// namespaces connect through it to busybox httpd "pods" that answer with their name and the
// address they saw.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { deleteProxyTable, type Proxy, startProxy } from '../../src/proxy/proxy.ts';
import { runNft } from '../../src/proxy/nft.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor, within } from '../helpers/wait.ts';
import { createTestNet, type TestNet } from './netns.ts';

const NODE = 'node-a';
type Ep = { ip: string; ready?: boolean; nodeName?: string };

describe('skiff proxy in a network namespace', { timeout: 300_000 }, () => {
  let net: TestNet;
  let server: TestServer;
  let client: RestClient;
  let proxy: Proxy;
  const logs: string[] = [];

  before(async () => {
    net = await createTestNet();
    server = await startServer();
    client = RestClient.fromKubeconfig(server.kubeconfig);
    proxy = startProxy({ client, nodeName: NODE, nodeAddresses: [net.nodeAddress], clusterCidr: '10.42.0.0/16', netns: net.node,
      resyncIntervalMs: 3000, log: (m) => logs.push(m) });
    await within('the first full sync', proxy.synced(), 60_000);
  });

  after(async () => {
    await proxy?.stop();
    if (net) await deleteProxyTable(net.node).catch(() => undefined);
    await client?.close();
    await server?.cleanup();
    await net?.cleanup();
  });

  async function service(name: string, spec: Service['spec']): Promise<Service> {
    return client.create<Service>(R.services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec } });
  }

  function sliceBody(svc: string, eps: Ep[]): EndpointSlice {
    return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, nodeName: e.nodeName ?? NODE })) };
  }

  async function slice(svc: string, eps: Ep[]): Promise<void> {
    await client.create(R.endpointslices, sliceBody(svc, eps));
  }

  /** n requests; the names of the endpoints that answered, with the client address each saw. */
  async function hits(from: string, url: string, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await net.get(from, url));
    return out;
  }

  const { ep1, ep2, ep3, cl } = { ep1: '10.42.0.11', ep2: '10.42.0.12', ep3: '10.42.0.13', cl: '10.42.0.20' };

  it('spreads connections to a ClusterIP over every ready endpoint, keeping the pod client address', async () => {
    const svc = await service('web', {});
    await slice('web', [{ ip: ep1 }, { ip: ep2 }, { ip: ep3 }]);
    const url = `http://${svc.spec!.clusterIP}/cgi-bin/who`;
    await waitFor('the ClusterIP to answer', async () => (await net.attempt(net.ns('cl'), url)).ok, 15_000);
    const answers = await hits(net.ns('cl'), url, 30);
    const names = new Set(answers.map((a) => a.split(' ')[0]));
    assert.deepEqual([...names].sort(), ['ep1', 'ep2', 'ep3'], `answers: ${answers.join(', ')}`);
    for (const a of answers) assert.equal(a.split(' ')[1], cl, 'pod-to-Service traffic is not masqueraded');
  });

  it('answers on the NodePort at the node address, masquerading clients from outside the cluster', async () => {
    const svc = await service('np', { type: 'NodePort' });
    await slice('np', [{ ip: ep1 }, { ip: ep2 }]);
    const nodePort = svc.spec!.ports![0].nodePort!;
    const url = `http://${net.nodeAddress}:${nodePort}/cgi-bin/who`;
    const answer = await waitFor('the NodePort to answer', async () => {
      const r = await net.attempt(net.ns('ext'), url);
      return r.ok ? r.text : undefined;
    }, 15_000);
    assert.match(answer, /^ep[12] 10\.42\.0\.1$/, 'the endpoint sees the node (bridge) address');
  });

  it('externalTrafficPolicy Local: only this node\'s endpoints, client address kept', async () => {
    const svc = await service('local', { type: 'NodePort', externalTrafficPolicy: 'Local' });
    await slice('local', [{ ip: ep1, nodeName: NODE }, { ip: ep2, nodeName: 'node-b' }]);
    const url = `http://${net.nodeAddress}:${svc.spec!.ports![0].nodePort}/cgi-bin/who`;
    await waitFor('the Local NodePort to answer', async () => (await net.attempt(net.ns('ext'), url)).ok, 15_000);
    const answers = await hits(net.ns('ext'), url, 12);
    assert.deepEqual([...new Set(answers)], ['ep1 10.43.255.2']);
    // From a pod the same Service uses every endpoint (kube-proxy's short-circuit).
    const fromPod = await hits(net.ns('cl'), `http://${svc.spec!.clusterIP}/cgi-bin/who`, 20);
    assert.deepEqual([...new Set(fromPod.map((a) => a.split(' ')[0]))].sort(), ['ep1', 'ep2']);
  });

  it('rejects connections to a Service without endpoints at once', async () => {
    const svc = await service('empty', {});
    const ip = svc.spec!.clusterIP!;
    await waitFor('the Service in the table', async () =>
      (await runNft(net.node, ['list', 'map', 'ip', 'skiff-proxy', 'service-ips'])).includes(`${ip} . tcp . 80`), 15_000);
    // The time includes starting ip, busybox and nc in the namespace on a loaded machine;
    // a dropped SYN would take the 1 s retransmission plus nc's 5 s timeout.
    const r = await net.attempt(net.ns('cl'), `http://${ip}/`, 5);
    assert.equal(r.ok, false);
    assert.match(r.text, /refused/i);
    assert.ok(r.ms < 1000, `refused after ${r.ms.toFixed(0)} ms`);
  });

  it('stops sending new connections to an endpoint within 1 s of it becoming not ready', async () => {
    const svc = await service('ready', {});
    await slice('ready', [{ ip: ep1 }, { ip: ep2 }]);
    const url = `http://${svc.spec!.clusterIP}/cgi-bin/who`;
    await waitFor('both endpoints to answer', async () => {
      const seen = new Set((await hits(net.ns('cl'), url, 6)).map((a) => a.split(' ')[0]));
      return seen.size === 2;
    }, 20_000);
    const current = await client.get<EndpointSlice>(R.endpointslices, 'ready-1', { namespace: 'default' });
    await client.update(R.endpointslices, { ...current, ...sliceBody('ready', [{ ip: ep1 }, { ip: ep2, ready: false }]), metadata: current.metadata });
    await new Promise((r) => setTimeout(r, 1000));
    const answers = await hits(net.ns('cl'), url, 20);
    assert.deepEqual([...new Set(answers.map((a) => a.split(' ')[0]))], ['ep1'], `answers: ${answers.join(', ')}`);
  });

  it('pins a client to one endpoint with sessionAffinity ClientIP', async () => {
    const svc = await service('sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } });
    await slice('sticky', [{ ip: ep1 }, { ip: ep2 }, { ip: ep3 }]);
    const url = `http://${svc.spec!.clusterIP}/cgi-bin/who`;
    await waitFor('the sticky Service to answer', async () => (await net.attempt(net.ns('cl'), url)).ok, 15_000);
    const answers = await hits(net.ns('cl'), url, 15);
    assert.equal(new Set(answers).size, 1, `answers: ${answers.join(', ')}`);
    // The affinity entry is in the kernel, keyed on the client.
    const listing = await runNft(net.node, ['list', 'map', 'ip', 'skiff-proxy', 'affinity']);
    assert.match(listing, new RegExp(`${cl.replaceAll('.', '\\.')} timeout 10m`));
    // The pinned endpoint goes away: its affinity entries are purged and the client moves on.
    const pinned = answers[0].split(' ')[0];
    const rest = [{ ip: ep1, name: 'ep1' }, { ip: ep2, name: 'ep2' }, { ip: ep3, name: 'ep3' }].filter((e) => e.name !== pinned);
    const current = await client.get<EndpointSlice>(R.endpointslices, 'sticky-1', { namespace: 'default' });
    await client.update(R.endpointslices, { ...sliceBody('sticky', rest.map((e) => ({ ip: e.ip }))), metadata: current.metadata });
    const moved = await waitFor('the client to move to another endpoint', async () => {
      const a = await net.attempt(net.ns('cl'), url);
      return a.ok && !a.text.startsWith(pinned) ? a.text : undefined;
    }, 15_000);
    const again = await hits(net.ns('cl'), url, 8);
    assert.deepEqual([...new Set(again)], [moved], 'pinned to the new endpoint');
  });

  it('lets a pod reach itself through its Service (hairpin, masqueraded)', async () => {
    const svc = await service('self', {});
    await slice('self', [{ ip: ep1 }]);
    const url = `http://${svc.spec!.clusterIP}/cgi-bin/who`;
    const answer = await waitFor('the pod to reach itself', async () => {
      const r = await net.attempt(net.ns('ep1'), url);
      return r.ok ? r.text : undefined;
    }, 15_000);
    assert.equal(answer, 'ep1 10.42.0.1');
  });

  it('skips headless Services and removes a deleted Service\'s elements', async () => {
    await client.create<Service>(R.services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless', namespace: 'default' },
      spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } });
    const svc = await service('gone', {});
    await slice('gone', [{ ip: ep3 }]);
    const ip = svc.spec!.clusterIP!;
    const listed = () => runNft(net.node, ['list', 'map', 'ip', 'skiff-proxy', 'service-ips']);
    await waitFor('the Service in the table', async () => (await listed()).includes(`${ip} . tcp . 80`), 15_000);
    await client.delete(R.services, 'gone', { namespace: 'default' });
    await waitFor('the Service gone from the table', async () => !(await listed()).includes(`${ip} . tcp . 80`), 15_000);
  });

  it('repairs an element deleted behind its back at the next resync', async () => {
    const svc = await service('drift', {});
    await slice('drift', [{ ip: ep2 }]);
    const ip = svc.spec!.clusterIP!;
    const url = `http://${ip}/cgi-bin/who`;
    await waitFor('the Service to answer', async () => (await net.attempt(net.ns('cl'), url)).ok, 15_000);
    await runNft(net.node, ['-f', '-'], `delete element ip skiff-proxy service-ips { ${ip} . tcp . 80 }\n`);
    const broken = await net.attempt(net.ns('cl'), url, 1);
    assert.equal(broken.ok, false, 'the drift broke the Service');
    const before = proxy.stats.fullSyncs;
    await waitFor('a resync to repair it', async () => proxy.stats.fullSyncs > before && (await net.attempt(net.ns('cl'), url)).ok, 20_000);
    assert.ok(proxy.lastSyncMs > 0);
  });
});
