// `skiff server` keeps local-path volumes under its own data dir (as k3s keeps them under its
// data dir) when the local-path-config ConfigMap names no path, so that two clusters on one host
// do not share a storage directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.d.ts';
import { runSkiff, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

let s: TestServer;
before(async () => { s = await startServer(); });
after(async () => { await s?.cleanup(); });

test('a local-path volume goes under <data dir>/storage without a local-path-config', { timeout: 60_000 }, async () => {
  await s.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } }) });
  await s.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } }) });
  await s.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'user' },
    spec: { nodeName: 'n1', containers: [{ name: 'a', image: 'busybox' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] } }) });
  const claim = await waitFor('the claim to bind', async () => {
    const c = JSON.parse(await s.k(['get', 'pvc', 'data', '-o', 'json'])) as PersistentVolumeClaim;
    return c.status?.phase === 'Bound' ? c : undefined;
  }, 30_000);
  const pv = JSON.parse(await s.k(['get', 'pv', claim.spec!.volumeName!, '-o', 'json'])) as PersistentVolume;
  assert.equal(pv.spec?.hostPath?.path, `${s.dataDir}/storage/default_data_${claim.spec!.volumeName}`);
});

test('skiff controller-manager refuses a relative --default-local-storage-path in one line', async () => {
  const r = await runSkiff(['controller-manager', '--kubeconfig', s.kubeconfig, '--default-local-storage-path', 'rel/dir'], 30_000);
  assert.equal(r.code, 2, 'a usage error');
  assert.equal(r.stderr.trim(), 'skiff: --default-local-storage-path must be an absolute path, got "rel/dir"');
});
