// Every kind of bad input gets a clear 4xx metav1.Status and changes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';

describe('bad input', () => {
  let s: TestServer;
  before(async () => {
    // No controllers: nothing else writes, so an unchanged store revision means the bad requests wrote nothing.
    s = await startServer({ extraArgs: ['--disable-controllers'] });
  });
  after(async () => {
    await s?.cleanup();
  });

  async function storeRevision(): Promise<string> {
    const r = await s.fetch('/api/v1/namespaces');
    return ((await r.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  }

  async function expectStatus(path: string, init: RequestInit, code: number, reason: string, message: RegExp): Promise<void> {
    const res = await s.fetch(path, init);
    const body = await res.json() as { kind: string; code: number; reason: string; message: string; status: string };
    assert.equal(res.status, code, JSON.stringify(body));
    assert.equal(body.kind, 'Status');
    assert.equal(body.status, 'Failure');
    assert.equal(body.code, code);
    assert.equal(body.reason, reason);
    assert.match(body.message, message);
  }

  const json = (body: unknown, method = 'POST') => ({ method, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('answers each with the right code and leaves the store as it was', async () => {
    const before = await storeRevision();
    await expectStatus('/api/v1/namespaces/default/configmaps', json('{"apiVersion": "v1", "kind": '), 400, 'BadRequest', /decoding|JSON|unexpected/i);
    await expectStatus('/api/v1/namespaces/default/configmaps',
      { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed' }, 400, 'BadRequest', /YAML/);
    await expectStatus('/api/v1/namespaces/default/pods', json({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }), 400, 'BadRequest', /kind/);
    await expectStatus('/apis/apps/v1/namespaces/default/deployments', json({ apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'x' } }), 400, 'BadRequest', /API version/);
    const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 10) } };
    await expectStatus('/api/v1/namespaces/default/configmaps', json(big), 413, 'RequestEntityTooLarge', /too large/);
    await expectStatus('/api/v1/namespaces/default/configmaps?fieldValidation=Strict',
      json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strict' }, data: { a: 'b' }, dta: { c: 'd' } }), 400, 'BadRequest', /unknown field "dta"/);
    await expectStatus('/api/v1/namespaces', json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Bad_Name' } }), 422, 'Invalid', /metadata.name: Invalid value: "Bad_Name"/);
    await expectStatus('/api/v1/namespaces/nowhere/configmaps', json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), 404, 'NotFound', /namespaces "nowhere" not found/);
    await expectStatus('/api/v1/namespaces/default/configmaps', json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }), 422, 'Invalid', /name/);
    await expectStatus('/api/v1/namespaces/default/configmaps', json('[1,2,3]'), 400, 'BadRequest', /object/);
    await expectStatus('/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(b', { method: 'GET' }, 400, 'BadRequest', /.+/);
    await expectStatus('/api/v1/namespaces/default/configmaps?fieldSelector=spec.foo%3Dbar', { method: 'GET' }, 400, 'BadRequest', /"spec.foo" is not a known field selector/);
    await expectStatus('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, 415, 'UnsupportedMediaType', /media type/);
    await expectStatus('/api/v1/namespaces/default/configmaps/none', { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{}' }, 404, 'NotFound', /not found/);
    await expectStatus('/apis/nope/v1/things', { method: 'GET' }, 404, 'NotFound', /could not find/);
    assert.equal(await storeRevision(), before, 'a rejected request must not write');
  });

  it('refuses anonymous requests except health and version', async () => {
    const anon = await s.fetch('/api/v1/namespaces', { raw: true } as RequestInit);
    assert.equal(anon.status, 401);
    for (const p of ['/healthz', '/livez', '/readyz', '/version']) {
      const r = await s.fetch(p, { raw: true } as RequestInit);
      assert.equal(r.status, 200, p);
    }
    const wrong = await s.fetch('/api/v1/namespaces', { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
  });

  it('answers a stale update with 409 Conflict and an old watch with 410 Gone', async () => {
    const cm = await (await s.fetch('/api/v1/namespaces/default/configmaps', json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'occ' }, data: { a: '1' } }))).json() as { metadata: { resourceVersion: string } };
    const rv = cm.metadata.resourceVersion;
    const first = await s.fetch('/api/v1/namespaces/default/configmaps/occ', json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'occ', resourceVersion: rv }, data: { a: '2' } }, 'PUT'));
    assert.equal(first.status, 200);
    await expectStatus('/api/v1/namespaces/default/configmaps/occ', json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'occ', resourceVersion: rv }, data: { a: '3' } }, 'PUT'),
      409, 'Conflict', /the object has been modified/);
    await expectStatus('/api/v1/namespaces/default/configmaps', json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'occ' } }), 409, 'AlreadyExists', /configmaps "occ" already exists/);
  });
});
