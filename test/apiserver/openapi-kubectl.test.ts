// The real kubectl against a bare node:http server that serves discovery (a
// small stand-in, not Skiff's) and our /openapi/v2 and /openapi/v3 documents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import { apiVersionOf } from '../../src/api/types.ts';
import type { ResourceInfo } from '../../src/api/types.ts';
import { createSchemaResolver } from '../../src/api/schema/resolver.ts';
import { encodeOpenAPIv2Protobuf, openAPIDocuments, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from '../../src/apiserver/openapi.ts';

const KUBECTL = '/usr/bin/kubectl';

interface Served {
  v2(): object;
  v3Discovery(): object;
  v3(path: string): object | undefined;
}

interface Recorded { method: string; url: string; contentType?: string; body: string }

/** A stand-in API server: discovery from BUILTIN_RESOURCES, the OpenAPI documents, and an in-memory object map. */
async function startServer(docs: Served, served = BUILTIN_RESOURCES): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const byGroupVersion = new Map<string, ResourceInfo[]>();
  for (const r of served) {
    const key = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), r]);
  }
  const groups = [...new Set(served.filter((r) => r.group).map((r) => apiVersionOf(r)))].map((gv) => {
    const [name, version] = gv.split('/');
    return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
  });
  const objects = new Map<string, Record<string, unknown>>();
  const requests: Recorded[] = [];
  const json = (res: http.ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const notFound = { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    let body = '';
    req.on('data', (c: Buffer) => { body += c; });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      if (p === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      if (p === '/apis') return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      const resources = byGroupVersion.get(p);
      if (resources) {
        return json(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(resources[0]!),
          resources: resources.map((r) => ({ name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind,
            verbs: r.verbs, shortNames: r.shortNames })) });
      }
      if (p === '/openapi/v2') {
        if (!(req.headers.accept ?? '').includes('protobuf')) return json(res, 200, docs.v2());
        res.writeHead(200, { 'content-type': OPENAPI_V2_PROTOBUF_CONTENT_TYPE });
        return res.end(encodeOpenAPIv2Protobuf(docs.v2()));
      }
      if (p === '/openapi/v3') return json(res, 200, docs.v3Discovery());
      if (p.startsWith('/openapi/v3/')) {
        const doc = docs.v3(p.slice('/openapi/v3/'.length));
        return doc ? json(res, 200, doc) : json(res, 404, notFound);
      }
      // Just enough of a store for create and apply.
      if (req.method === 'POST') {
        const obj = JSON.parse(body) as { metadata: { name: string } };
        objects.set(`${p}/${obj.metadata.name}`, obj);
        return json(res, 201, obj);
      }
      const obj = objects.get(p);
      if (!obj) return json(res, 404, notFound);
      return json(res, 200, obj);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function kubectl(server: string, dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, [`--server=${server}`, '--kubeconfig=/dev/null', `--cache-dir=${path.join(dir, 'cache')}`, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: '/dev/null' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

const DEPLOYMENT = (extra: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
${extra}  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80, name: http}]
        resources: {limits: {cpu: 1, memory: 128Mi}}
        readinessProbe: {httpGet: {path: /, port: http}}
`;

/** Documents without the fieldValidation parameter: how a server without server-side field validation looks. */
function withoutFieldValidation(docs: Served): Served {
  const strip = (doc: object) => JSON.parse(JSON.stringify(doc, (_k, v: unknown) =>
    Array.isArray(v) ? v.filter((p: { name?: string } | null) => p?.name !== 'fieldValidation') : v)) as object;
  const v2 = strip(docs.v2());
  return { v2: () => v2, v3Discovery: () => docs.v3Discovery(), v3: (p) => { const d = docs.v3(p); return d && strip(d); } };
}

const cronTabs: ResourceInfo = {
  group: 'stable.example.com', version: 'v1', kind: 'CronTab', listKind: 'CronTabList', plural: 'crontabs',
  singular: 'crontab', namespaced: true, shortNames: ['ct'], categories: [], custom: true, subresources: ['status'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
};

describe('kubectl 1.32 against our OpenAPI documents', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  const docs = openAPIDocuments(BUILTIN_RESOURCES, createSchemaResolver());
  let server: Awaited<ReturnType<typeof startServer>>;
  let dir: string;

  before(async () => {
    server = await startServer(docs);
    dir = mkdtempSync(path.join(tmpdir(), 'skiff-openapi-'));
    writeFileSync(path.join(dir, 'unknown-field.yaml'), DEPLOYMENT('  bogusField: 3\n'));
    writeFileSync(path.join(dir, 'valid.yaml'), DEPLOYMENT(''));
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl explain reads field documentation from /openapi/v3', async () => {
    const strategy = await kubectl(server.url, dir, 'explain', 'deployments.spec.strategy');
    assert.equal(strategy.code, 0, strategy.stderr);
    assert.match(strategy.stdout, /GROUP:\s+apps/);
    assert.match(strategy.stdout, /KIND:\s+Deployment/);
    assert.match(strategy.stdout, /FIELD: strategy <DeploymentStrategy>/);
    assert.match(strategy.stdout, /The deployment strategy to use to replace existing pods with new ones/);
    assert.match(strategy.stdout, /rollingUpdate\s+<RollingUpdateDeployment>/);

    const containers = await kubectl(server.url, dir, 'explain', 'pods.spec.containers', '--api-version=v1');
    assert.equal(containers.code, 0, containers.stderr);
    assert.match(containers.stdout, /KIND:\s+Pod/);
    assert.match(containers.stdout, /List of containers belonging to the pod/);
    assert.match(containers.stdout, /imagePullPolicy\s+<string>/);
    assert.match(containers.stdout, /name\s+<string> -required-/);
  });

  test('kubectl explain --output=plaintext-openapiv2 reads the protobuf /openapi/v2', async () => {
    const r = await kubectl(server.url, dir, 'explain', 'deployments.spec.template.spec.volumes', '--output=plaintext-openapiv2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /KIND:\s+Deployment/);
    assert.match(r.stdout, /RESOURCE:\s+volumes <\[\]Object>/);
    assert.match(r.stdout, /List of volumes that can be mounted by containers/);
    assert.match(r.stdout, /name\t<string> -required-/);
  });

  test('--validate=strict: kubectl finds fieldValidation in /openapi/v3 and leaves validation to the server', async () => {
    server.requests.length = 0;
    const created = await kubectl(server.url, dir, 'create', '-f', path.join(dir, 'unknown-field.yaml'));
    assert.equal(created.code, 0, created.stderr);
    const post = server.requests.find((r) => r.method === 'POST');
    assert.match(post?.url ?? '', /fieldValidation=Strict/);
    assert.match(post?.body ?? '', /bogusField/, 'the unknown field goes to the server to judge');
    assert.ok(server.requests.some((r) => r.url.startsWith('/openapi/v3/apis/apps/v1?hash=')));

    // With --dry-run=client nothing reaches the server, so nothing complains (as against kube-apiserver).
    const dry = await kubectl(server.url, dir, 'create', '--dry-run=client', '-o', 'yaml', '-f', path.join(dir, 'unknown-field.yaml'));
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /bogusField: 3/);
  });

  test('kubectl apply computes a strategic merge patch against our documents', async () => {
    const file = path.join(dir, 'apply.yaml');
    writeFileSync(file, DEPLOYMENT(''));
    const first = await kubectl(server.url, dir, 'apply', '--validate=strict', '-f', file);
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(file, DEPLOYMENT('').replace('image: nginx', 'image: nginx:1.27'));
    server.requests.length = 0;
    const second = await kubectl(server.url, dir, 'apply', '--validate=strict', '-f', file);
    assert.equal(second.code, 0, second.stderr);
    const patch = server.requests.find((r) => r.method === 'PATCH');
    assert.equal(patch?.contentType, 'application/strategic-merge-patch+json');
    assert.match(patch?.url ?? '', /fieldValidation=Strict/);
    assert.match(patch?.body ?? '', /"\$setElementOrder\/containers":\[\{"name":"web"\}\]/);
    assert.match(patch?.body ?? '', /"image":"nginx:1.27"/);
  });

  test('kubectl explain finds a CRD kind and its schema', async () => {
    const resolver = createSchemaResolver();
    resolver.addKind('stable.example.com', 'v1', 'CronTab', {
      type: 'object',
      properties: { spec: { type: 'object', description: 'The desired crontab.', properties: {
        cronSpec: { type: 'string', description: 'When to run, in cron syntax.' } } } },
    });
    const served = [...BUILTIN_RESOURCES, cronTabs];
    const crdServer = await startServer(openAPIDocuments(served, resolver), served);
    try {
      const r = await kubectl(crdServer.url, dir, 'explain', 'crontabs.spec');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /GROUP:\s+stable\.example\.com/);
      assert.match(r.stdout, /KIND:\s+CronTab/);
      assert.match(r.stdout, /The desired crontab\./);
      assert.match(r.stdout, /cronSpec\s+<string>\s+When to run, in cron syntax\./);
    } finally {
      await crdServer.close();
    }
  });

  describe('a server that does not declare fieldValidation', () => {
    let plain: Awaited<ReturnType<typeof startServer>>;
    before(async () => {
      // A CRD whose schema kubectl's v2 model could not parse as written (an array without items)
      // must not break validation of everything else.
      const resolver = createSchemaResolver();
      resolver.addKind('stable.example.com', 'v1', 'CronTab', {
        type: 'object',
        properties: {
          spec: { type: 'object', properties: { cronSpec: { type: 'string' }, tags: { type: 'array' } } },
          status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      });
      const served = [...BUILTIN_RESOURCES, cronTabs];
      plain = await startServer(withoutFieldValidation(openAPIDocuments(served, resolver)), served);
    });
    after(async () => { await plain?.close(); });

    test('CRD objects are validated against the published CRD schema', async () => {
      const file = path.join(dir, 'crontab.yaml');
      writeFileSync(file, 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: c}\n' +
        'spec: {cronSpec: "* * * * */5", tags: [a, 1]}\nstatus: {anything: [goes]}\n');
      const good = await kubectl(plain.url, dir, 'create', '--dry-run=client', '-o', 'name', '-f', file);
      assert.equal(good.code, 0, good.stderr);
      writeFileSync(file, 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: c}\nspec: {cronSpec: 5, color: red}\n');
      const bad = await kubectl(plain.url, dir, 'create', '--dry-run=client', '-o', 'name', '-f', file);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /unknown field "color"/);
    });

    test('kubectl validates client-side against the protobuf /openapi/v2', async () => {
      const bad = await kubectl(plain.url, dir, 'create', '--dry-run=client', '-o', 'yaml', '-f', path.join(dir, 'unknown-field.yaml'));
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /unknown field "bogusField" in io\.k8s\.api\.apps\.v1\.DeploymentSpec/);
      assert.ok(plain.requests.some((r) => r.url.startsWith('/openapi/v2')));

      const good = await kubectl(plain.url, dir, 'create', '--dry-run=client', '-o', 'name', '-f', path.join(dir, 'valid.yaml'));
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stdout.trim(), 'deployment.apps/web');
    });
  });
});
