import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSchemaResolver, crdDefinitionName } from '../../src/api/schema/resolver.ts';
import type { Schema } from '../../src/api/schema/types.ts';

const cronTabSchema: Schema = {
  type: 'object',
  properties: {
    spec: { type: 'object', properties: { cronSpec: { type: 'string' }, replicas: { type: 'integer' } } },
  },
};

test('forKind finds built-in kinds by group, version and kind', () => {
  const r = createSchemaResolver();
  const deployment = r.forKind('apps', 'v1', 'Deployment');
  assert.ok(deployment?.properties?.spec);
  assert.equal(r.forKind('', 'v1', 'Pod'), r.definition('io.k8s.api.core.v1.Pod'));
  assert.ok(r.forKind('events.k8s.io', 'v1', 'Event') !== r.forKind('', 'v1', 'Event'), 'core and events.k8s.io Event differ');
  assert.equal(r.forKind('apps', 'v1', 'Nope'), undefined);
  assert.equal(r.definitionNameOf('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition'),
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition');
});

test('resolve follows $ref and single-element allOf, in v3 and v2 form', () => {
  const r = createSchemaResolver();
  const spec = r.forKind('apps', 'v1', 'Deployment')!.properties!.spec;
  assert.equal(r.resolve(spec), r.definition('io.k8s.api.apps.v1.DeploymentSpec'));
  assert.equal(r.resolve({ $ref: '#/definitions/io.k8s.api.core.v1.PodSpec' }), r.definition('io.k8s.api.core.v1.PodSpec'));
  const inline: Schema = { type: 'string' };
  assert.equal(r.resolve(inline), inline);
  assert.equal(r.resolve({ $ref: '#/components/schemas/does.not.Exist' }), undefined);
  assert.equal(r.resolve(undefined), undefined);
});

test('CRD kinds can be added and removed at run time', () => {
  const r = createSchemaResolver();
  const g0 = r.generation;
  r.addKind('stable.example.com', 'v1', 'CronTab', cronTabSchema);
  assert.equal(r.generation, g0 + 1);
  const s = r.forKind('stable.example.com', 'v1', 'CronTab');
  assert.ok(s);
  assert.equal(crdDefinitionName('stable.example.com', 'v1', 'CronTab'), 'com.example.stable.v1.CronTab');
  assert.equal(r.definition('com.example.stable.v1.CronTab'), s);
  assert.deepEqual(s['x-kubernetes-group-version-kind'], [{ group: 'stable.example.com', version: 'v1', kind: 'CronTab' }]);
  assert.equal(s.properties?.spec?.properties?.cronSpec?.type, 'string');
  assert.equal(r.resolve(s.properties?.metadata), r.definition('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'));
  assert.equal(s.properties?.kind?.type, 'string');
  assert.equal(cronTabSchema.properties?.metadata, undefined, 'the caller\'s schema is not changed');

  r.removeKind('stable.example.com', 'v1', 'CronTab');
  assert.equal(r.forKind('stable.example.com', 'v1', 'CronTab'), undefined);
  assert.equal(r.generation, g0 + 2);
});

test('a CRD without a schema accepts any fields; built-in kinds cannot be replaced', () => {
  const r = createSchemaResolver();
  r.addKind('example.com', 'v1alpha1', 'Thing', undefined);
  assert.equal(r.forKind('example.com', 'v1alpha1', 'Thing')?.['x-kubernetes-preserve-unknown-fields'], true);
  assert.throws(() => r.addKind('apps', 'v1', 'Deployment', cronTabSchema), /built-in kind/);
  r.removeKind('apps', 'v1', 'Deployment');
  assert.ok(r.forKind('apps', 'v1', 'Deployment'), 'removeKind leaves built-in kinds alone');
});
