// The ServiceAccount and DefaultStorageClass admission plugins and the StorageClass kind,
// against the real `skiff server` (controllers in-process) and kubectl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

function podYaml(name: string, spec: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}${extra} }
spec:
${spec}`;
}

describe('ServiceAccount admission', () => {
  let s: TestServer;
  const getJson = async (args: string[]) => JSON.parse(await s.k([...args, '-o', 'json']));

  before(async () => {
    s = await startServer();
    await waitFor('the default service account', async () => (await s.kubectl(['get', 'sa', 'default'])).code === 0, 30_000);
  });
  after(async () => {
    await s?.cleanup();
  });

  it('gives a pod the default account and the kube-api-access volume in every container', async () => {
    await s.k(['apply', '-f', '-'], { input: podYaml('web', `  initContainers: [{ name: init, image: busybox }]
  containers: [{ name: a, image: busybox }, { name: b, image: busybox, volumeMounts: [{ name: own, mountPath: ${TOKEN_PATH} }] }]
  volumes: [{ name: own, emptyDir: {} }]`) });
    const pod = await getJson(['get', 'pod', 'web']);
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.spec.serviceAccount, 'default');
    const vol = pod.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.match(vol.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(vol.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    const mount = { name: vol.name, readOnly: true, mountPath: TOKEN_PATH };
    assert.deepEqual(pod.spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(pod.spec.containers[0].volumeMounts, [mount]);
    // A container that already mounts something at the path keeps it.
    assert.deepEqual(pod.spec.containers[1].volumeMounts, [{ name: 'own', mountPath: TOKEN_PATH }]);
  });

  it('every namespace has the kube-root-ca.crt ConfigMap the volume projects', async () => {
    await s.k(['create', 'namespace', 'ca-check']);
    const cm = await waitFor('kube-root-ca.crt in ca-check', async () => {
      const r = await s.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'ca-check', '-o', 'json']);
      return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    }, 30_000);
    assert.equal(cm.data['ca.crt'], s.ca);
  });

  it('refuses a pod whose account does not exist, with kube-apiserver\'s message', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], { input: podYaml('ghost', '  serviceAccountName: nobody\n  containers: [{ name: a, image: busybox }]') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "ghost" is forbidden: error looking up service account default\/nobody: serviceaccount "nobody" not found/);
    const res = await s.fetch('/api/v1/namespaces/default/pods', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ghost2' }, spec: { serviceAccountName: 'nobody', containers: [{ name: 'a', image: 'busybox' }] } }),
    });
    assert.equal(res.status, 403);
    const status = await res.json() as any;
    assert.equal(status.reason, 'Forbidden');
    assert.deepEqual(status.details, { name: 'ghost2', kind: 'pods' });
  });

  it('honours automountServiceAccountToken on the pod and on the account, and copies the account\'s imagePullSecrets', async () => {
    await s.k(['apply', '-f', '-'], { input: `apiVersion: v1
kind: ServiceAccount
metadata: { name: quiet }
automountServiceAccountToken: false
imagePullSecrets: [{ name: regcred }]` });
    await s.k(['apply', '-f', '-'], { input: podYaml('p-off', '  automountServiceAccountToken: false\n  containers: [{ name: a, image: busybox }]') });
    await s.k(['apply', '-f', '-'], { input: podYaml('sa-off', '  serviceAccountName: quiet\n  containers: [{ name: a, image: busybox }]') });
    await s.k(['apply', '-f', '-'], { input: podYaml('pod-wins', '  serviceAccountName: quiet\n  automountServiceAccountToken: true\n  containers: [{ name: a, image: busybox }]') });
    const off = await getJson(['get', 'pod', 'p-off']);
    assert.equal(off.spec.volumes, undefined);
    assert.equal(off.spec.containers[0].volumeMounts, undefined);
    const saOff = await getJson(['get', 'pod', 'sa-off']);
    assert.equal(saOff.spec.volumes, undefined);
    assert.deepEqual(saOff.spec.imagePullSecrets, [{ name: 'regcred' }]);
    const wins = await getJson(['get', 'pod', 'pod-wins']);
    assert.match(wins.spec.volumes[0].name, /^kube-api-access-/);
    assert.equal(wins.spec.containers[0].volumeMounts[0].mountPath, TOKEN_PATH);
  });

  it('reuses a kube-api-access volume the pod already has (a pod copied from `kubectl get -o yaml`)', async () => {
    const copied = await getJson(['get', 'pod', 'web']);
    const volumes = copied.spec.volumes;
    await s.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'copy' },
      spec: { containers: [{ name: 'a', image: 'busybox', volumeMounts: copied.spec.containers[0].volumeMounts }], volumes },
    }) });
    const pod = await getJson(['get', 'pod', 'copy']);
    assert.deepEqual(pod.spec.volumes.map((v: any) => v.name), volumes.map((v: any) => v.name));
    assert.equal(pod.spec.containers[0].volumeMounts.length, 1);
  });

  it('creates pods in a namespace made a moment ago (it waits for the default account)', async () => {
    await s.k(['create', 'namespace', 'fresh']);
    await s.k(['run', 'first', '-n', 'fresh', '--image', 'busybox']);
    const pod = await getJson(['get', 'pod', 'first', '-n', 'fresh']);
    assert.equal(pod.spec.serviceAccountName, 'default');
  });

  it('leaves mirror pods without an account and refuses one that names an account', async () => {
    await s.k(['apply', '-f', '-'], { input: podYaml('static-node1', '  nodeName: node1\n  containers: [{ name: a, image: busybox }]',
      ', annotations: { kubernetes.io/config.mirror: abc }') });
    const pod = await getJson(['get', 'pod', 'static-node1']);
    assert.equal(pod.spec.serviceAccountName, undefined);
    assert.equal(pod.spec.volumes, undefined);
    const r = await s.kubectl(['apply', '-f', '-'], { input: podYaml('static2-node1', '  nodeName: node1\n  serviceAccountName: default\n  containers: [{ name: a, image: busybox }]',
      ', annotations: { kubernetes.io/config.mirror: abc }') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pods "static2-node1" is forbidden: a mirror pod may not reference service accounts/);
  });
});

describe('StorageClass and DefaultStorageClass admission', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] });
  });
  after(async () => {
    await s?.cleanup();
  });

  it('serves storageclasses with the local-path class as the default', async () => {
    const out = await s.k(['get', 'storageclass']);
    assert.match(out, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE/);
    assert.match(out, /local-path \(default\)\s+skiff\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false/);
    const sc = JSON.parse(await s.k(['get', 'sc', 'local-path', '-o', 'json']));
    assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
  });

  it('defaults and validates StorageClasses', async () => {
    await s.k(['apply', '-f', '-'], { input: 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: { name: manual }\nprovisioner: kubernetes.io/no-provisioner\n' });
    const sc = JSON.parse(await s.k(['get', 'sc', 'manual', '-o', 'json']));
    assert.equal(sc.reclaimPolicy, 'Delete');
    assert.equal(sc.volumeBindingMode, 'Immediate');
    const r = await s.kubectl(['patch', 'sc', 'manual', '-p', '{"reclaimPolicy":"Retain"}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden/);
    const bad = await s.kubectl(['apply', '-f', '-'], { input: 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: { name: bad }\nprovisioner: x\nvolumeBindingMode: Later\n' });
    assert.match(bad.stderr, /volumeBindingMode: Unsupported value: "Later"/);
  });

  it('gives a claim without a class the default class, and leaves "" alone', async () => {
    const claim = (name: string, cls: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ${name} }
spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } }${cls} }`;
    await s.k(['apply', '-f', '-'], { input: claim('data', '') });
    await s.k(['apply', '-f', '-'], { input: claim('none', ', storageClassName: ""') });
    assert.equal(await s.k(['get', 'pvc', 'data', '-o', 'jsonpath={.spec.storageClassName}']), 'local-path');
    assert.equal(await s.k(['get', 'pvc', 'none', '-o', 'jsonpath={.spec.storageClassName}']), '');
  });

  it('lets volumeName be set once on a claim, and its request grow once bound', async () => {
    await s.k(['patch', 'pvc', 'none', '-p', '{"spec":{"volumeName":"pv-1"}}']);
    assert.equal(await s.k(['get', 'pvc', 'none', '-o', 'jsonpath={.spec.volumeName}']), 'pv-1');
    const again = await s.kubectl(['patch', 'pvc', 'none', '-p', '{"spec":{"volumeName":"pv-2"}}']);
    assert.match(again.stderr, /spec: Forbidden: spec is immutable after creation/);
    const unboundGrow = await s.kubectl(['patch', 'pvc', 'none', '-p', '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}']);
    assert.match(unboundGrow.stderr, /spec is immutable after creation/);
    await s.k(['patch', 'pvc', 'none', '--subresource', 'status', '-p', '{"status":{"phase":"Bound","capacity":{"storage":"1Gi"}}}']);
    await s.k(['patch', 'pvc', 'none', '-p', '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}']);
    assert.equal(await s.k(['get', 'pvc', 'none', '-o', 'jsonpath={.spec.resources.requests.storage}']), '2Gi');
  });
});
