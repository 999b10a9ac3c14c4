// Issue 7's acceptance for backups and the way onto etcd: a snapshot saved with `skiff
// etcd-snapshot save` and restored into a fresh single-member etcd gives back the same objects,
// and `skiff store migrate` moves a SQLite-backed cluster into etcd keeping every object.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';
import { copySharedFiles, etcdServerArgs, startHaCluster } from '../helpers/skiff-ha.ts';
import { runSkiff, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { freePort } from '../helpers/wait.ts';

let etcd: EtcdCluster;
const cleanups: (() => Promise<void> | void)[] = [];
before(async () => { etcd = await startEtcdCluster(3); });
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await etcd?.stop();
});

const skiff = (args: string[]) => runSkiff(args, 120_000);


/**
 * namespace/name → data of every ConfigMap, as kubectl shows them; but kube-public/cluster-info,
 * which each API server rewrites with its own address.
 */
async function configMaps(s: TestServer): Promise<Record<string, unknown>> {
  const list = JSON.parse(await s.k(['get', 'configmaps', '-A', '-o', 'json'])) as { items: { metadata: { namespace: string; name: string }; data?: unknown }[] };
  return Object.fromEntries(list.items.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.data ?? {}])
    .filter(([key]) => key !== 'kube-public/cluster-info'));
}

/** kind namespace/name of the objects kubectl lists, for the given resources. */
async function objectNames(s: TestServer, resources: string): Promise<string[]> {
  const list = JSON.parse(await s.k(['get', resources, '-A', '-o', 'json'])) as { items: { kind: string; metadata: { namespace?: string; name: string } }[] };
  return list.items.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
}

const OBJECTS = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {color: blue, size: "3"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: more, namespace: default}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: skiff.local/busybox:latest}]}
`;

it('restores a snapshot into a fresh etcd with the same objects', { timeout: 150_000 }, async () => {
  const ha = await startHaCluster({ servers: 1, etcd });
  cleanups.push(() => ha.stop());
  const [s] = ha.servers;
  await s.k(['apply', '-f', '-'], { input: OBJECTS });
  for (let i = 0; i < 50; i++) await s.k(['create', 'configmap', `bulk-${i}`, '-n', 'shop', `--from-literal=i=${i}`]);
  const before = await configMaps(s);
  assert.ok(Object.keys(before).length >= 52);

  const dir = mkdtempSync(join(tmpdir(), 'skiff-snapshot-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'backup.db');
  const saved = await skiff(['etcd-snapshot', 'save', file, '--etcd-endpoints', etcd.endpoints[1]]);
  assert.equal(saved.code, 0, saved.stderr);
  assert.match(saved.stdout, /saved a snapshot of \d+ bytes/);

  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const dataDir = join(dir, 'restored');
  const restored = await skiff(['etcd-snapshot', 'restore', file, '--data-dir', dataDir, '--name', 'r0',
    '--initial-cluster', `r0=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl]);
  assert.equal(restored.code, 0, restored.stderr);
  const again = await skiff(['etcd-snapshot', 'restore', file, '--data-dir', dataDir]);
  assert.equal(again.code, 2, 'restoring over an existing directory is refused');
  assert.match(again.stderr, /already exists/);

  const proc: ChildProcess = spawn(ETCD, ['--name', 'r0', '--data-dir', dataDir, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `r0=${peerUrl}`, '--log-level', 'warn'],
  { stdio: 'ignore' });
  cleanups.push(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  });

  // A new API server on the restored member, with the first one's certificates and tokens.
  const serverDir = mkdtempSync(join(tmpdir(), 'skiff-restored-'));
  cleanups.push(() => rmSync(serverDir, { recursive: true, force: true }));
  copySharedFiles(s.dataDir, serverDir);
  const r = await startServer({ dataDir: serverDir, extraArgs: etcdServerArgs([clientUrl], ha.prefix), timeoutMs: 60_000 });
  cleanups.push(() => r.cleanup());
  assert.deepEqual(await configMaps(r), before);
  assert.deepEqual(await objectNames(r, 'deployments'), ['Deployment shop/web']);
});

it('migrates a SQLite-backed cluster into etcd with every object', { timeout: 150_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-migrate-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const sqlite = await startServer({ dataDir, extraArgs: ['--store', 'sqlite'] });
  await sqlite.k(['apply', '-f', '-'], { input: OBJECTS });
  // Wait for the Deployment's ReplicaSet, so the copy holds controller-made objects too.
  const deadline = Date.now() + 30_000;
  while (!(await sqlite.k(['get', 'replicasets', '-n', 'shop', '-o', 'name'])).includes('replicaset')) {
    assert.ok(Date.now() < deadline, 'the ReplicaSet of shop/web was not created');
    await new Promise((r) => setTimeout(r, 200));
  }
  const resources = 'namespaces,configmaps,deployments,replicasets,services,serviceaccounts';
  const names = await objectNames(sqlite, resources);
  const data = await configMaps(sqlite);
  await sqlite.stop();

  const prefix = `/skiff-migrated-${process.pid}`;
  const migrated = await skiff(['store', 'migrate', '--data-dir', dataDir, '--etcd-endpoints', etcd.endpoints.join(','), '--etcd-prefix', prefix]);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.match(migrated.stdout, /migrated \d+ keys/);
  const twice = await skiff(['store', 'migrate', '--data-dir', dataDir, '--etcd-endpoints', etcd.endpoints.join(','), '--etcd-prefix', prefix]);
  assert.equal(twice.code, 2, 'migrating into a prefix that holds keys is refused');
  assert.match(twice.stderr, /already holds \d+ keys/);

  const onEtcd = await startServer({ dataDir, extraArgs: etcdServerArgs(etcd.endpoints, prefix), timeoutMs: 60_000 });
  cleanups.push(() => onEtcd.stop());
  assert.deepEqual(await objectNames(onEtcd, resources), names);
  assert.deepEqual(await configMaps(onEtcd), data);
  assert.ok(names.includes('Namespace /shop') && names.includes('Deployment shop/web'), names.join('\n'));
});
