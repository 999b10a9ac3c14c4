// The tables as the real kubectl prints them: a loopback server answers
// discovery and lists with toTable's output, and `kubectl get` renders them.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { KubeObject, ResourceInfo } from '../../src/api/types.ts';
import { toTable } from '../../src/api/tables/index.ts';

const KUBECTL = '/usr/bin/kubectl';
const NOW = new Date('2024-05-10T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString().replace('.000Z', 'Z');

const served = ['pods', 'services', 'deployments'].map((p) => BUILTIN_RESOURCES.find((r) => r.plural === p)!);

const objects: Record<string, KubeObject[]> = {
  pods: [
    {
      metadata: { name: 'web-7d4b9c-x2x5q', namespace: 'default', creationTimestamp: ago(2 * 86400 + 3 * 3600) },
      spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'nginx' }, { name: 'proxy', image: 'envoy' }] },
      status: {
        phase: 'Running', podIPs: [{ ip: '10.244.1.7' }],
        containerStatuses: [
          { name: 'web', ready: true, restartCount: 3, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(300) } } },
          { name: 'proxy', ready: false, restartCount: 0, state: { running: {} } },
        ],
      },
    },
    {
      metadata: { name: 'job-abc', namespace: 'default', creationTimestamp: ago(600) },
      spec: { containers: [{ name: 'main', image: 'busybox' }] },
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    },
  ],
  services: [
    {
      metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(3600) },
      spec: { type: 'NodePort', clusterIP: '10.96.14.2', clusterIPs: ['10.96.14.2'], selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] },
    },
  ],
  deployments: [
    {
      metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(45 * 60) },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } } },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    },
  ],
};

function resourceList(group: string, version: string) {
  return {
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version,
    resources: served.filter((r) => r.group === group).map((r: ResourceInfo) => ({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, shortNames: r.shortNames,
      categories: r.categories,
    })),
  };
}

function respond(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (body: unknown, code = 200) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/version') return send({ major: '1', minor: '32', gitVersion: 'v1.32.0' });
  // Legacy discovery (plain application/json): kubectl falls back to it.
  if (url.pathname === '/api') return send({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
  if (url.pathname === '/apis') {
    return send({ kind: 'APIGroupList', apiVersion: 'v1', groups: [
      { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } }] });
  }
  if (url.pathname === '/api/v1') return send(resourceList('', 'v1'));
  if (url.pathname === '/apis/apps/v1') return send(resourceList('apps', 'v1'));
  const m = /^\/(?:api\/v1|apis\/apps\/v1)\/namespaces\/default\/([a-z]+)$/.exec(url.pathname);
  const r = m && served.find((x) => x.plural === m[1]);
  if (r && (req.headers.accept ?? '').includes('as=Table')) {
    const table = toTable(r, objects[r.plural], { now: NOW, includeObject: (url.searchParams.get('includeObject') as 'Object') ?? 'Metadata' });
    return send({ ...table, metadata: { resourceVersion: '42' } });
  }
  send({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'not found' }, 404);
}

describe('kubectl get renders the tables', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  let server: http.Server;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    server = http.createServer(respond);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'skiff-tables-'));
    kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: u, user: {}}]',
      'contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]',
      'current-context: x', '',
    ].join('\n'));
  });

  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 20_000 });
    return stdout;
  };

  it('kubectl get pods', async () => {
    assert.equal(await kubectl('get', 'pods'), [
      'NAME               READY   STATUS      RESTARTS     AGE',
      'web-7d4b9c-x2x5q   1/2     Running     3 (5m ago)   2d3h',
      'job-abc            0/1     Completed   0            10m',
      '',
    ].join('\n'));
  });

  it('kubectl get pods -o wide', async () => {
    assert.equal(await kubectl('get', 'pods', '-o', 'wide'), [
      'NAME               READY   STATUS      RESTARTS     AGE    IP           NODE     NOMINATED NODE   READINESS GATES',
      'web-7d4b9c-x2x5q   1/2     Running     3 (5m ago)   2d3h   10.244.1.7   node-1   <none>           <none>',
      'job-abc            0/1     Completed   0            10m    <none>       <none>   <none>           <none>',
      '',
    ].join('\n'));
  });

  it('kubectl get deployments,services -o wide', async () => {
    assert.equal(await kubectl('get', 'deployments,services', '-o', 'wide'), [
      'NAME                  READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR',
      'deployment.apps/web   2/3     3            2           45m   web          nginx:1.25   app=web',
      '',
      'NAME          TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)        AGE   SELECTOR',
      'service/web   NodePort   10.96.14.2   <none>        80:30080/TCP   60m   app=web',
      '',
    ].join('\n'));
  });

  it('kubectl get pods --show-labels reads labels from the PartialObjectMetadata', async () => {
    objects.pods[0].metadata!.labels = { app: 'web', tier: 'fe' };
    const out = await kubectl('get', 'pods', '--show-labels');
    assert.match(out.split('\n')[1], /web-7d4b9c-x2x5q .* app=web,tier=fe$/);
  });
});
