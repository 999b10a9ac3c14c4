// Node TLS bootstrapping against the real `skiff server` and kubectl: the join token in
// <data-dir>/node-token, anonymous cluster-info, CSR auto-approval and signing, and the
// agent side (bootstrapNodeCredentials) down to `kubectl auth whoami` with the node's kubeconfig.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, webcrypto } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bootstrapNodeCredentials } from '../../src/agent/bootstrap.ts';
import { caCertHash, parseJoinToken } from '../../src/apiserver/bootstrap-join-token.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

let s: TestServer;
let work: string;

before(async () => {
  s = await startServer({ extraArgs: ['--controllers', 'csrapproving,csrsigning'] });
  work = mkdtempSync(join(tmpdir(), 'skiff-node-auth-'));
});
after(async () => {
  const dataDir = s?.dataDir;
  await s?.cleanup();
  // Restarted servers share the first one's data dir, which only the first one's cleanup would remove.
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

function kubectlAs(kubeconfig: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(work, 'kube-cache'), ...args], { timeout: 60_000 },
      (err, stdout, stderr) => res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

const joinToken = () => readFileSync(join(s.dataDir, 'node-token'), 'utf8').trim();

test('skiff server writes a join token that pins its CA, backed by a bootstrap token Secret', async () => {
  const path = join(s.dataDir, 'node-token');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const text = joinToken();
  assert.match(text, /^skiff1\.sha256:[0-9a-f]{64}\.[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const t = parseJoinToken(text);
  assert.equal(t.caCertHash, caCertHash(s.ca));
  const secret = JSON.parse(await s.k(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${t.tokenId}`, '-o', 'json']));
  assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
  const data = (k: string) => Buffer.from(secret.data[k], 'base64').toString();
  assert.equal(data('token-secret'), t.tokenSecret);
  assert.equal(data('usage-bootstrap-authentication'), 'true');
  assert.equal(data('auth-extra-groups'), 'system:bootstrappers:skiff:nodes');
  assert.equal(secret.data.expiration, undefined);
});

test('cluster-info is readable without credentials; nothing else is', async () => {
  const info = await s.fetch('/api/v1/namespaces/kube-public/configmaps/cluster-info', { raw: true });
  assert.equal(info.status, 200);
  const cm = await info.json() as { data: { kubeconfig: string } };
  assert.match(cm.data.kubeconfig, new RegExp(Buffer.from(s.ca).toString('base64').slice(0, 40)));
  assert.equal((await s.fetch('/api/v1/namespaces/kube-public/configmaps', { raw: true })).status, 401);
  assert.equal((await s.fetch('/api/v1/namespaces/kube-system/secrets', { raw: true })).status, 401);
  // A wrong token is refused even where anonymous reads are allowed.
  const bad = await s.fetch('/api/v1/namespaces/kube-public/configmaps/cluster-info', { raw: true, headers: { authorization: 'Bearer nope' } });
  assert.equal(bad.status, 401);
});

test('bootstrapping gives a kubeconfig that kubectl auth whoami reports as the node', async () => {
  const dir = join(work, 'agent-1');
  const path = await bootstrapNodeCredentials({ server: s.url, joinToken: joinToken(), nodeName: 'worker-1', dir, timeoutMs: 30_000 });
  assert.equal(path, join(dir, 'kubelet.kubeconfig'));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const who = await kubectlAs(path, ['auth', 'whoami', '-o', 'json']);
  assert.equal(who.code, 0, who.stderr);
  const userInfo = JSON.parse(who.stdout).status.userInfo;
  assert.equal(userInfo.username, 'system:node:worker-1');
  assert.deepEqual(userInfo.groups, ['system:nodes', 'system:authenticated']);

  // The request is visible to the admin as kubectl shows CSRs, approved and issued, requested by the token's user.
  const { tokenId } = parseJoinToken(joinToken());
  const table = await s.k(['get', 'csr']);
  assert.match(table, /NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION/);
  assert.match(table, new RegExp(`node-csr-\\w+\\s+\\S+\\s+kubernetes.io/kube-apiserver-client-kubelet\\s+system:bootstrap:${tokenId}\\s+<none>\\s+Approved,Issued`));

  // A one-year client certificate from the cluster CA.
  const kubeconfig = readFileSync(path, 'utf8');
  const certPem = Buffer.from(/client-certificate-data: (\S+)/.exec(kubeconfig)![1], 'base64').toString();
  const cert = new X509Certificate(certPem);
  assert.ok(cert.checkIssued(new X509Certificate(s.ca)));
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 360 && days <= 366, `valid for ${days} days`);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);

  // A second start reuses the credentials rather than asking again.
  const csrsBefore = JSON.parse(await s.k(['get', 'csr', '-o', 'json'])).items.length;
  assert.equal(await bootstrapNodeCredentials({ server: s.url, joinToken: joinToken(), nodeName: 'worker-1', dir, timeoutMs: 30_000 }), path);
  assert.equal(readFileSync(path, 'utf8'), kubeconfig);
  assert.equal(JSON.parse(await s.k(['get', 'csr', '-o', 'json'])).items.length, csrsBefore);
  // Reached at another address, it keeps the certificate and follows the new address.
  const other = s.url.replace('127.0.0.1', 'localhost');
  await bootstrapNodeCredentials({ server: other, joinToken: joinToken(), nodeName: 'worker-1', dir, timeoutMs: 30_000 });
  assert.match(readFileSync(path, 'utf8'), new RegExp(`server: ${other}`));
  assert.match(await kubectlAs(path, ['auth', 'whoami']).then((r) => r.stdout), /system:node:worker-1/);
  assert.equal(JSON.parse(await s.k(['get', 'csr', '-o', 'json'])).items.length, csrsBefore);
});

test('a join token whose CA hash is not the cluster\'s is refused before anything is sent', async () => {
  const dir = join(work, 'agent-wrong-ca');
  const t = parseJoinToken(joinToken());
  const wrong = `skiff1.sha256:${'0'.repeat(64)}.${t.tokenId}.${t.tokenSecret}`;
  const csrsBefore = JSON.parse(await s.k(['get', 'csr', '-o', 'json'])).items.length;
  await assert.rejects(bootstrapNodeCredentials({ server: s.url, joinToken: wrong, nodeName: 'worker-x', dir, timeoutMs: 10_000 }),
    /has hash sha256:[0-9a-f]{64}, but the join token pins sha256:0{64}/);
  assert.equal(existsSync(join(dir, 'kubelet.kubeconfig')), false);
  assert.equal(JSON.parse(await s.k(['get', 'csr', '-o', 'json'])).items.length, csrsBefore);
  // A bare bootstrap token (no CA pin) is refused too, with what to use instead.
  await assert.rejects(bootstrapNodeCredentials({ server: s.url, joinToken: `${t.tokenId}.${t.tokenSecret}`, nodeName: 'worker-x', dir }),
    /does not pin the cluster CA/);
});

test('a bootstrap token can ask for certificates and nothing else', async () => {
  const t = parseJoinToken(joinToken());
  const kc = join(work, 'bootstrap.kubeconfig');
  await kubectlAs(kc, ['config', 'set-cluster', 'c', `--server=${s.url}`, `--certificate-authority=${join(s.dataDir, 'tls', 'ca.crt')}`]);
  await kubectlAs(kc, ['config', 'set-credentials', 'u', `--token=${t.tokenId}.${t.tokenSecret}`]);
  await kubectlAs(kc, ['config', 'set-context', 'c', '--cluster=c', '--user=u']);
  await kubectlAs(kc, ['config', 'use-context', 'c']);
  const pods = await kubectlAs(kc, ['get', 'pods']);
  assert.notEqual(pods.code, 0);
  assert.match(pods.stderr, new RegExp(`Error from server \\(Forbidden\\): pods is forbidden: User "system:bootstrap:${t.tokenId}" ` +
    'cannot list resource "pods" in API group "" in the namespace "default"'));
  const secrets = await kubectlAs(kc, ['get', 'secret', '-n', 'kube-system', `bootstrap-token-${t.tokenId}`]);
  assert.match(secrets.stderr, /Forbidden/);
  const csrs = await kubectlAs(kc, ['get', 'csr']);
  assert.equal(csrs.code, 0, csrs.stderr);
  // Nor can it approve a request.
  await s.k(['create', '-f', '-'], { input: JSON.stringify(csrObject('pending-1', await requestPem('someone', []), 'kubernetes.io/kube-apiserver-client')) });
  const approve = await kubectlAs(kc, ['certificate', 'approve', 'pending-1']);
  assert.match(approve.stderr, /certificatesigningrequests.certificates.k8s.io "pending-1" is forbidden: User "system:bootstrap:\w+" cannot update resource "certificatesigningrequests\/approval" in API group "certificates.k8s.io" at the cluster scope/);
  assert.match(await s.k(['get', 'csr', 'pending-1']), /Pending/);
});

test('a bootstrapper asking for more than node credentials is not approved, and not signed if someone approves it', async () => {
  const t = parseJoinToken(joinToken());
  const asBootstrapper = new RestClient({ server: s.url, ca: s.ca, token: `${t.tokenId}.${t.tokenSecret}` });
  try {
    // Claims to be the admin's group and forges its requester: the server records who really asked.
    const forged = csrObject('escalate', await requestPem('system:node:worker-9', ['system:masters']), 'kubernetes.io/kube-apiserver-client-kubelet');
    forged.spec.username = 'skiff-admin';
    forged.spec.groups = ['system:masters'];
    const created = await asBootstrapper.create(R.certificatesigningrequests, forged as never) as { spec: { username: string; groups: string[] } };
    assert.equal(created.spec.username, `system:bootstrap:${t.tokenId}`);
    assert.deepEqual(created.spec.groups, ['system:bootstrappers', 'system:bootstrappers:skiff:nodes', 'system:authenticated']);
  } finally {
    await asBootstrapper.close();
  }
  await new Promise((r) => setTimeout(r, 1500)); // give the approver a chance to (wrongly) act
  assert.match(await s.k(['get', 'csr', 'escalate']), /Pending/);
  await s.k(['certificate', 'approve', 'escalate']);
  const failed = await waitFor('the signer to refuse the request', async () => {
    const csr = JSON.parse(await s.k(['get', 'csr', 'escalate', '-o', 'json']));
    return csr.status.conditions?.find((c: { type: string }) => c.type === 'Failed') ? csr : undefined;
  }, 30_000);
  assert.equal(failed.status.certificate, undefined);
  assert.match(failed.status.conditions.find((c: { type: string }) => c.type === 'Failed').message, /subject organization is not system:nodes/);
  assert.match(await s.k(['get', 'csr', 'escalate']), /Approved,Failed/);
});

test('the CSR API: requests are validated, only the approval subresource decides, and decisions are final', async () => {
  const admin = new RestClient({ server: s.url, ca: s.ca, token: s.token });
  type Csr = ReturnType<typeof csrObject> & { status?: { conditions?: { type: string; status: string }[] } };
  const conditionsOf = async (name: string) => ((await admin.get<never>(R.certificatesigningrequests, name)) as Csr).status?.conditions?.map((c) => c.type) ?? [];
  try {
    const bad = csrObject('bad', 'not a certificate request', 'example.com/custom');
    await assert.rejects(admin.create(R.certificatesigningrequests, bad as never), /spec.request: Invalid value: \[\]byte\{...\}: PEM block type must be CERTIFICATE REQUEST/);
    const created = await admin.create(R.certificatesigningrequests, csrObject('decide', await requestPem('carol', []), 'example.com/custom') as never) as Csr;
    const approved = { ...created, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Sneaky' }] } };
    await admin.update(R.certificatesigningrequests, approved as never);
    await admin.update(R.certificatesigningrequests, approved as never, { subresource: 'status' });
    assert.deepEqual(await conditionsOf('decide'), []);
    await admin.update(R.certificatesigningrequests, approved as never, { subresource: 'approval' });
    assert.deepEqual(await conditionsOf('decide'), ['Approved']);
    const undo = { ...(await admin.get<never>(R.certificatesigningrequests, 'decide') as Csr), status: { conditions: [] } };
    await assert.rejects(admin.update(R.certificatesigningrequests, undo as never, { subresource: 'approval' }), /updates may not remove a condition of type "Approved"/);
    const both = { ...undo, status: { conditions: [{ type: 'Approved', status: 'True' }, { type: 'Denied', status: 'True' }] } };
    await assert.rejects(admin.update(R.certificatesigningrequests, both as never, { subresource: 'approval' }), /Approved and Denied conditions are mutually exclusive/);
  } finally {
    await admin.close();
  }
});

async function requestPem(cn: string, orgs: string[]): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const req = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [cn] }, ...orgs.map((o) => ({ O: [o] }))], keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  }, webcrypto);
  return req.toString('pem');
}

function csrObject(name: string, pem: string, signerName: string) {
  return {
    apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
    spec: { request: Buffer.from(pem).toString('base64'), signerName, usages: ['digital signature', 'client auth'] } as Record<string, unknown>,
  };
}

test('the join token survives restarts; deleting its Secret revokes it and the next start makes a new one', async () => {
  const before = joinToken();
  const { tokenId, tokenSecret } = parseJoinToken(before);
  await s.stop();
  s = await startServer({ dataDir: s.dataDir, extraArgs: ['--controllers', 'csrapproving,csrsigning'] });
  assert.equal(joinToken(), before);
  await s.k(['delete', 'secret', '-n', 'kube-system', `bootstrap-token-${tokenId}`]);
  const revoked = await s.fetch('/apis/certificates.k8s.io/v1/certificatesigningrequests', { headers: { authorization: `Bearer ${tokenId}.${tokenSecret}` } });
  assert.equal(revoked.status, 401);
  await s.stop();
  s = await startServer({ dataDir: s.dataDir, extraArgs: ['--controllers', 'csrapproving,csrsigning'] });
  const after = parseJoinToken(joinToken());
  assert.notEqual(after.tokenId, tokenId);
  const path = await bootstrapNodeCredentials({ server: s.url, joinToken: joinToken(), nodeName: 'worker-7', dir: join(work, 'agent-7'), timeoutMs: 30_000 });
  assert.match((await kubectlAs(path, ['auth', 'whoami'])).stdout, /system:node:worker-7/);
});
