// Real kubectl bodies: a tiny HTTP server records what `kubectl create ...` POSTs (protobuf, since
// kubectl's typed clients send application/vnd.kubernetes.protobuf), and the decoded body must equal
// what `kubectl create ... --dry-run=client -o json` prints for the same command.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeKubernetesProtobuf } from '../../src/api/protobuf/index.ts';

const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

interface Recorded {
  path: string;
  contentType: string | undefined;
  accept: string | undefined;
  body: Buffer;
}

// Minimal legacy discovery, in case a kubectl command asks for it (plain JSON is accepted as a
// fallback to aggregated discovery).
const DISCOVERY: Record<string, { name: string; kind: string; namespaced: boolean; group?: string; version?: string }[]> = {
  '/api/v1': [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'nodes', kind: 'Node', namespaced: false },
    { name: 'pods', kind: 'Pod', namespaced: true },
    { name: 'pods/eviction', kind: 'Eviction', namespaced: true, group: 'policy', version: 'v1' },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'services', kind: 'Service', namespaced: true },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  ],
  '/apis/apps/v1': [{ name: 'deployments', kind: 'Deployment', namespaced: true }],
  '/apis/batch/v1': [
    { name: 'jobs', kind: 'Job', namespaced: true },
    { name: 'cronjobs', kind: 'CronJob', namespaced: true },
  ],
  '/apis/scheduling.k8s.io/v1': [{ name: 'priorityclasses', kind: 'PriorityClass', namespaced: false }],
  '/apis/policy/v1': [{ name: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true }],
};

function discovery(path: string): unknown {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    const groups = Object.keys(DISCOVERY).filter((p) => p.startsWith('/apis/')).map((p) => {
      const [, , name, version] = p.split('/');
      const gv = { groupVersion: `${name}/${version}`, version };
      return { name, versions: [gv], preferredVersion: gv };
    });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const list = DISCOVERY[path];
  if (!list) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: path.replace(/^\/apis?\//, ''),
    resources: list.map((r) => ({ ...r, singularName: '', verbs: ['create', 'get', 'list'] })),
  };
}

/** Drops null values: Go's JSON prints nil pointers/slices (creationTimestamp: null) that carry nothing. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]),
  );
}

describe('protobuf bodies sent by the real kubectl', { skip: !existsSync(KUBECTL) && 'kubectl not installed' }, () => {
  let server: http.Server;
  let dir: string;
  let kubeconfig: string;
  let reply: unknown = {};
  const posts: Recorded[] = [];
  /** Per-test answers to GET/PATCH/DELETE, by "METHOD path". */
  let routes: Record<string, [number, unknown]> = {};

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0]!;
        res.setHeader('content-type', 'application/json');
        if (req.method === 'POST') {
          posts.push({ path, contentType: req.headers['content-type'], accept: req.headers.accept, body: Buffer.concat(chunks) });
          res.statusCode = 201;
          res.end(JSON.stringify(reply));
          return;
        }
        const route = routes[`${req.method} ${path}`];
        if (route) {
          res.statusCode = route[0];
          res.end(JSON.stringify(route[1]));
          return;
        }
        const doc = path === '/version' ? { major: '1', minor: '32', gitVersion: 'v1.32.0' } : discovery(path);
        res.statusCode = doc ? 200 : 404;
        res.end(JSON.stringify(doc ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'skiff-protobuf-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: fake, user: {}}]',
      'contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: default}}]',
      'current-context: fake',
      '',
    ].join('\n'));
  });

  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function kubectl(args: string[]): Promise<string> {
    const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
    const { stdout } = await run(KUBECTL, [`--kubeconfig=${kubeconfig}`, ...args], { env, timeout: 30_000 });
    return stdout;
  }

  const COMMANDS: [string, string[], string][] = [
    ['namespace', ['create', 'namespace', 'shop'], '/api/v1/namespaces'],
    ['deployment', ['create', 'deployment', 'web', '--image=busybox', '--', 'sleep', '10'], '/apis/apps/v1/namespaces/default/deployments'],
    ['secret', ['create', 'secret', 'generic', 's', '--from-literal=a=b'], '/api/v1/namespaces/default/secrets'],
    ['nodeport service', ['create', 'service', 'nodeport', 'x', '--tcp=80:8080'], '/api/v1/namespaces/default/services'],
    ['cronjob', ['create', 'cronjob', 'c', '--image=busybox', '--schedule=*/1 * * * *'], '/apis/batch/v1/namespaces/default/cronjobs'],
    ['job', ['create', 'job', 'j', '--image=busybox'], '/apis/batch/v1/namespaces/default/jobs'],
    ['priorityclass', ['create', 'priorityclass', 'p', '--value=5'], '/apis/scheduling.k8s.io/v1/priorityclasses'],
    ['configmap', ['create', 'configmap', 'cm', '--from-literal=k=v'], '/api/v1/namespaces/default/configmaps'],
    ['deployment with replicas and port', ['create', 'deployment', 'api', '--image=nginx', '--replicas=3', '--port=8080'],
      '/apis/apps/v1/namespaces/default/deployments'],
    ['clusterip service', ['create', 'service', 'clusterip', 'db', '--tcp=5432:5432', '--tcp=9187'], '/api/v1/namespaces/default/services'],
    ['quota', ['create', 'quota', 'q', '--hard=cpu=1,memory=1G,pods=2'], '/api/v1/namespaces/default/resourcequotas'],
    ['poddisruptionbudget', ['create', 'poddisruptionbudget', 'pdb', '--selector=app=x', '--min-available=50%'],
      '/apis/policy/v1/namespaces/default/poddisruptionbudgets'],
    ['serviceaccount', ['create', 'serviceaccount', 'sa'], '/api/v1/namespaces/default/serviceaccounts'],
  ];

  for (const [what, args, path] of COMMANDS) {
    test(`kubectl create ${what}: decoded body equals the --dry-run=client JSON`, async () => {
      const dash = args.includes('--') ? args.indexOf('--') : args.length; // flags go before `-- command`
      const dryRun = [...args.slice(0, dash), '--dry-run=client', '-o', 'json', ...args.slice(dash)];
      const expected = JSON.parse(await kubectl(dryRun)) as unknown;
      reply = expected;
      routes = {};
      posts.length = 0;
      await kubectl(args);
      assert.equal(posts.length, 1, `kubectl should POST once, saw ${posts.map((p) => p.path).join(', ')}`);
      const post = posts[0]!;
      assert.equal(post.path, path);
      assert.equal(post.contentType, 'application/vnd.kubernetes.protobuf');
      assert.match(post.accept ?? '', /application\/json/);
      assert.deepEqual(decodeKubernetesProtobuf(post.body), withoutNulls(expected));
    });
  }

  test('kubectl create token: the TokenRequest carries the requested duration', async () => {
    routes = {};
    posts.length = 0;
    reply = {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'sa' },
      spec: { audiences: null, expirationSeconds: 3600, boundObjectRef: null },
      status: { token: 'tok', expirationTimestamp: '2026-11-21T11:00:00Z' },
    };
    assert.equal((await kubectl(['create', 'token', 'sa', '--duration=1h'])).trim(), 'tok');
    assert.equal(posts[0]?.path, '/api/v1/namespaces/default/serviceaccounts/sa/token');
    assert.deepEqual(decodeKubernetesProtobuf(posts[0]!.body), {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { expirationSeconds: 3600 }, status: { token: '' },
    });
  });

  // kubectl 1.32 sends drain's Eviction as JSON; decode protobuf should a later kubectl switch.
  test('kubectl drain: the policy/v1 Eviction names the pod', async () => {
    posts.length = 0;
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} };
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'web-1', namespace: 'shop', uid: 'u1',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs1', controller: true }],
      },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
    };
    routes = {
      'GET /api/v1/nodes/n1': [200, node],
      'PATCH /api/v1/nodes/n1': [200, { ...node, spec: { unschedulable: true } }],
      'GET /api/v1/pods': [200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [pod] }],
      'GET /api/v1/namespaces/shop/pods/web-1': [404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }],
    };
    reply = { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 };
    await kubectl(['drain', 'n1', '--timeout=20s']);
    const eviction = posts.find((p) => p.path === '/api/v1/namespaces/shop/pods/web-1/eviction');
    assert.ok(eviction, `kubectl drain should POST an eviction, saw ${posts.map((p) => p.path).join(', ')}`);
    const body = eviction.contentType === 'application/vnd.kubernetes.protobuf'
      ? decodeKubernetesProtobuf(eviction.body)
      : withoutNulls(JSON.parse(eviction.body.toString('utf8')));
    assert.deepEqual(body, {
      apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'shop' }, deleteOptions: {},
    });
  });
});
