import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applySchemaDefaults, findUnknownFields, pruneNonNullableNulls, pruneUnknownFields, strictDecodingError, unknownFieldWarning,
} from '../../src/api/schema/structural/index.ts';
import type { Schema, SchemaResolver } from '../../src/api/schema/types.ts';
import { CRONTAB_SCHEMA, validCronTab } from './crd-fixture.ts';

test('pruning removes unknown fields and reports their paths', () => {
  const cr = validCronTab() as { spec: Record<string, unknown>; status?: unknown; extra?: unknown };
  cr.spec.foo = 'bar';
  (cr.spec.ports as Record<string, unknown>[])[0].hostIP = '1.2.3.4';
  cr.extra = { deep: true };
  const pruned = pruneUnknownFields(CRONTAB_SCHEMA, cr);
  // In the order the object's fields come.
  assert.deepEqual(pruned, ['spec.ports[0].hostIP', 'spec.foo', 'extra']);
  assert.equal('foo' in cr.spec, false);
  assert.equal('extra' in cr, false);
  assert.deepEqual((cr.spec.ports as unknown[])[0], { name: 'http', port: 8080 });
});

test('pruning keeps preserved subtrees, embedded resources and the root meta fields', () => {
  const cr = validCronTab() as { spec: Record<string, unknown>; metadata: Record<string, unknown> };
  cr.metadata.labels = { a: 'b' };
  cr.spec.config = { mode: 'manual', anything: { nested: [1, 2] } };
  cr.spec.template = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } };
  const before = structuredClone(cr);
  assert.deepEqual(pruneUnknownFields(CRONTAB_SCHEMA, cr), []);
  assert.deepEqual(cr, before);
});

test('an object schema without properties prunes everything inside it', () => {
  const schema: Schema = { type: 'object', properties: { spec: { type: 'object' } } };
  const obj = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'n' }, spec: { a: 1, b: { c: 2 } } };
  assert.deepEqual(pruneUnknownFields(schema, obj), ['spec.a', 'spec.b']);
  assert.deepEqual(obj.spec, {});
});

test('additionalProperties: true keeps the keys but not what is inside their values', () => {
  const schema: Schema = { type: 'object', properties: { m: { type: 'object', additionalProperties: true } } };
  const obj = { m: { a: 1, b: { c: 2 } } };
  assert.deepEqual(pruneUnknownFields(schema, obj, { isResourceRoot: false }), ['m.b.c']);
  assert.deepEqual(obj, { m: { a: 1, b: {} } });
});

test('the messages fieldValidation=Warn and Strict use', () => {
  assert.equal(unknownFieldWarning('spec.foo'), 'unknown field "spec.foo"');
  assert.equal(strictDecodingError(['spec.foo', 'spec.bar']), 'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"');
});

test('defaults are applied top-down and to non-nullable nulls', () => {
  const cr = validCronTab() as { spec: Record<string, unknown> };
  delete cr.spec.replicas;
  cr.spec.ports = [{ port: 80 }, { port: 443, protocol: 'UDP' }];
  cr.spec.config = {};
  applySchemaDefaults(CRONTAB_SCHEMA, cr);
  assert.equal(cr.spec.replicas, 1);
  assert.deepEqual(cr.spec.ports, [{ port: 80, protocol: 'TCP' }, { port: 443, protocol: 'UDP' }]);
  assert.deepEqual(cr.spec.config, { mode: 'auto' });

  const withNull = validCronTab() as { spec: Record<string, unknown> };
  withNull.spec.replicas = null;
  applySchemaDefaults(CRONTAB_SCHEMA, withNull);
  assert.equal(withNull.spec.replicas, 1);

  // A defaulted object gets its own fields' defaults.
  const nested: Schema = {
    type: 'object',
    properties: { spec: { type: 'object', default: {}, properties: { mode: { type: 'string', default: 'auto' } } } },
  };
  const obj: Record<string, unknown> = {};
  applySchemaDefaults(nested, obj);
  assert.deepEqual(obj, { spec: { mode: 'auto' } });
  // Defaults are copies, not shared with the schema.
  (obj.spec as Record<string, unknown>).mode = 'changed';
  assert.deepEqual(nested.properties!.spec.default, {});
});

test('non-nullable nulls without a default are dropped, nullable ones kept', () => {
  const cr = validCronTab() as { spec: Record<string, unknown> };
  cr.spec.image = null;
  cr.spec.replicas = null;
  pruneNonNullableNulls(CRONTAB_SCHEMA, cr);
  assert.equal('image' in cr.spec, false);
  assert.equal(cr.spec.replicas, null); // defaulted later
  assert.equal(cr.spec.note, null);
});

// A hand-made slice of the built-in schemas, shaped like the OpenAPI v3 ones ($ref in allOf).
const DEFS: Record<string, Schema> = {
  'io.k8s.api.apps.v1.Deployment': {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }], default: {} },
      spec: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' }] },
    },
  },
  'io.k8s.api.apps.v1.DeploymentSpec': {
    type: 'object',
    properties: {
      replicas: { type: 'integer', format: 'int32' },
      template: { $ref: '#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec' },
    },
  },
  'io.k8s.api.core.v1.PodTemplateSpec': {
    type: 'object',
    properties: {
      metadata: { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] },
      spec: {
        type: 'object',
        properties: {
          containers: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, image: { type: 'string' } } } },
          overhead: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    type: 'object',
    properties: {
      name: { type: 'string' },
      namespace: { type: 'string' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
      managedFields: { type: 'array', items: { type: 'object', properties: { fieldsV1: { type: 'object' } } } },
    },
  },
};

const resolver: SchemaResolver = {
  definition: (name) => DEFS[name],
  forKind: (_g, _v, kind) => DEFS[`io.k8s.api.apps.v1.${kind}`],
  resolve(s) {
    const ref = s?.$ref ?? (s?.allOf?.length === 1 ? s.allOf[0].$ref : undefined);
    return ref ? DEFS[ref.replace('#/components/schemas/', '')] : s;
  },
};

test('unknown fields of a built-in kind are found through $refs without changing the object', () => {
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' }, labelz: {}, managedFields: [{ fieldsV1: { 'f:spec': {} } }] },
    spec: {
      replicas: 2,
      replica: 3,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx', imagePullPolicee: 'Always' }], overhead: { cpu: '1' } },
      },
    },
  };
  const before = structuredClone(deploy);
  const found = findUnknownFields(resolver.forKind('apps', 'v1', 'Deployment'), deploy, resolver);
  assert.deepEqual(found, ['metadata.labelz', 'spec.replica', 'spec.template.spec.containers[0].imagePullPolicee']);
  assert.deepEqual(deploy, before);
});

test('with a resolver, pruning a custom resource also checks metadata against ObjectMeta', () => {
  const cr = validCronTab() as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  cr.metadata.labelz = { a: 'b' };
  cr.spec.template = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', bogus: 1 } };
  const pruned = pruneUnknownFields(CRONTAB_SCHEMA, cr, { resolver });
  assert.deepEqual(pruned, ['metadata.labelz', 'spec.template.metadata.bogus']);
  assert.equal('labelz' in cr.metadata, false);
});
