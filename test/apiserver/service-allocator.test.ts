// Dynamic allocation keeps to the top of each range and leaves the static band at the bottom to
// values asked for by number, until the top is full (kube-apiserver's KEP-3070 and KEP-3668).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { ServiceAllocator, NODE_PORT_KEYS } from '../../src/apiserver/admission/service-allocator.ts';
import type { KubeObject } from '../../src/api/types.ts';

function nodePortService(name: string, nodePort?: number): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ port: 80, ...(nodePort && { nodePort }) }] } } as KubeObject;
}
const nodePortOf = (svc: KubeObject) => (svc.spec!.ports as { nodePort: number }[])[0].nodePort;

test('dynamic cluster IPs and node ports stay out of the static band', async () => {
  const store = openSqliteStore(':memory:');
  try {
    // A /24: 254 usable addresses, a static band of 16 (10.0.0.1 to 10.0.0.16).
    const alloc = new ServiceAllocator(store, '10.0.0.0/24');
    for (let i = 0; i < 60; i++) {
      const svc = nodePortService(`s${i}`);
      await alloc.allocate(svc);
      const last = Number((svc.spec!.clusterIP as string).split('.')[3]);
      assert.ok(last > 16 && last < 255, `dynamic IP ${svc.spec!.clusterIP} is above the static band`);
      assert.ok(nodePortOf(svc) >= 30086 && nodePortOf(svc) <= 32767, `dynamic port ${nodePortOf(svc)} is above 30000 + 86`);
    }
    const asked = nodePortService('asked', 30005);
    asked.spec!.clusterIP = '10.0.0.5';
    await alloc.allocate(asked);
    assert.equal(asked.spec!.clusterIP, '10.0.0.5');
    assert.equal(nodePortOf(asked), 30005);
    await assert.rejects(alloc.allocate(nodePortService('again', 30005)), /provided port is already allocated/);
  } finally {
    store.close();
  }
});

test('dynamic allocation falls back to the static band when the rest is full', async () => {
  const store = openSqliteStore(':memory:');
  try {
    // A /27: 30 usable addresses, index 0 for the API service, a static band of 16.
    const alloc = new ServiceAllocator(store, '10.0.0.0/27');
    const ips = new Set<string>();
    for (let i = 0; i < 29; i++) {
      const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'default' }, spec: { ports: [{ port: 80 }] } } as KubeObject;
      await alloc.allocate(svc);
      ips.add(svc.spec!.clusterIP as string);
    }
    assert.equal(ips.size, 29);
    assert.ok(!ips.has('10.0.0.1'), 'the API service address is never handed out');
    const full = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'full', namespace: 'default' }, spec: { ports: [{ port: 80 }] } } as KubeObject;
    await assert.rejects(alloc.allocate(full), /range is full/);
    // Node ports: fill the dynamic band by hand, and the next one comes from the static band.
    for (let p = 30086; p <= 32767; p++) await store.create(NODE_PORT_KEYS + p, JSON.stringify({ namespace: 'x', name: 'y', reservedAt: new Date().toISOString() }));
    const svc = nodePortService('low');
    svc.spec!.clusterIP = 'None';
    await alloc.allocate(svc);
    assert.ok(nodePortOf(svc) >= 30000 && nodePortOf(svc) < 30086, `got ${nodePortOf(svc)}`);
  } finally {
    store.close();
  }
});
