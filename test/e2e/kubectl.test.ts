// The real kubectl 1.32 against a real `skiff server`: the workflows a user runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';

const MANIFEST = (extraContainer: string) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: frontend}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: httpd
        image: skiff.local/busybox:latest
        command: [httpd, -f, -p, "8080"]
        ports: [{containerPort: 8080, name: http}]
${extraContainer}---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels: {app: web}
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
  namespace: shop
stringData:
  password: s3cret
`;

const SIDECAR = `      - name: sidecar
        image: skiff.local/busybox:latest
        command: [sleep, "3600"]
`;

describe('kubectl against skiff server', () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    s = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'skiff-manifests-'));
  });
  after(async () => {
    await s?.cleanup();
  });

  it('creates a namespace and applies a multi-document manifest', async () => {
    assert.match(await s.k(['create', 'namespace', 'shop']), /namespace\/shop created/);
    writeFileSync(join(dir, 'app.yaml'), MANIFEST(''));
    const out = await s.k(['apply', '-f', join(dir, 'app.yaml')]);
    assert.match(out, /deployment.apps\/web created/);
    assert.match(out, /service\/web created/);
    assert.match(out, /configmap\/web-config created/);
    assert.match(out, /secret\/web-secret created/);
    const secret = JSON.parse(await s.k(['get', 'secret', 'web-secret', '-n', 'shop', '-o', 'json']));
    assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 's3cret');
  });

  it('gets in every output format', async () => {
    const table = await s.k(['get', 'deployments', '-n', 'shop']);
    assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
    assert.match(table, /^web\s+0\/2\s+[02]\s+0\s+/m); // no nodes: the pods stay Pending
    const wide = await s.k(['get', 'deploy', '-n', 'shop', '-o', 'wide']);
    assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /httpd\s+skiff.local\/busybox:latest\s+app=web/);
    const svc = await s.k(['get', 'svc', 'web', '-n', 'shop']);
    assert.match(svc, /^web\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80\/TCP/m);
    const y = await s.k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'yaml']);
    assert.match(y, /kind: Deployment/);
    assert.match(y, /revisionHistoryLimit: 10/); // defaulted by the server
    const j = JSON.parse(await s.k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']));
    assert.equal(j.spec.strategy.rollingUpdate.maxSurge, '25%');
    assert.equal(j.metadata.generation, 1);
    assert.equal(await s.k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'jsonpath={.data.greeting}']), 'hello');
    const cc = await s.k(['get', 'deploy', '-n', 'shop', '-o', 'custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas']);
    assert.match(cc, /^NAME\s+REPLICAS\nweb\s+2\n$/);
    const all = await s.k(['get', 'namespaces', '--show-labels']);
    assert.match(all, /shop\s+Active\s+\S+\s+kubernetes.io\/metadata.name=shop/);
    const across = await s.k(['get', 'configmaps', '-A', '-l', 'app=web']);
    assert.match(across, /^NAMESPACE\s+NAME\s+DATA\s+AGE\nshop\s+web-config\s+1\s+/);
    await s.k(['create', 'configmap', 'b-cm', '-n', 'shop', '--from-literal=x=1']);
    await s.k(['create', 'configmap', 'a-cm', '-n', 'shop', '--from-literal=x=1']);
    const sorted = await s.k(['get', 'cm', '-n', 'shop', '--sort-by=.metadata.name', '-o', 'name']);
    assert.deepEqual(sorted.trim().split('\n').filter((l) => !l.includes('kube-root')),
      ['configmap/a-cm', 'configmap/b-cm', 'configmap/web-config']);
  });

  it('re-applies an edited manifest with a three-way strategic merge', async () => {
    writeFileSync(join(dir, 'app.yaml'), MANIFEST(SIDECAR));
    assert.match(await s.k(['apply', '-f', join(dir, 'app.yaml')]), /deployment.apps\/web configured/);
    const d = JSON.parse(await s.k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']));
    assert.deepEqual(d.spec.template.spec.containers.map((c: { name: string }) => c.name), ['httpd', 'sidecar']);
    assert.equal(d.metadata.generation, 2);
    assert.match(await s.k(['apply', '-f', join(dir, 'app.yaml')]), /deployment.apps\/web unchanged/);
    const diff = await s.kubectl(['diff', '-f', join(dir, 'app.yaml')]);
    assert.equal(diff.code, 0, diff.stderr);
    writeFileSync(join(dir, 'app.yaml'), MANIFEST(SIDECAR).replace('replicas: 2', 'replicas: 4'));
    const diff2 = await s.kubectl(['diff', '-f', join(dir, 'app.yaml')]);
    assert.equal(diff2.code, 1, diff2.stderr);
    assert.match(diff2.stdout, /-  replicas: 2\n\+  replicas: 4/);
  });

  it('server-side apply reports a conflict and takes over with --force-conflicts', async () => {
    const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: shop\ndata:\n  key: ${v}\n`;
    assert.match(await s.k(['apply', '--server-side', '--field-manager', 'alice', '-f', '-'], { input: cm('a') }), /configmap\/ssa serverside-applied/);
    const conflict = await s.kubectl(['apply', '--server-side', '--field-manager', 'bob', '-f', '-'], { input: cm('b') });
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflict/i);
    assert.match(conflict.stderr, /alice/);
    assert.match(conflict.stderr, /\.data\.key/);
    await s.k(['apply', '--server-side', '--field-manager', 'bob', '--force-conflicts', '-f', '-'], { input: cm('b') });
    const got = JSON.parse(await s.k(['get', 'cm', 'ssa', '-n', 'shop', '-o', 'json', '--show-managed-fields']));
    assert.equal(got.data.key, 'b');
    const owners = got.metadata.managedFields.filter((m: { fieldsV1: { 'f:data'?: object } }) => m.fieldsV1['f:data']).map((m: { manager: string }) => m.manager);
    assert.deepEqual(owners, ['bob']);
  });

  it('labels, annotates and patches with all three patch types', async () => {
    await s.k(['label', 'cm', 'web-config', '-n', 'shop', 'color=blue']);
    await s.k(['annotate', 'cm', 'web-config', '-n', 'shop', 'note=hi']);
    await s.k(['patch', 'cm', 'web-config', '-n', 'shop', '--type=merge', '-p', '{"data":{"merged":"yes"}}']);
    await s.k(['patch', 'cm', 'web-config', '-n', 'shop', '--type=json', '-p', '[{"op":"add","path":"/data/json","value":"yes"}]']);
    await s.k(['patch', 'deployment', 'web', '-n', 'shop', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"skiff.local/busybox:v2"}]}}}}']);
    const cm = JSON.parse(await s.k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'json']));
    assert.equal(cm.metadata.labels.color, 'blue');
    assert.equal(cm.metadata.annotations.note, 'hi');
    assert.equal(cm.data.merged, 'yes');
    assert.equal(cm.data.json, 'yes');
    const d = JSON.parse(await s.k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']));
    assert.deepEqual(d.spec.template.spec.containers.map((c: { image: string }) => c.image), ['skiff.local/busybox:latest', 'skiff.local/busybox:v2']);
    const bad = await s.kubectl(['patch', 'cm', 'web-config', '-n', 'shop', '--type=json', '-p', '[{"op":"test","path":"/data/greeting","value":"nope"}]']);
    assert.notEqual(bad.code, 0);
  });

  it('scales a deployment through the scale subresource', async () => {
    assert.match(await s.k(['scale', 'deployment', 'web', '-n', 'shop', '--replicas=5']), /deployment.apps\/web scaled/);
    assert.equal(await s.k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']), '5');
    const scale = await (await s.fetch('/apis/apps/v1/namespaces/shop/deployments/web/scale')).json() as { kind: string; spec: { replicas: number }; status: { selector: string } };
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 5);
    assert.equal(scale.status.selector, 'app=web');
  });

  it('watches ADDED, MODIFIED and DELETED with get -w', async () => {
    const watcher = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'get', 'configmaps', '-n', 'shop', '-w', '--output-watch-events', '-l', 'watch=me'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watcher.stdout.on('data', (d) => (out += d));
    const waitFor = async (re: RegExp) => {
      const deadline = Date.now() + 15000;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await new Promise((r) => setTimeout(r, 1500));
    await s.k(['create', 'configmap', 'watched', '-n', 'shop', '--from-literal=a=1']);
    await s.k(['label', 'configmap', 'watched', '-n', 'shop', 'watch=me']);
    await waitFor(/ADDED\s+watched/);
    await s.k(['patch', 'configmap', 'watched', '-n', 'shop', '-p', '{"data":{"a":"2"}}']);
    await waitFor(/MODIFIED\s+watched/);
    await s.k(['delete', 'configmap', 'watched', '-n', 'shop']);
    await waitFor(/DELETED\s+watched/);
    watcher.kill();
  });

  it('deletes with --wait and waits for deletion', async () => {
    await s.k(['create', 'configmap', 'doomed', '-n', 'shop']);
    assert.match(await s.k(['delete', 'configmap', 'doomed', '-n', 'shop', '--wait']), /configmap "doomed" deleted/);
    await s.k(['create', 'configmap', 'doomed2', '-n', 'shop']);
    const waiting = s.kubectl(['wait', '--for=delete', 'configmap/doomed2', '-n', 'shop', '--timeout=20s']);
    await new Promise((r) => setTimeout(r, 500));
    await s.k(['delete', 'configmap', 'doomed2', '-n', 'shop']);
    const w = await waiting;
    assert.equal(w.code, 0, w.stderr);
  });

  it('explains and lists API resources', async () => {
    const ex = await s.k(['explain', 'deployment.spec.replicas']);
    assert.match(ex, /Number of desired pods/);
    const res = await s.k(['api-resources']);
    assert.match(res, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    assert.match(res, /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(await s.k(['get', 'all', '-n', 'shop']), /deployment.apps\/web/);
  });

  it('serves a CRD\'s custom resources: create, list, watch', async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec: {type: string}
              image: {type: string}
              replicas: {type: integer, minimum: 1}
`;
    await s.k(['apply', '-f', '-'], { input: crd });
    await s.k(['wait', '--for=condition=established', 'crd/crontabs.stable.example.com', '--timeout=20s']);
    const ct = `apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: my-cron\n  namespace: shop\nspec:\n  cronSpec: "* * * * */5"\n  image: my-image\n  replicas: 2\n`;
    assert.match(await s.k(['apply', '-f', '-'], { input: ct }), /crontab.stable.example.com\/my-cron created/);
    assert.match(await s.k(["get", "ct", "-n", "shop"]), /^NAME\s+SPEC\s+REPLICAS\nmy-cron\s+\* \* \* \* \*\/5\s+2\n$/);
    const invalid = await s.kubectl(['apply', '-f', '-'], { input: ct.replace('my-cron', 'bad-cron').replace('replicas: 2', 'replicas: 0') });
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /spec.replicas/);
    const watcher = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'get', 'crontabs', '-n', 'shop', '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watcher.stdout.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 1500));
    await s.k(['patch', 'ct', 'my-cron', '-n', 'shop', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    const deadline = Date.now() + 15000;
    while (!/MODIFIED\s+my-cron/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    watcher.kill();
    assert.match(out, /MODIFIED\s+my-cron/);
  });
});
