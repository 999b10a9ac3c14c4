// End to end with the real agent and runtime: a claim of the default (local-path) class keeps a
// file from one pod to the next and its directory is removed with the claim; a pod's projected
// service account token authenticates to the API server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { type AgentEnv, BUSYBOX, startAgentEnv } from './helpers.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

describe('local-path volumes and service account tokens with the real agent', () => {
  let env: AgentEnv;
  let base: string;
  const pod = (name: string, script: string, extra: Record<string, unknown> = {}) => JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: {
      restartPolicy: 'Never', terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: BUSYBOX, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      ...extra,
    },
  });

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-local-path-'));
    env = await startAgentEnv();
    await env.server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'local-path-config', namespace: 'kube-system' },
      data: { 'config.json': JSON.stringify({ nodePathMap: [{ node: env.nodeName, paths: [base] }] }) },
    }) });
  });
  after(async () => {
    await env?.cleanup();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('a file written through a default-class claim is read back by the next pod, and goes with the claim', async () => {
    await env.server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
    }) });
    await env.server.k(['apply', '-f', '-'], { input: pod('writer', 'echo kept-between-pods > /data/file') });
    await env.waitPod('writer', 'Succeeded', (p) => p.status?.phase === 'Succeeded', 90_000);
    const pvc = await env.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, 'data', { namespace: 'default' });
    assert.equal(pvc.status?.phase, 'Bound');
    assert.equal(pvc.spec?.storageClassName, 'local-path');
    const pv = await env.client.get<PersistentVolume>(R.persistentvolumes, pvc.spec!.volumeName!);
    const dir = pv.spec!.hostPath!.path;
    assert.equal(dir, join(base, `default_data_${pv.metadata!.name}`));
    assert.equal(await readFile(join(dir, 'file'), 'utf8'), 'kept-between-pods\n');

    await env.server.k(['delete', 'pod', 'writer', '--wait=true', '--timeout=60s']);
    await env.server.k(['apply', '-f', '-'], { input: pod('reader', 'cat /data/file') });
    await env.waitPod('reader', 'Succeeded', (p) => p.status?.phase === 'Succeeded', 90_000);
    assert.equal(await env.server.k(['logs', 'reader']), 'kept-between-pods\n');

    await env.server.k(['delete', 'pod', 'reader', '--wait=true', '--timeout=60s']);
    await env.server.k(['delete', 'pvc', 'data']);
    await waitFor(`volume ${pv.metadata!.name} deleted`, () => env.client.get(R.persistentvolumes, pv.metadata!.name!)
      .then(() => false, (e: { code?: number }) => e.code === 404), 90_000);
    await assert.rejects(stat(dir), { code: 'ENOENT' }, 'the helper pod removed the directory');
  });

  it('a pod\'s token, CA and namespace files work against the API server', async () => {
    await env.server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: BUSYBOX, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
    }) });
    await env.waitPod('client', 'Running', (p) => p.status?.phase === 'Running', 90_000);
    const token = await env.server.k(['exec', 'client', '--', 'cat', `${TOKEN_DIR}/token`]);
    assert.equal(await env.server.k(['exec', 'client', '--', 'cat', `${TOKEN_DIR}/namespace`]), 'default');
    assert.equal(await env.server.k(['exec', 'client', '--', 'cat', `${TOKEN_DIR}/ca.crt`]), env.server.ca);
    const review = await env.server.fetch('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    assert.equal(review.status, 201);
    const who = (await review.json() as { status: { userInfo: { username: string; extra?: Record<string, string[]> } } }).status.userInfo;
    assert.equal(who.username, 'system:serviceaccount:default:default');
    assert.deepEqual(who.extra?.['authentication.kubernetes.io/pod-name'], ['client']);
    const get = await env.server.fetch('/api/v1/namespaces/default/pods/client', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(get.status, 200);
    await env.server.k(['delete', 'pod', 'client', '--wait=true', '--timeout=60s']);
  });
});
