import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { ensurePki, issueClientCert, writeKubeconfig, type Pki } from '../../src/apiserver/pki.ts';

const run = promisify(execFile);
const KUBECTL = '/usr/bin/kubectl';
const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-pki-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An https server like the API server's, answering /version; records the client certificate it saw. */
async function startServer(
  pki: Pki,
  t: { after: (fn: () => Promise<void>) => void },
  opts: { requestClientCert?: boolean; host?: string } = {},
) {
  const seen: { subject?: string } = {};
  const server = https.createServer(
    {
      cert: pki.servingCertPem,
      key: pki.servingKeyPem,
      ca: opts.requestClientCert ? pki.caCertPem : undefined,
      requestCert: opts.requestClientCert ?? false,
      rejectUnauthorized: opts.requestClientCert ?? false,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerX509Certificate?.();
      if (peer) seen.subject = peer.subject;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(new URL(req.url ?? '/', 'https://x').pathname === '/version' ? VERSION : {}));
    },
  );
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, seen };
}

function get(url: string, ca: string | undefined, extra: https.RequestOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, ...extra }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function kubectlVersion(kubeconfig: string, home: string) {
  const running = run(KUBECTL, [`--kubeconfig=${kubeconfig}`, 'version', '-o', 'json'], {
    env: { PATH: process.env.PATH, HOME: home },
    timeout: 20_000,
  });
  // kubectl prompts for a user name on some failures; never let it wait on our stdin.
  running.child.stdin?.end();
  return running;
}

test('first start creates a CA and a serving certificate with the API server names', async (t) => {
  const dataDir = await tempDir(t);
  const pki = await ensurePki(dataDir, { hosts: ['10.96.0.1', 'api.example.com'] });
  const tls = join(dataDir, 'tls');
  for (const [file, mode] of [['ca.crt', 0o644], ['ca.key', 0o600], ['serving.crt', 0o644], ['serving.key', 0o600]] as const) {
    const s = await stat(join(tls, file));
    assert.equal(s.mode & 0o777, mode, `${file} mode`);
  }
  assert.equal(await readFile(join(tls, 'ca.crt'), 'utf8'), pki.caCertPem);
  assert.equal(await readFile(join(tls, 'serving.key'), 'utf8'), pki.servingKeyPem);

  const ca = new X509Certificate(pki.caCertPem);
  assert.equal(ca.subject, 'CN=skiff-ca');
  assert.equal(ca.ca, true);
  const caYears = (Date.parse(ca.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
  assert.ok(caYears > 9.9 && caYears <= 10.01, `CA valid for ${caYears} years`);

  const serving = new X509Certificate(pki.servingCertPem);
  assert.ok(serving.checkIssued(ca) && serving.verify(ca.publicKey), 'serving cert signed by the CA');
  assert.equal(serving.ca, false);
  assert.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  for (const name of ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local', hostname().toLowerCase(), 'api.example.com']) {
    assert.equal(serving.checkHost(name, { subject: 'never' }), name, `SAN ${name}`);
  }
  for (const ip of ['127.0.0.1', '::1', '10.96.0.1']) assert.equal(serving.checkIP(ip), ip, `SAN ${ip}`);
  const days = (Date.parse(serving.validTo) - Date.now()) / (24 * 3600 * 1000);
  assert.ok(days > 364 && days <= 366, `serving cert valid for ${days} days`);
});

test('a client trusting ca.crt connects over TLS; one that does not is refused', async (t) => {
  const pki = await ensurePki(await tempDir(t), { hosts: [] });
  const { port } = await startServer(pki, t);
  assert.equal(JSON.parse(await get(`https://127.0.0.1:${port}/version`, pki.caCertPem)).gitVersion, 'v1.32.0');
  assert.equal(JSON.parse(await get(`https://localhost:${port}/version`, pki.caCertPem, { family: 4 })).minor, '32');
  await assert.rejects(get(`https://127.0.0.1:${port}/version`, undefined), /self-signed|unable to verify|certificate/i);
});

test('kubectl 1.32 trusts the CA from certificate-authority-data', async (t) => {
  const dataDir = await tempDir(t);
  const pki = await ensurePki(dataDir, { hosts: [] });
  const { port } = await startServer(pki, t);
  for (const server of [`https://127.0.0.1:${port}`, `https://localhost:${port}`]) {
    const kubeconfig = join(dataDir, 'kubeconfig');
    await writeKubeconfig(kubeconfig, { server, caPem: pki.caCertPem, token: 'secret', user: 'admin', cluster: 'skiff', context: 'skiff' });
    const { stdout, stderr } = await kubectlVersion(kubeconfig, dataDir);
    assert.doesNotMatch(stderr, /x509|certificate|tls/i);
    assert.equal(JSON.parse(stdout).serverVersion.gitVersion, 'v1.32.0', server);
  }
});

test('kubectl refuses a server whose CA it was not given (the check can fail)', async (t) => {
  const dataDir = await tempDir(t);
  const pki = await ensurePki(dataDir, { hosts: [] });
  const other = await ensurePki(await tempDir(t), { hosts: [] });
  const { port } = await startServer(pki, t);
  const kubeconfig = join(dataDir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${port}`, caPem: other.caCertPem, token: 't', user: 'u', cluster: 'c', context: 'x' });
  await assert.rejects(kubectlVersion(kubeconfig, dataDir), (err: { stderr: string }) => /x509|certificate/i.test(err.stderr));
});

test('client certificates from issueClientCert authenticate kubectl as CN with groups O', async (t) => {
  const dataDir = await tempDir(t);
  const pki = await ensurePki(dataDir, { hosts: [] });
  const client = await issueClientCert(dataDir, 'system:node:worker-1', ['system:nodes', 'team-a']);
  const cert = new X509Certificate(client.certPem);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.ok(cert.checkPrivateKey(createPrivateKey(client.keyPem)));

  const { port, seen } = await startServer(pki, t, { requestClientCert: true });
  const kubeconfig = join(dataDir, 'node.kubeconfig');
  await writeKubeconfig(kubeconfig, {
    server: `https://127.0.0.1:${port}`,
    caPem: pki.caCertPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
    user: 'node',
    cluster: 'skiff',
    context: 'node',
  });
  const { stdout } = await kubectlVersion(kubeconfig, dataDir);
  assert.equal(JSON.parse(stdout).serverVersion.minor, '32');
  assert.equal(seen.subject, 'CN=system:node:worker-1\nO=system:nodes\nO=team-a');
});

test('later starts reuse the certificates, and add a requested host by re-issuing only the serving cert', async (t) => {
  const dataDir = await tempDir(t);
  const first = await ensurePki(dataDir, { hosts: ['a.example'] });
  const again = await ensurePki(dataDir, { hosts: ['a.example'] });
  assert.deepEqual(again, first);

  const more = await ensurePki(dataDir, { hosts: ['a.example', '192.168.7.7'] });
  assert.equal(more.caCertPem, first.caCertPem);
  assert.equal(more.caKeyPem, first.caKeyPem);
  assert.notEqual(more.servingCertPem, first.servingCertPem);
  assert.equal(new X509Certificate(more.servingCertPem).checkIP('192.168.7.7'), '192.168.7.7');
  assert.equal(await readFile(join(dataDir, 'tls', 'serving.crt'), 'utf8'), more.servingCertPem);
});

test('a serving cert expiring within 30 days, or signed by another CA, is re-issued', async (t) => {
  const dataDir = await tempDir(t);
  const pki = await ensurePki(dataDir, { hosts: [] });
  const servingPath = join(dataDir, 'tls', 'serving.crt');

  // Same key and names, signed by our CA, but only 10 days left.
  const caKey = createPrivateKey(pki.caKeyPem).toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const old = new x509.X509Certificate(pki.servingCertPem);
  const ca = new x509.X509Certificate(pki.caCertPem);
  const expiring = await x509.X509CertificateGenerator.create(
    {
      subject: old.subjectName,
      issuer: ca.subjectName,
      publicKey: old.publicKey,
      signingKey: caKey as webcrypto.CryptoKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 10 * 24 * 3600_000),
      extensions: old.extensions,
    },
    webcrypto,
  );
  await writeFile(servingPath, expiring.toString('pem'));
  const renewed = await ensurePki(dataDir, { hosts: [] });
  assert.notEqual(renewed.servingCertPem, expiring.toString('pem'));
  assert.ok(Date.parse(new X509Certificate(renewed.servingCertPem).validTo) > Date.now() + 300 * 24 * 3600_000);

  const foreign = await ensurePki(await tempDir(t), { hosts: [] });
  await writeFile(servingPath, foreign.servingCertPem);
  await writeFile(join(dataDir, 'tls', 'serving.key'), foreign.servingKeyPem);
  const fixed = await ensurePki(dataDir, { hosts: [] });
  assert.ok(new X509Certificate(fixed.servingCertPem).verify(new X509Certificate(pki.caCertPem).publicKey));
});

test('a CA certificate without its key is an error, not a silent new CA', async (t) => {
  const dataDir = await tempDir(t);
  await ensurePki(dataDir, { hosts: [] });
  await unlink(join(dataDir, 'tls', 'ca.key'));
  await assert.rejects(ensurePki(dataDir, { hosts: [] }), /ca\.key is missing/);
  await assert.rejects(issueClientCert(dataDir, 'bob', []), /call ensurePki first/);
});

test('writeKubeconfig writes an owner-only kubeconfig kubectl understands', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'nested', 'config');
  await writeKubeconfig(path, { server: 'https://127.0.0.1:6443', caPem: 'PEM', token: 'tok', user: 'admin', cluster: 'skiff', context: 'skiff-admin' });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const cfg = parse(await readFile(path, 'utf8'));
  assert.equal(cfg.kind, 'Config');
  assert.equal(cfg['current-context'], 'skiff-admin');
  assert.equal(Buffer.from(cfg.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), 'PEM');
  assert.deepEqual(cfg.users[0], { name: 'admin', user: { token: 'tok' } });
  const { stdout } = await run(KUBECTL, [`--kubeconfig=${path}`, 'config', 'view', '--raw', '-o', 'jsonpath={.contexts[0].context.cluster}'], { env: { PATH: process.env.PATH, HOME: dir } });
  assert.equal(stdout, 'skiff');
});

test('a damaged serving certificate is replaced', async (t) => {
  const dataDir = await tempDir(t);
  const pki = await ensurePki(dataDir, { hosts: [] });
  await writeFile(join(dataDir, 'tls', 'serving.crt'), 'garbage');
  t.mock.method(console, 'warn', () => undefined);
  const fixed = await ensurePki(dataDir, { hosts: [] });
  assert.equal(fixed.caCertPem, pki.caCertPem);
  assert.ok(new X509Certificate(fixed.servingCertPem).checkIssued(new X509Certificate(pki.caCertPem)));
});
