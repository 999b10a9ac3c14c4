// Pod volumes on the node (src/agent/volumes): files, modes, symlinks and mounts as kubelet lays
// them out, against a real `skiff server`; no containers needed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { podVolumeDir, setUpPodVolumes, tearDownPodVolumes } from '../../src/agent/volumes/index.ts';
import { type Cluster, startCluster, tmpfsAt } from './volumes-fixtures.ts';

const mode = (p: string) => statSync(p).mode & 0o7777;

describe('pod volumes', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster();
  });
  after(async () => {
    await c?.cleanup();
  });

  it('configMap: every key as a file through ..data, items with paths and modes', async () => {
    await c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' },
      data: { 'app.conf': 'port=8080\n', 'log.level': 'debug' }, binaryData: { 'blob.bin': Buffer.from([0, 1, 2]).toString('base64') } });
    const pod = await c.pod('cm', { volumes: [
      { name: 'all', configMap: { name: 'app' } },
      { name: 'some', configMap: { name: 'app', defaultMode: 0o400, items: [{ key: 'app.conf', path: 'conf/app.conf' }, { key: 'log.level', path: 'level', mode: 0o600 }] } },
    ] });
    await setUpPodVolumes(pod, c.ctx);
    const all = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'configMap', 'all');
    assert.equal(all, join(c.podsDir, pod.metadata!.uid!, 'volumes', 'kubernetes.io~configmap', 'all'));
    assert.deepEqual(readdirSync(all).filter((n) => !n.startsWith('..')).sort(), ['app.conf', 'blob.bin', 'log.level']);
    assert.equal(readFileSync(join(all, 'app.conf'), 'utf8'), 'port=8080\n');
    assert.deepEqual([...readFileSync(join(all, 'blob.bin'))], [0, 1, 2]);
    assert.equal(readlinkSync(join(all, 'app.conf')), '..data/app.conf');
    assert.match(readlinkSync(join(all, '..data')), /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\w+$/);
    assert.equal(mode(join(all, 'app.conf')), 0o644);
    const some = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'configMap', 'some');
    assert.deepEqual(readdirSync(some).filter((n) => !n.startsWith('..')).sort(), ['conf', 'level']);
    assert.equal(readlinkSync(join(some, 'conf')), '..data/conf');
    assert.equal(readFileSync(join(some, 'conf/app.conf'), 'utf8'), 'port=8080\n');
    assert.equal(mode(join(some, 'conf/app.conf')), 0o400);
    assert.equal(mode(join(some, 'level')), 0o600);
    assert.equal(tmpfsAt(all), undefined, 'configMaps live on disk');
  });

  it('configMap: an update reaches the file through a ..data swap; an unchanged sync rewrites nothing', async () => {
    await c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'default' }, data: { greeting: 'hello', old: 'x' } });
    const pod = await c.pod('live', { volumes: [{ name: 'cfg', configMap: { name: 'live' } }] });
    const dir = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'configMap', 'cfg');
    await setUpPodVolumes(pod, c.ctx);
    const first = readlinkSync(join(dir, '..data'));
    await setUpPodVolumes(pod, c.ctx);
    assert.equal(readlinkSync(join(dir, '..data')), first, 'same content: the same version stays');
    await c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live', namespace: 'default' }, data: { greeting: 'bonjour', added: 'y' } });
    await setUpPodVolumes(pod, c.ctx);
    const second = readlinkSync(join(dir, '..data'));
    assert.notEqual(second, first);
    assert.equal(readFileSync(join(dir, 'greeting'), 'utf8'), 'bonjour', 'the same path shows the new content');
    assert.equal(readFileSync(join(dir, 'added'), 'utf8'), 'y');
    assert.equal(existsSync(join(dir, 'old')), false, 'a removed key disappears');
    assert.equal(existsSync(join(dir, first)), false, 'the old version is deleted');
    assert.deepEqual(readdirSync(dir).sort(), ['..data', second, 'added', 'greeting'].sort());
  });

  it('configMap and secret errors are worded as kubelet words them; optional ones are empty', async () => {
    const missing = await c.pod('cm-missing', { volumes: [{ name: 'cfg', configMap: { name: 'nope' } }] });
    await assert.rejects(setUpPodVolumes(missing, c.ctx), { message: 'MountVolume.SetUp failed for volume "cfg" : configmap "nope" not found' });
    const noKey = await c.pod('cm-nokey', { volumes: [{ name: 'cfg', configMap: { name: 'app', items: [{ key: 'absent', path: 'a' }] } }] });
    await assert.rejects(setUpPodVolumes(noKey, c.ctx), { message: 'MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: absent' });
    const noSecret = await c.pod('secret-missing', { volumes: [{ name: 'sec', secret: { secretName: 'nope' } }] });
    await assert.rejects(setUpPodVolumes(noSecret, c.ctx), { message: 'MountVolume.SetUp failed for volume "sec" : secret "nope" not found' });
    const optional = await c.pod('cm-optional', { volumes: [{ name: 'cfg', configMap: { name: 'nope', optional: true } },
      { name: 'items', configMap: { name: 'app', optional: true, items: [{ key: 'absent', path: 'a' }, { key: 'log.level', path: 'l' }] } }] });
    await setUpPodVolumes(optional, c.ctx);
    const dir = podVolumeDir(c.podsDir, optional.metadata!.uid!, 'configMap', 'cfg');
    assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('..')), []);
    const items = podVolumeDir(c.podsDir, optional.metadata!.uid!, 'configMap', 'items');
    assert.deepEqual(readdirSync(items).filter((n) => !n.startsWith('..')), ['l']);
  });

  it('secret: decoded on a tmpfs with its mode; teardown unmounts and removes it', async () => {
    await c.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' },
      data: { password: Buffer.from('s3cr3t').toString('base64'), user: Buffer.from('admin').toString('base64') } });
    const pod = await c.pod('sec', { volumes: [{ name: 'creds', secret: { secretName: 'creds', defaultMode: 0o400 } }] });
    await setUpPodVolumes(pod, c.ctx);
    const dir = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'secret', 'creds');
    assert.ok(tmpfsAt(dir), `${dir} is a tmpfs`);
    assert.equal(mode(dir), 0o1777, 'a tmpfs root, as kubelet leaves it');
    assert.equal(readFileSync(join(dir, 'password'), 'utf8'), 's3cr3t');
    assert.equal(mode(join(dir, 'password')), 0o400);
    await setUpPodVolumes(pod, c.ctx); // idempotent: no second mount
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === dir).length, 1);
    await tearDownPodVolumes(pod.metadata!.uid!, c.ctx);
    assert.equal(tmpfsAt(dir), undefined);
    assert.equal(existsSync(join(c.podsDir, pod.metadata!.uid!)), false);
  });

  it('emptyDir: a 0777 directory on disk, or a tmpfs sized by sizeLimit for medium Memory; fsGroup owns it', async () => {
    const pod = await c.pod('empty', { securityContext: { fsGroup: 2000 }, volumes: [
      { name: 'scratch', emptyDir: {} }, { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
    ] });
    await setUpPodVolumes(pod, c.ctx);
    const disk = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'emptyDir', 'scratch');
    assert.equal(mode(disk), 0o2777);
    assert.equal(statSync(disk).gid, 2000);
    assert.equal(tmpfsAt(disk), undefined);
    const mem = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'emptyDir', 'mem');
    const t = tmpfsAt(mem);
    assert.ok(t, 'medium Memory is a tmpfs');
    assert.match(t.options, /size=16384k/);
    writeFileSync(join(mem, 'data'), 'kept');
    await setUpPodVolumes(pod, c.ctx);
    assert.equal(readFileSync(join(mem, 'data'), 'utf8'), 'kept', 'a later sync keeps what the pod wrote');
    await tearDownPodVolumes(pod.metadata!.uid!, c.ctx);
    assert.equal(tmpfsAt(mem), undefined);
  });

  it('downwardAPI: labels and annotations files follow the pod; resources with divisors and node allocatable', async () => {
    const pod = await c.pod('dapi', {
      containers: [{ name: 'main', image: 'skiff.local/busybox:latest', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } } }],
      volumes: [{ name: 'info', downwardAPI: { items: [
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
        { path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } },
        { path: 'mem_limit_mi', resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' } },
        { path: 'cpu_limit', resourceFieldRef: { containerName: 'main', resource: 'limits.cpu' } },
        { path: 'cpu_request_m', resourceFieldRef: { containerName: 'main', resource: 'requests.cpu', divisor: '1m' }, mode: 0o600 },
      ] } }],
    }, { labels: { zone: 'us-east', tier: 'web' }, annotations: { builder: 'skiff "ci"' } });
    await setUpPodVolumes(pod, c.ctx);
    const dir = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'downwardAPI', 'info');
    assert.equal(readFileSync(join(dir, 'labels'), 'utf8'), 'tier="web"\nzone="us-east"');
    assert.equal(readFileSync(join(dir, 'annotations'), 'utf8'), 'builder="skiff \\"ci\\""');
    assert.equal(readFileSync(join(dir, 'name'), 'utf8'), 'dapi');
    assert.equal(readFileSync(join(dir, 'tier'), 'utf8'), 'web');
    assert.equal(readFileSync(join(dir, 'mem_limit_mi'), 'utf8'), '128');
    assert.equal(readFileSync(join(dir, 'cpu_limit'), 'utf8'), '4', 'no cpu limit: node allocatable 3500m, rounded up to cores');
    assert.equal(readFileSync(join(dir, 'cpu_request_m'), 'utf8'), '250');
    assert.equal(mode(join(dir, 'cpu_request_m')), 0o600);
    await c.s.k(['label', 'pod', 'dapi', 'zone=eu-west', '--overwrite']);
    const updated = await c.client.get<Pod>(R.pods, 'dapi', { namespace: 'default' });
    await setUpPodVolumes(updated, c.ctx);
    assert.equal(readFileSync(join(dir, 'labels'), 'utf8'), 'tier="web"\nzone="eu-west"');
  });

  it('projected: a service account token the API server accepts, the cluster CA and the namespace; the token is reused while fresh', async () => {
    const pod = await c.pod('proj', { volumes: [{ name: 'kube-api-access', projected: { defaultMode: 0o644, sources: [
      { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      { serviceAccountToken: { path: 'vault-token', audience: 'vault', expirationSeconds: 600 } },
    ] } }] });
    await setUpPodVolumes(pod, c.ctx);
    const dir = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'projected', 'kube-api-access');
    assert.ok(tmpfsAt(dir), 'projected volumes are on tmpfs');
    const token = readFileSync(join(dir, 'token'), 'utf8');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.deepEqual(claims['kubernetes.io'].pod, { name: 'proj', uid: pod.metadata!.uid });
    assert.equal(claims.exp - claims.iat, 3607);
    assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), c.s.ca);
    assert.equal(readFileSync(join(dir, 'namespace'), 'utf8'), 'default');
    assert.deepEqual(JSON.parse(Buffer.from(readFileSync(join(dir, 'vault-token'), 'utf8').split('.')[1], 'base64url').toString()).aud, ['vault']);
    // The API server takes the token, as a pod's client would use it.
    const whoami = await c.s.kubectl(['--token', token, 'auth', 'whoami', '-o', 'json']);
    assert.equal(whoami.code, 0, whoami.stderr);
    const user = JSON.parse(whoami.stdout).status.userInfo;
    assert.equal(user.username, 'system:serviceaccount:default:default');
    assert.deepEqual(user.extra['authentication.kubernetes.io/pod-uid'], [pod.metadata!.uid]);
    await setUpPodVolumes(pod, c.ctx);
    assert.equal(readFileSync(join(dir, 'token'), 'utf8'), token, 'a fresh token is kept');
  });

  it('projected with runAsUser and fsGroup: the token is the user\'s, mode 0640', async () => {
    const pod = await c.pod('proj-owner', { securityContext: { runAsUser: 1234, fsGroup: 5678 },
      volumes: [{ name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] });
    await setUpPodVolumes(pod, c.ctx);
    const file = join(podVolumeDir(c.podsDir, pod.metadata!.uid!, 'projected', 'tok'), 'token');
    assert.equal(statSync(file).uid, 1234);
    assert.equal(statSync(file).gid, 5678);
    assert.equal(mode(file), 0o640);
  });

  it('hostPath: type checks and the *OrCreate types', async () => {
    const base = join(c.podsDir, 'host');
    mkdirSync(base);
    writeFileSync(join(base, 'file'), 'x');
    const sock = createServer();
    await new Promise<void>((res) => sock.listen(join(base, 'sock'), res));
    try {
      const ok = await c.pod('hp-ok', { automountServiceAccountToken: false, volumes: [
        { name: 'made', hostPath: { path: join(base, 'made/deep'), type: 'DirectoryOrCreate' } },
        { name: 'newfile', hostPath: { path: join(base, 'new.txt'), type: 'FileOrCreate' } },
        { name: 'file', hostPath: { path: join(base, 'file'), type: 'File' } },
        { name: 'sock', hostPath: { path: join(base, 'sock'), type: 'Socket' } },
        { name: 'any', hostPath: { path: join(base, 'whatever') } },
      ], containers: [{ name: 'c', image: 'skiff.local/busybox:latest', volumeMounts: [
        { name: 'made', mountPath: '/made' }, { name: 'file', mountPath: '/etc/file', readOnly: true },
      ] }] });
      const v = await setUpPodVolumes(ok, c.ctx);
      assert.ok(statSync(join(base, 'made/deep')).isDirectory());
      assert.equal(mode(join(base, 'made/deep')), 0o755);
      assert.ok(statSync(join(base, 'new.txt')).isFile());
      assert.equal(mode(join(base, 'new.txt')), 0o644);
      assert.equal(existsSync(join(base, 'whatever')), false, 'no type: nothing made');
      const mounts = v.mountsFor(ok.spec!.containers[0]);
      assert.deepEqual(mounts.map((m) => [m.container_path, m.host_path, m.readonly]),
        [['/made', join(base, 'made/deep'), false], ['/etc/file', join(base, 'file'), true]]);
      for (const [type, path, message] of [
        ['Directory', join(base, 'file'), `hostPath type check failed: ${join(base, 'file')} is not a directory`],
        ['Directory', join(base, 'absent'), `hostPath type check failed: ${join(base, 'absent')} is not a directory`],
        ['File', join(base, 'made'), `hostPath type check failed: ${join(base, 'made')} is not a file`],
        ['Socket', join(base, 'file'), `hostPath type check failed: ${join(base, 'file')} is not a socket file`],
        ['CharDevice', join(base, 'file'), `hostPath type check failed: ${join(base, 'file')} is not a character device`],
        ['DirectoryOrCreate', join(base, 'file'), `hostPath type check failed: ${join(base, 'file')} is not a directory`],
      ] as const) {
        const bad = await c.pod(`hp-${type.toLowerCase()}-${Math.random().toString(36).slice(2, 7)}`, { volumes: [{ name: 'h', hostPath: { path, type } }] });
        await assert.rejects(setUpPodVolumes(bad, c.ctx), { message: `MountVolume.SetUp failed for volume "h" : ${message}` });
      }
    } finally {
      sock.close();
    }
  });

  it('subPath and subPathExpr: paths inside the volume, made when missing; escapes are refused; plugin volumes mount read-only', async () => {
    const pod = await c.pod('subpath', {
      volumes: [{ name: 'cfg', configMap: { name: 'app' } }, { name: 'data', emptyDir: {} }],
      containers: [{ name: 'c', image: 'skiff.local/busybox:latest',
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        volumeMounts: [
          { name: 'cfg', mountPath: '/etc/app.conf', subPath: 'app.conf' },
          { name: 'cfg', mountPath: '/etc/cfg' },
          { name: 'data', mountPath: '/data', subPath: 'one/two' },
          { name: 'data', mountPath: '/logs', subPathExpr: 'logs/$(POD_NAME)', mountPropagation: 'HostToContainer' },
        ] }],
    });
    const v = await setUpPodVolumes(pod, c.ctx);
    const cfg = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'configMap', 'cfg');
    const data = podVolumeDir(c.podsDir, pod.metadata!.uid!, 'emptyDir', 'data');
    const mounts = v.mountsFor(pod.spec!.containers[0]);
    assert.equal(mounts[0].host_path, realpathSync(join(cfg, 'app.conf')), 'a subPath binds the file itself');
    assert.equal(readFileSync(mounts[0].host_path!, 'utf8'), 'port=8080\n');
    assert.equal(mounts[0].readonly, true, 'configMap volumes are always read-only');
    assert.equal(mounts[1].host_path, cfg);
    assert.equal(mounts[2].host_path, join(data, 'one/two'));
    assert.ok(statSync(join(data, 'one/two')).isDirectory());
    assert.equal(mounts[2].readonly, false);
    assert.equal(mounts[3].host_path, join(data, 'logs/subpath'));
    assert.equal(mounts[3].propagation, 'PROPAGATION_HOST_TO_CONTAINER');
    assert.equal(mounts[0].propagation, 'PROPAGATION_PRIVATE');

    symlinkSync('/etc', join(data, 'escape'));
    const escape = { name: 'c', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/x', subPath: 'escape' }] };
    assert.throws(() => v.mountsFor(escape), /failed to prepare subPath for volumeMount "data" of container "c": subpath "\/etc" not within volume path/);
    assert.throws(() => v.mountsFor({ name: 'c', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/x', subPath: '../x' }] }), /must not contain '\.\.'/);
    assert.throws(() => v.mountsFor({ name: 'c', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/x', subPathExpr: '$(NOPE)' }] }), /missing value for NOPE/);
    assert.throws(() => v.mountsFor({ name: 'c', image: 'x', volumeMounts: [{ name: 'gone', mountPath: '/x' }] }), /cannot find volume "gone" to mount into container "c"/);
    assert.ok(lstatSync(join(data, 'escape')).isSymbolicLink(), 'nothing followed the link');
  });

  it('persistentVolumeClaim: unbound keeps the pod waiting with kubelet\'s message; bound uses the PV\'s path', async () => {
    const pvPath = join(c.podsDir, 'pv-data');
    mkdirSync(pvPath);
    await c.apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'claim', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '' } });
    const pod = await c.pod('pvc', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'claim' } }],
      containers: [{ name: 'c', image: 'skiff.local/busybox:latest', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] });
    await assert.rejects(setUpPodVolumes(pod, c.ctx), {
      message: 'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: error processing PVC default/claim: PVC is not bound',
    });
    const missing = await c.pod('pvc-missing', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'nope' } }] });
    await assert.rejects(setUpPodVolumes(missing, c.ctx), /error processing PVC default\/nope: failed to fetch PVC from API server: persistentvolumeclaims "nope" not found/);
    // A claim pre-bound to its PV, bound by hand as the PV controller would.
    const claim = await c.client.create<PersistentVolumeClaim>(R.persistentvolumeclaims, { metadata: { name: 'bound', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', volumeName: 'pv-local' } });
    await c.apply({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-local' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: pvPath, type: 'Directory' },
        claimRef: { namespace: 'default', name: 'bound', uid: claim.metadata!.uid } } });
    await c.client.patch(R.persistentvolumeclaims, 'bound', { status: { phase: 'Bound' } }, { namespace: 'default', subresource: 'status' });
    const boundPod = await c.pod('pvc-bound', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'bound', readOnly: true } }],
      containers: [{ name: 'c', image: 'skiff.local/busybox:latest', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] });
    const v = await setUpPodVolumes(boundPod, c.ctx);
    const [m] = v.mountsFor(boundPod.spec!.containers[0]);
    assert.equal(m.host_path, pvPath);
    assert.equal(m.readonly, true, 'the claim is mounted read-only as the pod asks');
    await tearDownPodVolumes(boundPod.metadata!.uid!, c.ctx);
    assert.ok(existsSync(pvPath), 'teardown never deletes the data of a persistent volume');
  });

  it('a token for a service account that does not exist fails the volume with the API\'s reason', async () => {
    // The ServiceAccount admission wants the account when the pod is created; it goes afterwards.
    await c.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ghost', namespace: 'default' } });
    const pod = await c.pod('ghost', { serviceAccountName: 'ghost', volumes: [{ name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] });
    await c.s.k(['delete', 'serviceaccount', 'ghost']);
    await assert.rejects(setUpPodVolumes(pod, c.ctx), { message: 'MountVolume.SetUp failed for volume "tok" : failed to fetch token: serviceaccounts "ghost" not found' });
    await tearDownPodVolumes(pod.metadata!.uid!, c.ctx);
    await tearDownPodVolumes(pod.metadata!.uid!, c.ctx); // twice, or for a pod never set up: nothing to do
    assert.equal(existsSync(join(c.podsDir, pod.metadata!.uid!)), false);
  });

  it('volume types skiff cannot mount fail with a message', async () => {
    const pod = await c.pod('nfs', { volumes: [{ name: 'share', nfs: { server: '127.0.0.1', path: '/export' } }] });
    await assert.rejects(setUpPodVolumes(pod, c.ctx), /MountVolume.SetUp failed for volume "share" : volume type nfs is not supported by skiff/);
  });
});
