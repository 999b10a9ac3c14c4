// The persistentvolume-binder and local-path-provisioner controllers against the real API
// server (no node agent: pods are bound to a Node object by hand, helper pods finish by hand).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/index.ts';
import { definition as binder } from '../../src/controllers/persistentvolume-binder.ts';
import { definition as localPath } from '../../src/controllers/local-path-provisioner.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';

const pv = (name: string, size: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) => JSON.stringify({
  apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name, labels },
  spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/skiff-pv-test/${name}` }, ...extra },
});
const pvc = (name: string, size: string, extra: Record<string, unknown> = {}) => JSON.stringify({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...extra },
});

describe('persistentvolume-binder and local-path-provisioner', () => {
  let h: Harness;
  const claim = (name: string, ns = 'default') => h.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, name, { namespace: ns });
  const volume = (name: string) => h.client.get<PersistentVolume>(R.persistentvolumes, name);
  const gone = (name: string) => volume(name).then(() => false, (e: { code?: number }) => e.code === 404);
  const bound = (name: string) => waitFor(`claim ${name} Bound`, async () => {
    const c = await claim(name);
    return c.status?.phase === 'Bound' ? c : undefined;
  }, 30_000);

  before(async () => {
    h = await startHarness([binder, localPath]);
  });
  after(async () => {
    await h?.stop();
  });

  it('binds a claim to the smallest Available volume that matches, both ways', async () => {
    await h.k(['apply', '-f', '-'], { input: pv('small', '1Gi', { storageClassName: '' }) });
    await h.k(['apply', '-f', '-'], { input: pv('rwx', '5Gi', { storageClassName: '', accessModes: ['ReadWriteMany'] }) });
    await h.k(['apply', '-f', '-'], { input: pv('big', '10Gi', { storageClassName: '' }) });
    await h.k(['apply', '-f', '-'], { input: pv('medium', '5Gi', { storageClassName: '' }) });
    await h.k(['apply', '-f', '-'], { input: pv('labelled', '20Gi', { storageClassName: '' }, { tier: 'fast' }) });
    await waitFor('volumes Available', async () => (await volume('medium')).status?.phase === 'Available', 30_000);
    await h.k(['apply', '-f', '-'], { input: pvc('data', '3Gi', { storageClassName: '' }) });
    const c = await bound('data');
    assert.equal(c.spec?.volumeName, 'medium');
    assert.equal(c.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(c.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(c.status?.capacity, { storage: '5Gi' });
    assert.deepEqual(c.status?.accessModes, ['ReadWriteOnce']);
    const v = await waitFor('medium Bound', async () => {
      const x = await volume('medium');
      return x.status?.phase === 'Bound' ? x : undefined;
    }, 30_000);
    assert.equal(v.spec?.claimRef?.name, 'data');
    assert.equal(v.spec?.claimRef?.uid, c.metadata?.uid);
    assert.equal(v.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    const out = await h.k(['get', 'pvc', 'data']);
    assert.match(out, /data\s+Bound\s+medium\s+5Gi\s+RWO/);
    // A selector picks by label.
    await h.k(['apply', '-f', '-'], { input: pvc('picky', '1Gi', { storageClassName: '', selector: { matchLabels: { tier: 'fast' } } }) });
    assert.equal((await bound('picky')).spec?.volumeName, 'labelled');
  });

  it('binds a claim to the volume it names, and a volume pre-bound to a claim', async () => {
    await h.k(['apply', '-f', '-'], { input: pv('chosen', '1Gi', { storageClassName: '' }) });
    await h.k(['apply', '-f', '-'], { input: pvc('named', '1Gi', { storageClassName: '', volumeName: 'chosen' }) });
    const c = await bound('named');
    assert.equal(c.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
    await h.k(['apply', '-f', '-'], { input: pv('reserved', '2Gi', { storageClassName: '', claimRef: { namespace: 'default', name: 'later' } }) });
    await h.k(['apply', '-f', '-'], { input: pvc('later', '1Gi', { storageClassName: '' }) });
    assert.equal((await bound('later')).spec?.volumeName, 'reserved');
    assert.equal((await volume('reserved')).metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
  });

  it('keeps a Pending claim when nothing matches, and says why', async () => {
    await h.k(['apply', '-f', '-'], { input: pvc('huge', '1Ti', { storageClassName: '' }) });
    await waitFor('a FailedBinding event', async () => (await h.k(['get', 'events', '--field-selector', 'involvedObject.name=huge']))
      .includes('no persistent volumes available for this claim and no storage class is set'), 30_000);
    assert.equal((await claim('huge')).status?.phase, 'Pending');
  });

  it('reclaims by policy: Retain leaves the volume Released, Delete removes it', async () => {
    await h.k(['apply', '-f', '-'], { input: pv('keep', '1Gi', { storageClassName: 'manual', persistentVolumeReclaimPolicy: 'Retain' }) });
    await h.k(['apply', '-f', '-'], { input: pv('drop', '1Gi', { storageClassName: 'other', persistentVolumeReclaimPolicy: 'Delete' }) });
    await h.k(['apply', '-f', '-'], { input: pvc('k', '1Gi', { storageClassName: 'manual' }) });
    await h.k(['apply', '-f', '-'], { input: pvc('d', '1Gi', { storageClassName: 'other' }) });
    await bound('k');
    await bound('d');
    await h.k(['delete', 'pvc', 'k', 'd']);
    await waitFor('keep Released', async () => (await volume('keep')).status?.phase === 'Released', 30_000);
    await waitFor('drop deleted', () => gone('drop'), 30_000);
    // Released volumes are not bound again until the admin clears claimRef.
    await h.k(['apply', '-f', '-'], { input: pvc('k2', '1Gi', { storageClassName: 'manual' }) });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await claim('k2')).status?.phase, 'Pending');
    await h.k(['patch', 'pv', 'keep', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/claimRef"}]']);
    assert.equal((await bound('k2')).spec?.volumeName, 'keep');
  });

  it('provisions a local-path volume on the node of a claim\'s first pod, and deletes it through a helper pod', async () => {
    await h.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'local-path-config', namespace: 'kube-system' },
      data: { 'config.json': JSON.stringify({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: ['/srv/skiff-test-volumes'] }] }) },
    }) });
    await h.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } }) });
    await h.k(['apply', '-f', '-'], { input: pvc('web-data', '256Mi') });
    assert.equal((await claim('web-data')).spec?.storageClassName, 'local-path');
    await waitFor('a WaitForFirstConsumer event', async () => (await h.k(['get', 'events', '--field-selector', 'involvedObject.name=web-data']))
      .includes('waiting for first consumer to be created before binding'), 30_000);
    assert.equal((await claim('web-data')).status?.phase, 'Pending');
    await h.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
      spec: { nodeName: 'n1', containers: [{ name: 'a', image: 'busybox' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'web-data' } }] },
    }) });
    const c = await bound('web-data');
    assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/selected-node'], 'n1');
    assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'], 'skiff.io/local-path');
    const name = `pvc-${c.metadata?.uid}`;
    assert.equal(c.spec?.volumeName, name);
    const v = await volume(name);
    assert.deepEqual(v.spec?.hostPath, { path: `/srv/skiff-test-volumes/default_web-data_${name}`, type: 'DirectoryOrCreate' });
    assert.deepEqual(v.spec?.nodeAffinity?.required?.nodeSelectorTerms, [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] }]);
    assert.equal(v.spec?.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(v.spec?.storageClassName, 'local-path');
    assert.equal(v.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'], 'skiff.io/local-path');
    assert.deepEqual(v.spec?.capacity, { storage: '256Mi' });

    await h.k(['delete', 'pod', 'web', '--grace-period=0', '--force']);
    await h.k(['delete', 'pvc', 'web-data']);
    const helper = await waitFor('the delete helper pod', () => h.client.get<Pod>(R.pods, `helper-pod-delete-${name}`, { namespace: 'kube-system' }), 30_000);
    assert.equal(helper.spec?.nodeName, 'n1');
    assert.deepEqual(helper.spec?.containers[0].command, ['rm', '-rf', `/data/default_web-data_${name}`]);
    assert.deepEqual(helper.spec?.volumes?.[0].hostPath, { path: '/srv/skiff-test-volumes', type: 'DirectoryOrCreate' });
    assert.equal((await volume(name)).status?.phase, 'Released');
    // What the node agent would report once rm finished.
    await h.client.updateStatus(R.pods, { ...helper, status: { phase: 'Succeeded' } });
    await waitFor('the volume deleted', () => gone(name), 30_000);
    await waitFor('the helper pod deleted', () => h.client.get(R.pods, helper.metadata!.name!, { namespace: 'kube-system' })
      .then(() => false, (e: { code?: number }) => e.code === 404), 30_000);
  });

  it('binds a WaitForFirstConsumer claim created after its pod was scheduled', async () => {
    await h.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'early' },
      spec: { nodeName: 'n1', containers: [{ name: 'a', image: 'busybox' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'late-claim' } }] },
    }) });
    await h.k(['apply', '-f', '-'], { input: pvc('late-claim', '1Mi') });
    const c = await bound('late-claim');
    assert.equal(c.metadata?.annotations?.['volume.kubernetes.io/selected-node'], 'n1');
  });
});
