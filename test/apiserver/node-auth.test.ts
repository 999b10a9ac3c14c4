// What a node's own credentials may do (kube's Node authorizer + NodeRestriction), checked with
// the real kubectl against the real `skiff server`: its own Node, status and Lease yes, another
// node's no; secrets only through a pod bound to it; pods' status and deletion only for its pods.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapNodeCredentials } from '../../src/agent/bootstrap.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

let s: TestServer;
let work: string;
let node: string; // worker-1's kubeconfig

before(async () => {
  s = await startServer({ extraArgs: ['--controllers', 'csrapproving,csrsigning'] });
  work = mkdtempSync(join(tmpdir(), 'skiff-node-auth-'));
  node = await bootstrapNodeCredentials({ server: s.url, joinToken: readFileSync(join(s.dataDir, 'node-token'), 'utf8'),
    nodeName: 'worker-1', dir: join(work, 'agent'), timeoutMs: 30_000 });
  await s.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    nodeObject('worker-2'),
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'used', namespace: 'default' }, stringData: { password: 'p1' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other', namespace: 'default' }, stringData: { password: 'p2' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env-only', namespace: 'default' }, data: { a: 'b' } },
    pod('mine', 'worker-1', {
      volumes: [{ name: 's', secret: { secretName: 'used' } }],
      env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'env-only', key: 'a' } } }],
    }),
    pod('theirs', 'worker-2', { volumes: [{ name: 's', secret: { secretName: 'other' } }] }),
  ] }) });
});
after(async () => {
  await s?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

function nodeObject(name: string) {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } };
}

function pod(name: string, nodeName: string, extra: { volumes?: unknown[]; env?: unknown[] }) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: {
    nodeName, volumes: extra.volumes,
    containers: [{ name: 'c', image: 'skiff.local/busybox:latest', command: ['sleep', '3600'], env: extra.env,
      volumeMounts: extra.volumes ? [{ name: 's', mountPath: '/s' }] : undefined }],
  } };
}

/** kubectl as worker-1 (node credentials from bootstrapping). */
function asNode(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = execFile('kubectl', ['--kubeconfig', node, '--cache-dir', join(work, 'kube-cache'), ...args], { timeout: 60_000 },
      (err, stdout, stderr) => res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function nodeOk(args: string[], input?: string): Promise<string> {
  const r = await asNode(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} as worker-1: ${r.stderr}`);
  return r.stdout;
}

async function nodeForbidden(args: string[], message: RegExp, input?: string): Promise<void> {
  const r = await asNode(args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} as worker-1 should have been refused:\n${r.stdout}`);
  assert.match(r.stderr, /Error from server \(Forbidden\)/);
  assert.match(r.stderr, message);
}

test('a node registers and updates its own Node and its status, but not another node', async () => {
  await nodeOk(['create', '-f', '-'], JSON.stringify(nodeObject('worker-1')));
  await nodeOk(['label', 'node', 'worker-1', 'skiff.test/role=worker']);
  await nodeOk(['patch', 'node', 'worker-1', '--subresource=status', '--type=merge', '-p',
    JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok',
      lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }] } })]);
  assert.match(await s.k(['get', 'node', 'worker-1']), /worker-1\s+Ready/);

  await nodeForbidden(['patch', 'node', 'worker-2', '--type=merge', '-p', '{"metadata":{"labels":{"x":"y"}}}'],
    /nodes "worker-2" is forbidden: User "system:node:worker-1" cannot patch resource "nodes" in API group "" at the cluster scope: node 'worker-1' cannot modify node 'worker-2'/);
  await nodeForbidden(['patch', 'node', 'worker-2', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"x"}}'],
    /cannot patch resource "nodes\/status"/);
  await nodeForbidden(['delete', 'node', 'worker-2'], /cannot delete resource "nodes"/);
  await nodeForbidden(['create', '-f', '-'], /nodes "worker-3" is forbidden: node "worker-1" is not allowed to modify node "worker-3"/,
    JSON.stringify(nodeObject('worker-3')));
  await nodeForbidden(['label', 'node', 'worker-1', 'node-restriction.kubernetes.io/trusted=yes'],
    /is not allowed to modify labels: node-restriction.kubernetes.io\/trusted/);
  // Reading every node is allowed, as kubelets do.
  assert.match(await nodeOk(['get', 'nodes']), /worker-2/);
});

test('a node heartbeats through its own Lease only', async () => {
  const lease = (name: string) => JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' } });
  await nodeOk(['create', '-f', '-'], lease('worker-1'));
  await nodeOk(['patch', 'lease', '-n', 'kube-node-lease', 'worker-1', '--type=merge', '-p', '{"spec":{"renewTime":"2026-01-01T00:00:10.000000Z"}}']);
  await nodeOk(['replace', '-f', '-'], lease('worker-1'));
  await nodeForbidden(['create', '-f', '-'], /can only access node lease with the same name as the requesting node/, lease('worker-2'));
  await s.k(['create', '-f', '-'], { input: lease('worker-2') });
  await nodeForbidden(['patch', 'lease', '-n', 'kube-node-lease', 'worker-2', '--type=merge', '-p', '{"spec":{"holderIdentity":"worker-1"}}'],
    // kubectl patch reads the Lease first: even that is refused, as kube's Node authorizer refuses it.
    /leases.coordination.k8s.io "worker-2" is forbidden: User "system:node:worker-1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node/);
  await nodeForbidden(['delete', 'lease', '-n', 'kube-node-lease', 'worker-2'], /cannot delete resource "leases"/);
});

test('a node reads the secrets and configmaps its pods use, and no others', async () => {
  const secret = JSON.parse(await nodeOk(['get', 'secret', 'used', '-o', 'json']));
  assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 'p1');
  await nodeOk(['get', 'configmap', 'env-only']);
  await nodeForbidden(['get', 'secret', 'other'],
    /secrets "other" is forbidden: User "system:node:worker-1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'worker-1' and this object/);
  await nodeForbidden(['get', 'secrets'], /can only get individual resources of this type/);
  await nodeForbidden(['get', 'secret', '-n', 'kube-system', 'bootstrap-token-x'], /no relationship found/);
  // Listing and watching one object by name works, as kubelet's secret manager does it.
  assert.match(await nodeOk(['get', 'secrets', '--field-selector', 'metadata.name=used']), /used/);
  const client = RestClient.fromKubeconfig(node);
  try {
    const seen: string[] = [];
    for await (const e of client.watch(R.secrets, { namespace: 'default', fieldSelector: 'metadata.name=used', timeoutSeconds: 1 })) {
      seen.push(`${e.type} ${(e.object.metadata as { name?: string } | undefined)?.name}`);
    }
    assert.deepEqual(seen, ['ADDED used']);
  } finally {
    await client.close();
  }

  // A pod bound a moment ago counts at once.
  await s.k(['create', '-f', '-'], { input: JSON.stringify(pod('late', 'worker-1', { volumes: [{ name: 's', secret: { secretName: 'other' } }] })) });
  await nodeOk(['get', 'secret', 'other']);
  await s.k(['delete', 'pod', 'late', '--grace-period=0', '--force']);
  await waitFor('the deleted pod to stop granting its secret', async () => (await asNode(['get', 'secret', 'other'])).code !== 0);
  await nodeForbidden(['get', 'secret', 'other'], /no relationship found/);
});

test('a node updates the status of and deletes only the pods bound to it', async () => {
  await nodeOk(['patch', 'pod', 'mine', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
  assert.match(await s.k(['get', 'pod', 'mine']), /mine\s+0\/1\s+Running/);
  await nodeForbidden(['patch', 'pod', 'theirs', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}'],
    /pods "theirs" is forbidden: User "system:node:worker-1" cannot patch resource "pods\/status" in API group "" in the namespace "default"/);
  await nodeForbidden(['patch', 'pod', 'mine', '--type=merge', '-p', '{"metadata":{"labels":{"a":"b"}}}'], /cannot patch resource "pods"/);
  await nodeForbidden(['delete', 'pod', 'theirs', '--wait=false'], /pods "theirs" is forbidden: User "system:node:worker-1" cannot delete resource "pods"/);
  await nodeOk(['delete', 'pod', 'mine', '--wait=false']);
  assert.match(await nodeOk(['get', 'pods']), /theirs/);
});

test('a node creates only mirror pods of its own', async () => {
  const mirror = (nodeName: string, annotated = true) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `static-${nodeName}`, namespace: 'default', annotations: annotated ? { 'kubernetes.io/config.mirror': 'abc' } : {} },
    spec: { nodeName, containers: [{ name: 'c', image: 'skiff.local/busybox:latest' }] } });
  await nodeForbidden(['create', '-f', '-'], /pod does not have "kubernetes.io\/config.mirror" annotation, node "worker-1" can only create mirror pods/, mirror('worker-1', false));
  await nodeForbidden(['create', '-f', '-'], /node "worker-1" can only create pods with spec.nodeName set to itself/, mirror('worker-2'));
  await nodeOk(['create', '-f', '-'], mirror('worker-1'));
});

test('the admin may still do all of it', async () => {
  await s.k(['label', 'node', 'worker-2', 'admin=yes']);
  await s.k(['patch', 'lease', '-n', 'kube-node-lease', 'worker-1', '--type=merge', '-p', '{"spec":{"holderIdentity":"admin"}}']);
  assert.match(await s.k(['get', 'secrets', '-A']), /used/);
  await s.k(['patch', 'pod', 'theirs', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
  await s.k(['delete', 'pod', 'theirs', '--grace-period=0', '--force']);
  await s.k(['delete', 'node', 'worker-2']);
});
