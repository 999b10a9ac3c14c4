import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyCRDDefaults, compareVersionPriority, crdEstablishedStatus, crdPrinterColumns, crdScaleSubresource, crdSchemaWarnings,
  crdStorageVersion, crdToResourceInfos, crdVersionSchema, readCustomResourceScale, validateCRDSchemas, writeCustomResourceReplicas,
} from '../../src/api/crd.ts';
import { causeString } from '../../src/api/schema/structural/errors.ts';
import { cronTabCRD, validCronTab } from './crd-fixture.ts';

test('one ResourceInfo per served version, highest priority first', () => {
  const infos = crdToResourceInfos(cronTabCRD());
  assert.deepEqual(infos.map((i) => i.version), ['v1', 'v1beta1']);
  assert.deepEqual(infos[0], {
    group: 'stable.example.com',
    version: 'v1',
    kind: 'CronTab',
    listKind: 'CronTabList',
    plural: 'crontabs',
    singular: 'crontab',
    namespaced: true,
    shortNames: ['ct'],
    categories: ['all'],
    verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
    subresources: ['status', 'scale'],
    custom: true,
  });
  assert.deepEqual(infos[1].subresources, []);
  const clusterScoped = cronTabCRD();
  clusterScoped.spec.scope = 'Cluster';
  assert.equal(crdToResourceInfos(clusterScoped)[0].namespaced, false);
});

test('version priority follows Kubernetes ordering', () => {
  const sorted = ['v1alpha1', 'foo', 'v2', 'v1beta2', 'v1', 'v11alpha2', 'v10beta3', 'bar'].sort(compareVersionPriority);
  assert.deepEqual(sorted, ['v2', 'v1', 'v10beta3', 'v1beta2', 'v11alpha2', 'v1alpha1', 'bar', 'foo']);
});

test('schema, storage version and printer columns', () => {
  const crd = cronTabCRD();
  assert.equal(crdStorageVersion(crd), 'v1');
  assert.equal(crdVersionSchema(crd, 'v1')?.properties?.spec.required?.[0], 'cronSpec');
  assert.equal(crdVersionSchema(crd, 'v9'), undefined);
  assert.deepEqual(crdPrinterColumns(crd, 'v1').map((c) => c.name), ['Spec', 'Replicas']);
  const age = crdPrinterColumns(crd, 'v1beta1');
  assert.deepEqual(age.map((c) => [c.name, c.type, c.jsonPath]), [['Age', 'date', '.metadata.creationTimestamp']]);
});

test('the status a new CRD gets once established', () => {
  const crd = cronTabCRD();
  const status = crdEstablishedStatus(crd, new Date('2024-05-01T10:00:00.123Z'));
  assert.deepEqual(status, {
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z', reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: '2024-05-01T10:00:00Z', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    acceptedNames: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', listKind: 'CronTabList', shortNames: ['ct'], categories: ['all'] },
    storedVersions: ['v1'],
  });
  // Recomputing later keeps the transition times.
  crd.status = status;
  const again = crdEstablishedStatus(crd, '2024-06-01T00:00:00Z');
  assert.equal(again.conditions?.[1].lastTransitionTime, '2024-05-01T10:00:00Z');
});

test('a name another CRD of the group holds is not accepted', () => {
  const other = cronTabCRD();
  other.metadata = { name: 'crontabs2.stable.example.com' };
  other.status = crdEstablishedStatus(other, '2024-01-01T00:00:00Z');
  const crd = cronTabCRD();
  crd.spec.names = { plural: 'crontabs', kind: 'CronJobby' };
  const status = crdEstablishedStatus(crd, '2024-05-01T00:00:00Z', [other]);
  const names = status.conditions?.find((c) => c.type === 'NamesAccepted');
  assert.deepEqual([names?.status, names?.reason, names?.message], ['False', 'PluralConflict', '"crontabs" is already in use']);
  const established = status.conditions?.find((c) => c.type === 'Established');
  assert.deepEqual([established?.status, established?.reason], ['False', 'NotAccepted']);
  assert.equal(status.acceptedNames?.kind, 'CronJobby');
  assert.notEqual(status.acceptedNames?.plural, 'crontabs');
});

test('scale subresource paths read and write the custom resource', () => {
  const crd = cronTabCRD();
  const scale = crdScaleSubresource(crd, 'v1');
  assert.ok(scale);
  assert.equal(crdScaleSubresource(crd, 'v1beta1'), undefined);
  const cr = validCronTab() as Record<string, unknown>;
  cr.status = { replicas: 2, labelSelector: 'app=cron' };
  assert.deepEqual(readCustomResourceScale(scale, cr), { specReplicas: 3, statusReplicas: 2, selector: 'app=cron' });
  writeCustomResourceReplicas(scale, cr, 5);
  assert.equal((cr.spec as Record<string, unknown>).replicas, 5);
  assert.deepEqual(readCustomResourceScale(scale, { spec: {} }), { specReplicas: undefined, statusReplicas: 0, selector: '' });
});

test('CRD schema validation reports full field paths', () => {
  assert.deepEqual(validateCRDSchemas(cronTabCRD()), []);
  const crd = cronTabCRD();
  crd.spec.versions[1].schema = { openAPIV3Schema: { type: 'object', properties: { spec: { properties: {} } } } };
  delete crd.spec.versions[2].schema;
  assert.deepEqual(validateCRDSchemas(crd).map(causeString), [
    'spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
    'spec.versions[2].schema.openAPIV3Schema: Required value: schemas are required',
  ]);
  crd.spec.versions[0].schema = { openAPIV3Schema: { type: 'object', 'x-kubernetes-validations': [{ rule: 'true' }] } as never };
  // (kubernetes-types' JSONSchemaProps has no x-kubernetes-* fields, hence the cast.)
  assert.equal(crdSchemaWarnings(crd).length, 1);
});

test('CRD defaulting fills singular, listKind and conversion', () => {
  const crd = cronTabCRD();
  crd.spec.names = { plural: 'crontabs', kind: 'CronTab' };
  applyCRDDefaults(crd);
  assert.deepEqual(crd.spec.names, { plural: 'crontabs', kind: 'CronTab', singular: 'crontab', listKind: 'CronTabList' });
  assert.deepEqual(crd.spec.conversion, { strategy: 'None' });
});
