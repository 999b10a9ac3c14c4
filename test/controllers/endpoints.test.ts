// The Endpoints controller against a real server: Services' Endpoints follow
// their pods' IPs, readiness, deletion and the Service's selector.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EndpointSubset, Endpoints } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound, R } from '../../src/client/index.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';
import { definition as endpointsDefinition } from '../../src/controllers/endpoints.ts';
import { createNamespace, createNode, createPod, createService, setPodStatus } from './endpoint-fixtures.ts';

let c: Harness;
before(async () => {
  c = await startHarness([endpointsDefinition]);
  await createNode(c.client, 'node-a');
});
after(async () => {
  await c?.stop();
});

async function getEndpoints(ns: string, name: string): Promise<Endpoints | undefined> {
  try {
    return await c.client.get<Endpoints>(R.endpoints, name, { namespace: ns });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Waits until the Endpoints satisfy check; returns them. */
function endpointsWhen(ns: string, name: string, what: string, check: (ep: Endpoints) => boolean): Promise<Endpoints> {
  return waitFor(what, async () => {
    const ep = await getEndpoints(ns, name);
    return ep && check(ep) ? ep : undefined;
  });
}

/** "ip:port" for every (ready or not) address and port, sorted. */
function pairs(subsets: EndpointSubset[] | undefined, which: 'addresses' | 'notReadyAddresses'): string[] {
  return (subsets ?? []).flatMap((s) => (s[which] ?? []).flatMap((a) => (s.ports ?? []).map((p) => `${a.ip}:${p.port}`))).sort();
}

describe('endpoints controller', () => {
  const ns = 'ep-main';

  test('lists ready pods with per-pod named ports, then follows readiness, deletion and selector', async () => {
    await createNamespace(c.client, ns);
    await createService(c.client, ns, 'web', {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9100, targetPort: 9100 }],
    }, { tier: 'frontend' });
    await createPod(c.client, ns, 'web-0', { ports: { http: 8080 }, hostname: 'web-0', subdomain: 'web' });
    await createPod(c.client, ns, 'web-1', { ports: { http: 8080 } });
    await createPod(c.client, ns, 'web-2', { ports: { http: 9090 } }); // same name, other number
    await createPod(c.client, ns, 'other', { labels: { app: 'other' } });
    await createPod(c.client, ns, 'no-ip'); // selected, but never got an IP
    await setPodStatus(c.client, ns, 'web-0', '10.42.0.10', true);
    await setPodStatus(c.client, ns, 'web-1', '10.42.0.11', true);
    await setPodStatus(c.client, ns, 'web-2', '10.42.0.12', true);
    await setPodStatus(c.client, ns, 'other', '10.42.0.99', true);

    let ep = await endpointsWhen(ns, 'web', '3 ready addresses', (e) => pairs(e.subsets, 'addresses').length === 6);
    assert.deepEqual(pairs(ep.subsets, 'addresses'),
      ['10.42.0.10:8080', '10.42.0.10:9100', '10.42.0.11:8080', '10.42.0.11:9100', '10.42.0.12:9090', '10.42.0.12:9100']);
    assert.deepEqual(pairs(ep.subsets, 'notReadyAddresses'), []);
    // Pods resolving "http" to different numbers land in different subsets.
    assert.equal(ep.subsets!.length, 2);
    const port8080 = ep.subsets!.find((s) => s.ports!.some((p) => p.port === 8080))!;
    assert.deepEqual(port8080.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }]);
    const web0 = port8080.addresses!.find((a) => a.ip === '10.42.0.10')!;
    assert.equal(web0.hostname, 'web-0');
    assert.equal(web0.nodeName, 'node-a');
    assert.equal(web0.targetRef?.kind, 'Pod');
    assert.equal(web0.targetRef?.name, 'web-0');
    assert.equal(web0.targetRef?.namespace, ns);
    assert.ok(web0.targetRef?.uid);
    assert.equal(port8080.addresses!.find((a) => a.ip === '10.42.0.11')!.hostname, undefined, 'no subdomain, no hostname');
    assert.equal(ep.metadata?.labels?.['endpointslice.kubernetes.io/skip-mirror'], 'true');
    assert.equal(ep.metadata?.labels?.tier, 'frontend', 'Service labels are copied');
    assert.match(ep.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] ?? '', /^\d{4}-\d\d-\d\dT/);

    const out = await c.k(['get', 'endpoints', 'web', '-n', ns]);
    assert.match(out, /^NAME\s+ENDPOINTS\s+AGE/);
    assert.match(out, /web\s+10\.42\.0\.10:8080,10\.42\.0\.11:8080,10\.42\.0\.10:9100 \+ 3 more\.\.\./);

    // Not ready: moves to notReadyAddresses.
    await setPodStatus(c.client, ns, 'web-1', '10.42.0.11', false);
    ep = await endpointsWhen(ns, 'web', 'web-1 not ready', (e) => pairs(e.subsets, 'notReadyAddresses').length === 2);
    assert.deepEqual(pairs(ep.subsets, 'notReadyAddresses'), ['10.42.0.11:8080', '10.42.0.11:9100']);
    assert.deepEqual(pairs(ep.subsets, 'addresses'), ['10.42.0.10:8080', '10.42.0.10:9100', '10.42.0.12:9090', '10.42.0.12:9100']);

    // Graceful delete of a pod on a node: it stays (terminating) but leaves the Endpoints.
    await c.client.delete(R.pods, 'web-2', { namespace: ns, gracePeriodSeconds: 60 });
    const terminating = await c.client.get(R.pods, 'web-2', { namespace: ns });
    assert.ok(terminating.metadata?.deletionTimestamp, 'the pod waits for its kubelet');
    ep = await endpointsWhen(ns, 'web', 'web-2 dropped', (e) => !pairs(e.subsets, 'addresses').some((p) => p.startsWith('10.42.0.12')));
    assert.deepEqual(pairs(ep.subsets, 'addresses'), ['10.42.0.10:8080', '10.42.0.10:9100']);
    assert.equal(ep.subsets!.length, 1, 'web-0 (ready) and web-1 (not ready) share one port set; the 9090 subset is gone');

    // Selector changed: the Endpoints follow the new pods.
    await c.client.patch(R.services, 'web', { spec: { selector: { app: 'other' } } }, { namespace: ns });
    ep = await endpointsWhen(ns, 'web', 'selector change', (e) => pairs(e.subsets, 'addresses').some((p) => p.startsWith('10.42.0.99')));
    assert.deepEqual(pairs(ep.subsets, 'addresses'), ['10.42.0.99:8080', '10.42.0.99:9100']);
    assert.deepEqual(pairs(ep.subsets, 'notReadyAddresses'), []);

    // Pod labels changed: a pod that stops matching leaves.
    await c.client.patch(R.pods, 'other', { metadata: { labels: { app: 'gone' } } }, { namespace: ns });
    ep = await endpointsWhen(ns, 'web', 'pod relabelled away', (e) => (e.subsets ?? []).length === 0);
    assert.equal((await c.k(['get', 'endpoints', 'web', '-n', ns, '--no-headers'])).trim().split(/\s+/)[1], '<none>');

    // Service deleted: Endpoints deleted.
    await c.client.delete(R.services, 'web', { namespace: ns });
    await waitFor('Endpoints deleted with the Service', async () => (await getEndpoints(ns, 'web')) === undefined);
  });

  test('publishNotReadyAddresses lists not-ready pods as addresses', async () => {
    const ns2 = 'ep-publish';
    await createNamespace(c.client, ns2);
    await createService(c.client, ns2, 'db', { selector: { app: 'web' }, clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 5432, targetPort: 5432 }] });
    await createPod(c.client, ns2, 'db-0');
    await setPodStatus(c.client, ns2, 'db-0', '10.42.1.5', false);
    const ep = await endpointsWhen(ns2, 'db', 'not-ready pod published', (e) => pairs(e.subsets, 'addresses').length === 1);
    assert.deepEqual(pairs(ep.subsets, 'addresses'), ['10.42.1.5:5432']);
    assert.equal(ep.metadata?.labels?.['service.kubernetes.io/headless'], '');
  });

  test('a Service losing its selector loses its Endpoints; selector-less Services are left alone', async () => {
    const ns3 = 'ep-selectorless';
    await createNamespace(c.client, ns3);
    await createService(c.client, ns3, 'api', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
    await createPod(c.client, ns3, 'api-0');
    await setPodStatus(c.client, ns3, 'api-0', '10.42.2.5', true);
    await endpointsWhen(ns3, 'api', 'endpoints', (e) => pairs(e.subsets, 'addresses').length === 1);
    await c.client.patch(R.services, 'api', { spec: { selector: null } }, { namespace: ns3 });
    await waitFor('Endpoints deleted when the selector goes', async () => (await getEndpoints(ns3, 'api')) === undefined);

    // Hand-written Endpoints of a selector-less Service stay as written.
    await createService(c.client, ns3, 'external', { ports: [{ port: 80 }] });
    await c.client.create(R.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external', namespace: ns3 },
      subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }] });
    const kubernetes = await getEndpoints('default', 'kubernetes');
    await new Promise((r) => setTimeout(r, 500));
    const manual = await getEndpoints(ns3, 'external');
    assert.deepEqual(pairs(manual?.subsets, 'addresses'), ['192.0.2.1:80']);
    if (kubernetes) {
      const now = await getEndpoints('default', 'kubernetes');
      assert.equal(now?.metadata?.resourceVersion, kubernetes.metadata?.resourceVersion, 'default/kubernetes untouched');
    }
  });
});
