import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, ServiceAccount } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/index.ts';
import { definition, ROOT_CA_CONFIGMAP, rootCaCertPublisher } from '../../src/controllers/serviceaccount.ts';
import { type Harness, startHarness, waitFor } from './harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness([definition, rootCaCertPublisher]);
});
after(() => h?.stop());

const sa = (ns: string) => () => h.client.get<ServiceAccount>(R.serviceaccounts, 'default', { namespace: ns }).catch(() => undefined);
const rootCa = (ns: string) => () => h.client.get<ConfigMap>(R.configmaps, ROOT_CA_CONFIGMAP, { namespace: ns }).catch(() => undefined);

test('a new namespace gets the default ServiceAccount and kube-root-ca.crt with the cluster CA', async () => {
  await h.k(['create', 'namespace', 'team-a']);
  await waitFor('default SA in team-a', sa('team-a'));
  const cm = await waitFor('kube-root-ca.crt in team-a', rootCa('team-a'));
  assert.equal(cm.data?.['ca.crt'], h.server.ca);
  assert.match(cm.metadata?.annotations?.['kubernetes.io/description'] ?? '', /CA bundle/);
  // kubectl sees them as users would.
  assert.match(await h.k(['-n', 'team-a', 'get', 'serviceaccounts', '-o', 'name']), /serviceaccount\/default/);
});

test('the existing namespaces have them too', async () => {
  for (const ns of ['default', 'kube-system', 'kube-public']) {
    await waitFor(`default SA in ${ns}`, sa(ns));
    await waitFor(`kube-root-ca.crt in ${ns}`, rootCa(ns));
  }
});

test('a deleted default ServiceAccount is recreated, a changed kube-root-ca.crt is restored', async () => {
  await h.k(['create', 'namespace', 'team-b']);
  const first = await waitFor('default SA in team-b', sa('team-b'));
  await waitFor('kube-root-ca.crt in team-b', rootCa('team-b'));
  await h.k(['-n', 'team-b', 'delete', 'serviceaccount', 'default']);
  const again = await waitFor('a new default SA in team-b', async () => {
    const s = await sa('team-b')();
    return s && s.metadata?.uid !== first.metadata?.uid ? s : undefined;
  });
  assert.notEqual(again.metadata?.uid, first.metadata?.uid);

  await h.client.patch(R.configmaps, ROOT_CA_CONFIGMAP, { data: { 'ca.crt': 'tampered', extra: 'x' } }, { namespace: 'team-b' });
  const restored = await waitFor('kube-root-ca.crt restored', async () => {
    const cm = await rootCa('team-b')();
    return cm?.data?.['ca.crt'] === h.server.ca ? cm : undefined;
  });
  assert.deepEqual(Object.keys(restored.data ?? {}), ['ca.crt']);

  await h.k(['-n', 'team-b', 'delete', 'configmap', ROOT_CA_CONFIGMAP]);
  await waitFor('kube-root-ca.crt recreated', rootCa('team-b'));
});
