// Service cluster IPs and node ports stay unique when several API servers allocate them at
// once from one etcd (each is reserved in the store, see service-allocator.ts), and come free
// again when their Service is deleted. Values asked for by number come from the static band at the
// bottom of each range, which dynamic allocation leaves alone while the rest has room.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHaCluster, type HaCluster } from '../helpers/skiff-ha.ts';
import type { TestServer } from '../helpers/skiff-server.ts';

let ha: HaCluster;
before(async () => { ha = await startHaCluster({ members: 1, servers: 2 }); });
after(async () => { await ha?.stop(); });

interface Svc {
  metadata: { name: string };
  spec: { clusterIP?: string; ports: { port: number; nodePort?: number }[] };
}

function service(name: string, spec: Record<string, unknown> = {}, port: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, ...port }], ...spec } });
}

async function create(s: TestServer, body: string): Promise<{ status: number; svc: Svc; message: string }> {
  const res = await s.fetch('/api/v1/namespaces/default/services', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as Svc & { message?: string };
  return { status: res.status, svc: json, message: json.message ?? '' };
}

it('hands out distinct cluster IPs and node ports through two servers at once', { timeout: 120_000 }, async () => {
  const [a, b] = ha.servers;
  const made = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    create(i % 2 ? a : b, service(`svc-${i}`, i % 4 < 2 ? { type: 'NodePort' } : {}))));
  for (const m of made) assert.equal(m.status, 201, m.message);
  const ips = made.map((m) => m.svc.spec.clusterIP!);
  assert.equal(new Set(ips).size, ips.length, `duplicate cluster IPs: ${ips.join(' ')}`);
  const ports = made.flatMap((m) => m.svc.spec.ports.map((p) => p.nodePort).filter(Boolean));
  assert.equal(ports.length, 20);
  assert.equal(new Set(ports).size, ports.length, `duplicate node ports: ${ports.join(' ')}`);
});

it('gives a requested cluster IP or node port to only one of two servers asking at once', { timeout: 120_000 }, async () => {
  const [a, b] = ha.servers;
  for (let i = 0; i < 5; i++) {
    const ip = `10.43.0.${200 + i}`;
    const [x, y] = await Promise.all([create(a, service(`ip-a-${i}`, { clusterIP: ip })), create(b, service(`ip-b-${i}`, { clusterIP: ip }))]);
    assert.deepEqual([x.status, y.status].sort(), [201, 422], `${ip}: ${x.message} / ${y.message}`);
    assert.match((x.status === 422 ? x : y).message, /provided IP is already allocated/);

    const nodePort = 30050 + i;
    const [p, q] = await Promise.all([
      create(a, service(`np-a-${i}`, { type: 'NodePort' }, { nodePort })),
      create(b, service(`np-b-${i}`, { type: 'NodePort' }, { nodePort })),
    ]);
    assert.deepEqual([p.status, q.status].sort(), [201, 422], `${nodePort}: ${p.message} / ${q.message}`);
    assert.match((p.status === 422 ? p : q).message, /provided port is already allocated/);
  }
});

it('frees a deleted Service\'s cluster IP and node port for the other server', { timeout: 120_000 }, async () => {
  const [a, b] = ha.servers;
  const first = await create(a, service('first', { type: 'NodePort', clusterIP: '10.43.0.250' }, { nodePort: 30080 }));
  assert.equal(first.status, 201, first.message);
  const taken = await create(b, service('second', { type: 'NodePort', clusterIP: '10.43.0.250' }, { nodePort: 30080 }));
  assert.equal(taken.status, 422);
  const del = await a.fetch('/api/v1/namespaces/default/services/first', { method: 'DELETE' });
  assert.equal(del.status, 200);
  const second = await create(b, service('second', { type: 'NodePort', clusterIP: '10.43.0.250' }, { nodePort: 30080 }));
  assert.equal(second.status, 201, second.message);
  assert.equal(second.svc.spec.clusterIP, '10.43.0.250');
  assert.equal(second.svc.spec.ports[0].nodePort, 30080);
  // An update keeps what the Service holds (no conflict with itself).
  const patched = await a.fetch('/api/v1/namespaces/default/services/second', {
    method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { x: 'y' } } }),
  });
  assert.equal(patched.status, 200, await patched.text());
});
