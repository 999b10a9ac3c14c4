// serviceaccounts/token (TokenRequest) and the authentication of the bound tokens it issues,
// against the real `skiff server` and kubectl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { ServiceAccountTokens } from '../../src/apiserver/serviceaccount-tokens.ts';

function claimsOf(jwt: string): Record<string, any> {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `not a JWT: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

describe('serviceaccounts/token', () => {
  let s: TestServer;
  // Who the API server takes the token for (a SelfSubjectReview, what `kubectl auth whoami` asks).
  const as = (token: string) =>
    s.fetch('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    }).then(async (r) => ({ code: r.status, body: await r.text() }));
  const requestToken = async (ns: string, sa: string, spec: object) => {
    const r = await s.fetch(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec }),
    });
    return { code: r.status, body: await r.json() as any };
  };

  before(async () => {
    s = await startServer();
    await waitFor('the default service account', async () => (await s.kubectl(['get', 'sa', 'default'])).code === 0, 30_000);
  });
  after(async () => {
    await s?.cleanup();
  });

  it('kubectl create token gives a JWT with Kubernetes claims that the API server accepts', async () => {
    const token = (await s.k(['create', 'token', 'default', '--duration', '15m'])).trim();
    const c = claimsOf(token);
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid, 'the header names the key');
    const saUid = (await s.k(['get', 'sa', 'default', '-o', 'jsonpath={.metadata.uid}'])).trim();
    assert.equal(c.sub, 'system:serviceaccount:default:default');
    assert.equal(c.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.deepEqual(c.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(c.exp - c.iat, 900);
    assert.equal(c.nbf, c.iat);
    assert.deepEqual(c['kubernetes.io'], { namespace: 'default', serviceaccount: { name: 'default', uid: saUid } });
    // kubectl with the token instead of the admin credentials.
    const r = await s.kubectl(['--token', token, 'auth', 'whoami', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const user = JSON.parse(r.stdout).status.userInfo;
    assert.equal(user.username, 'system:serviceaccount:default:default');
    assert.equal(user.uid, saUid);
    assert.deepEqual(user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.deepEqual(user.extra['authentication.kubernetes.io/credential-id'], [`JTI=${c.jti}`]);
    const get = await s.kubectl(['--token', token, 'get', 'configmaps', '-n', 'default', '-o', 'name']);
    assert.doesNotMatch(get.stderr, /Unauthorized/);
    // A tampered signature or payload is not accepted.
    const [h, p, sig] = token.split('.');
    assert.equal((await as(`${h}.${p}.${sig.slice(0, -4)}AAAA`)).code, 401);
    const forged = Buffer.from(JSON.stringify({ ...c, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
    assert.equal((await as(`${h}.${forged}.${sig}`)).code, 401);
  });

  it('validates the request as kube-apiserver does', async () => {
    const short = await s.kubectl(['create', 'token', 'default', '--duration', '5m']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
    const missing = await s.kubectl(['create', 'token', 'nobody']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
    const badKind = await requestToken('default', 'default', { boundObjectRef: { kind: 'ConfigMap', apiVersion: 'v1', name: 'x' } });
    assert.equal(badKind.code, 400);
    assert.match(badKind.body.message, /cannot bind token to object of type ConfigMap/);
  });

  it('a token for another audience does not authenticate to the API', async () => {
    const token = (await s.k(['create', 'token', 'default', '--audience', 'vault'])).trim();
    assert.deepEqual(claimsOf(token).aud, ['vault']);
    assert.equal((await as(token)).code, 401);
  });

  it('an expired token or one signed by another key is rejected', async () => {
    const saUid = (await s.k(['get', 'sa', 'default', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const serverKey = new ServiceAccountTokens(readFileSync(join(s.dataDir, 'tls', 'sa.key'), 'utf8'));
    const req = { namespace: 'default', serviceAccount: { name: 'default', uid: saUid }, audiences: serverKey.apiAudiences, expirationSeconds: 600 };
    const fresh = serverKey.issue(req).token;
    assert.equal((await as(fresh)).code, 201, 'the same key, fresh: accepted');
    const expired = serverKey.issue(req, new Date(Date.now() - 3600_000)).token;
    assert.equal((await as(expired)).code, 401);
    const { generateKeyPairSync } = await import('node:crypto');
    const otherPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.equal((await as(new ServiceAccountTokens(otherPem).issue(req).token)).code, 401);
  });

  it('a token stops working when its service account is deleted (even if recreated with the same name)', async () => {
    await s.k(['create', 'serviceaccount', 'robot']);
    const token = (await s.k(['create', 'token', 'robot'])).trim();
    assert.equal((await as(token)).code, 201);
    await s.k(['delete', 'serviceaccount', 'robot']);
    await s.k(['create', 'serviceaccount', 'robot']);
    assert.equal((await as(token)).code, 401);
  });

  it('a pod-bound token names the pod and dies with it', async () => {
    await s.k(['create', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bound', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'skiff.local/busybox:latest' }] },
    }) });
    const podUid = (await s.k(['get', 'pod', 'bound', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const wrongUid = await requestToken('default', 'default', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound', uid: 'nope' } });
    assert.equal(wrongUid.code, 409);
    assert.match(wrongUid.body.message, /does not match the UID in record/);
    const otherSa = await requestToken('default', 'robot', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound', uid: podUid } });
    assert.equal(otherSa.code, 400);
    assert.match(otherSa.body.message, /cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name/);
    const r = await requestToken('default', 'default', { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600,
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound', uid: podUid } });
    assert.equal(r.code, 201, JSON.stringify(r.body));
    assert.equal(r.body.kind, 'TokenRequest');
    assert.ok(Date.parse(r.body.status.expirationTimestamp) > Date.now() + 3000_000);
    const c = claimsOf(r.body.status.token);
    assert.deepEqual(c['kubernetes.io'].pod, { name: 'bound', uid: podUid });
    const who = await as(r.body.status.token);
    assert.equal(who.code, 201, who.body);
    assert.deepEqual(JSON.parse(who.body).status.userInfo.extra['authentication.kubernetes.io/pod-name'], ['bound']);
    await s.k(['delete', 'pod', 'bound', '--grace-period=0', '--force']);
    await waitFor('the pod to be gone', async () => (await s.kubectl(['get', 'pod', 'bound'])).code !== 0, 30_000);
    assert.equal((await as(r.body.status.token)).code, 401);
  });
});
