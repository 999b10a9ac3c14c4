// The EndpointSlice controller against a real server: slices carry the
// selected pods with their conditions, stay at most 100 endpoints, change in
// place, and go away with their Service.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { R } from '../../src/client/index.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';
import { definition as sliceDefinition } from '../../src/controllers/endpointslice.ts';
import {
  createNamespace, createNode, createPod, createService, inParallel, setPodStatus,
} from './endpoint-fixtures.ts';

let c: Harness;
before(async () => {
  c = await startHarness([sliceDefinition]);
  await createNode(c.client, 'node-a', 'zone-a');
  await createNode(c.client, 'node-b', 'zone-b');
});
after(async () => {
  await c?.stop();
});

async function slicesOf(ns: string, svc: string): Promise<EndpointSlice[]> {
  const list = await c.client.list<EndpointSlice>(R.endpointslices, { namespace: ns, labelSelector: `kubernetes.io/service-name=${svc}` });
  return list.items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

function slicesWhen(ns: string, svc: string, what: string, check: (s: EndpointSlice[]) => boolean, timeoutMs?: number): Promise<EndpointSlice[]> {
  return waitFor(what, async () => {
    const s = await slicesOf(ns, svc);
    return check(s) ? s : undefined;
  }, timeoutMs);
}

const endpointsOf = (slices: EndpointSlice[]) => slices.flatMap((s) => s.endpoints ?? []);
const byPod = (slices: EndpointSlice[], pod: string) => endpointsOf(slices).find((e) => e.targetRef?.name === pod);

describe('endpointslice controller', () => {
  test('slices follow pods: addresses, conditions, topology, terminating, selector, deletion', async () => {
    const ns = 'es-main';
    await createNamespace(c.client, ns);
    const svc: Service = await createService(c.client, ns, 'web', {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    }, { tier: 'frontend' });
    await createPod(c.client, ns, 'web-0', { node: 'node-a', ports: { http: 8080 }, hostname: 'web-0', subdomain: 'web' });
    await createPod(c.client, ns, 'web-1', { node: 'node-b', ports: { http: 8080 } });
    await createPod(c.client, ns, 'web-2', { node: 'node-a', ports: { http: 9090 } });
    await setPodStatus(c.client, ns, 'web-0', '10.42.0.10', true);
    await setPodStatus(c.client, ns, 'web-1', '10.42.0.11', true);
    await setPodStatus(c.client, ns, 'web-2', '10.42.0.12', true);

    let slices = await slicesWhen(ns, 'web', '3 endpoints', (s) => endpointsOf(s).length === 3);
    // "http" resolves to 8080 on two pods and 9090 on one: one slice per port set.
    assert.equal(slices.length, 2);
    for (const s of slices) {
      assert.match(s.metadata!.name!, /^web-[a-z0-9]{5}$/);
      assert.equal(s.addressType, 'IPv4');
      assert.equal(s.metadata?.labels?.['kubernetes.io/service-name'], 'web');
      assert.equal(s.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
      assert.equal(s.metadata?.labels?.tier, 'frontend');
      assert.deepEqual(s.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['Service', 'web', svc.metadata!.uid, true]]);
      assert.match(s.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] ?? '', /^\d{4}-/);
    }
    const s8080 = slices.find((s) => s.ports?.[0]?.port === 8080)!;
    assert.deepEqual(s8080.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(slices.find((s) => s.ports?.[0]?.port === 9090)!.endpoints.map((e) => e.addresses), [['10.42.0.12']]);
    const web0 = byPod(slices, 'web-0')!;
    assert.deepEqual(web0.addresses, ['10.42.0.10']);
    assert.deepEqual(web0.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(web0.nodeName, 'node-a');
    assert.equal(web0.zone, 'zone-a');
    assert.equal(web0.hostname, 'web-0');
    assert.equal(web0.hints, undefined);
    assert.deepEqual([web0.targetRef?.kind, web0.targetRef?.namespace, web0.targetRef?.name], ['Pod', ns, 'web-0']);
    assert.equal(byPod(slices, 'web-1')!.zone, 'zone-b');
    const out = await c.k(['get', 'endpointslices', '-n', ns]);
    assert.match(out, /web-\w{5}\s+IPv4\s+8080\s+10\.42\.0\.1[01],10\.42\.0\.1[01]/);

    // Not ready: stays, ready=false, serving=false.
    await setPodStatus(c.client, ns, 'web-1', '10.42.0.11', false);
    slices = await slicesWhen(ns, 'web', 'web-1 not ready', (s) => byPod(s, 'web-1')?.conditions?.ready === false);
    assert.deepEqual(byPod(slices, 'web-1')!.conditions, { ready: false, serving: false, terminating: false });

    // Terminating (graceful delete of a pod on a node): kept, terminating, serving per readiness.
    await c.client.delete(R.pods, 'web-0', { namespace: ns, gracePeriodSeconds: 60 });
    slices = await slicesWhen(ns, 'web', 'web-0 terminating', (s) => byPod(s, 'web-0')?.conditions?.terminating === true);
    assert.deepEqual(byPod(slices, 'web-0')!.conditions, { ready: false, serving: true, terminating: true });
    await c.client.delete(R.pods, 'web-1', { namespace: ns, gracePeriodSeconds: 60 });
    slices = await slicesWhen(ns, 'web', 'web-1 terminating', (s) => byPod(s, 'web-1')?.conditions?.terminating === true);
    assert.deepEqual(byPod(slices, 'web-1')!.conditions, { ready: false, serving: false, terminating: true });

    // Selector changed to match nothing: an empty placeholder slice remains.
    await c.client.patch(R.services, 'web', { spec: { selector: { app: 'nothing' } } }, { namespace: ns });
    slices = await slicesWhen(ns, 'web', 'placeholder', (s) => s.length === 1 && endpointsOf(s).length === 0);
    assert.deepEqual(slices[0].ports ?? [], []);
    // ... and back to a selector with a pod.
    await createPod(c.client, ns, 'api-0', { labels: { app: 'api' }, node: 'node-b' });
    await setPodStatus(c.client, ns, 'api-0', '10.42.0.20', true);
    await c.client.patch(R.services, 'web', { spec: { selector: { app: 'api' } } }, { namespace: ns });
    slices = await slicesWhen(ns, 'web', 'new selector', (s) => s.length === 1 && byPod(s, 'api-0') !== undefined);
    assert.deepEqual(endpointsOf(slices).map((e) => e.addresses[0]), ['10.42.0.20']);

    // Service deleted: this controller deletes its slices itself (no garbage collector needed).
    await c.client.delete(R.services, 'web', { namespace: ns });
    await slicesWhen(ns, 'web', 'slices deleted with the Service', (s) => s.length === 0);
  });

  test('250 pods make 3 slices of at most 100, and one pod change rewrites one slice', async () => {
    const ns = 'es-many';
    await createNamespace(c.client, ns);
    const names = Array.from({ length: 250 }, (_, i) => `big-${i}`);
    await inParallel(names, 16, async (n) => {
      const i = Number(n.slice(4));
      await createPod(c.client, ns, n, { labels: { app: 'big' }, node: i % 2 ? 'node-a' : 'node-b' });
      await setPodStatus(c.client, ns, n, `10.43.${Math.floor(i / 200)}.${i % 200 + 1}`, true);
    });
    // The Service comes last so the first sync sees all pods (slices filled as pods trickle in may fragment, as in Kubernetes).
    await createService(c.client, ns, 'big', { selector: { app: 'big' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] });
    let slices = await slicesWhen(ns, 'big', '250 endpoints', (s) => endpointsOf(s).length === 250 && endpointsOf(s).every((e) => e.conditions?.ready), 40000);
    assert.equal(slices.length, 3, `slice sizes: ${slices.map((s) => s.endpoints.length)}`);
    for (const s of slices) assert.ok(s.endpoints.length <= 100);
    assert.equal(new Set(endpointsOf(slices).map((e) => e.targetRef?.name)).size, 250, 'each pod exactly once');

    const before = new Map(slices.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion]));
    const holder = slices.find((s) => s.endpoints.some((e) => e.targetRef?.name === 'big-7'))!.metadata!.name!;
    await setPodStatus(c.client, ns, 'big-7', '10.43.0.8', false);
    slices = await slicesWhen(ns, 'big', 'big-7 not ready', (s) => byPod(s, 'big-7')?.conditions?.ready === false);
    assert.deepEqual(slices.map((s) => s.metadata!.name).sort(), [...before.keys()].sort(), 'same slices, none recreated');
    for (const s of slices) {
      const changed = s.metadata!.resourceVersion !== before.get(s.metadata!.name!);
      assert.equal(changed, s.metadata!.name === holder, `${s.metadata!.name} changed=${changed}`);
    }
  });

  test('pods on unknown nodes wait for the node', async () => {
    const ns = 'es-nodes';
    await createNamespace(c.client, ns);
    await createService(c.client, ns, 'late', { selector: { app: 'late' }, ports: [{ port: 80, targetPort: 8080 }] });
    await createPod(c.client, ns, 'late-0', { labels: { app: 'late' }, node: 'node-late' });
    await setPodStatus(c.client, ns, 'late-0', '10.42.9.1', true);
    const placeholder = await slicesWhen(ns, 'late', 'placeholder slice', (s) => s.length === 1);
    assert.equal(endpointsOf(placeholder).length, 0, 'a pod on a node that does not exist is left out');
    await createNode(c.client, 'node-late', 'zone-c');
    const slices = await slicesWhen(ns, 'late', 'pod added once its node exists', (s) => endpointsOf(s).length === 1);
    assert.equal(byPod(slices, 'late-0')!.zone, 'zone-c');
  });
});
