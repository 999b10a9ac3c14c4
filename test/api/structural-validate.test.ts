import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateAgainstSchema } from '../../src/api/schema/structural/index.ts';
import { causeString } from '../../src/api/schema/structural/errors.ts';
import type { Schema } from '../../src/api/schema/types.ts';
import { CRONTAB_SCHEMA, validCronTab } from './crd-fixture.ts';

function errors(obj: unknown, schema: Schema = CRONTAB_SCHEMA): string[] {
  return validateAgainstSchema(schema, obj, {}).map(causeString);
}

function withSpec(patch: Record<string, unknown>): Record<string, unknown> {
  const cr = validCronTab();
  Object.assign(cr.spec as object, patch);
  return cr;
}

test('a valid CronTab passes', () => {
  assert.deepEqual(errors(validCronTab()), []);
});

test('wrong type is reported as kube-apiserver words it', () => {
  const causes = validateAgainstSchema(CRONTAB_SCHEMA, withSpec({ replicas: 'three' }));
  assert.deepEqual(causes, [{
    reason: 'FieldValueTypeInvalid',
    field: 'spec.replicas',
    message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  }]);
});

test('enum violations list the supported values', () => {
  assert.deepEqual(errors(withSpec({ size: 'huge' })), ['spec.size: Unsupported value: "huge": supported values: "small", "large"']);
  const [cause] = validateAgainstSchema(CRONTAB_SCHEMA, withSpec({ size: 'huge' }));
  assert.equal(cause.reason, 'FieldValueNotSupported');
});

test('missing required fields', () => {
  const cr = validCronTab();
  delete (cr.spec as Record<string, unknown>).cronSpec;
  (cr.spec as { ports: unknown[] }).ports = [{ name: 'x' }];
  assert.deepEqual(errors(cr), ['spec.ports[0].port: Required value', 'spec.cronSpec: Required value']);
});

test('pattern, bounds, lengths, formats', () => {
  assert.deepEqual(errors(withSpec({ cronSpec: 'every minute' })), [
    `spec.cronSpec: Invalid value: "every minute": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'`,
  ]);
  assert.deepEqual(errors(withSpec({ replicas: 0 })), ['spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1']);
  assert.deepEqual(errors(withSpec({ replicas: 11 })), ['spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10']);
  assert.deepEqual(errors(withSpec({ image: '' })), ['spec.image: Invalid value: "": spec.image in body should be at least 1 chars long']);
  assert.deepEqual(errors(withSpec({ ports: [{ name: 'a-very-long-port-name', port: 1 }] })), ['spec.ports[0].name: Too long: may not be longer than 15']);
  assert.deepEqual(errors(withSpec({ ports: [{ port: 1 }, { port: 2 }, { port: 3 }, { port: 4 }] })), ['spec.ports: Too many: 4: must have at most 3 items']);
  assert.deepEqual(errors(withSpec({ startAt: 'tomorrow' })), ['spec.startAt: Invalid value: "tomorrow": spec.startAt in body must be of type date-time: "tomorrow"']);
  assert.deepEqual(errors(withSpec({ ports: [{ port: 2 ** 40 }] })), ['<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.ports[0].port']);
});

test('formats kube-apiserver does not know are ignored', () => {
  const schema: Schema = { type: 'object', properties: { a: { type: 'string', format: 'k8s-whatever' }, b: { type: 'string', format: 'byte' } } };
  assert.deepEqual(errors({ a: 'anything', b: 'aGVsbG8=' }, schema), []);
  assert.deepEqual(errors({ b: 'not base64!' }, schema), ['b: Invalid value: "not base64!": b in body must be of type byte: "not base64!"']);
});

test('int-or-string, nullable and additionalProperties', () => {
  assert.deepEqual(errors(withSpec({ targetPort: 8080 })), []);
  assert.deepEqual(errors(withSpec({ targetPort: true })), ['spec.targetPort: Invalid value: "boolean": spec.targetPort in body must be of type integer,string: "boolean"']);
  assert.deepEqual(errors(withSpec({ image: null })), ['spec.image: Invalid value: "null": spec.image in body must be of type string: "null"']);
  assert.deepEqual(errors(withSpec({ labels: { team: 7 } })), ['spec.labels.team: Invalid value: "integer": spec.labels.team in body must be of type string: "integer"']);
});

test('embedded resources need apiVersion and kind', () => {
  assert.deepEqual(errors(withSpec({ template: { apiVersion: 'v1', kind: 'Pod', spec: {} } })), []);
  assert.deepEqual(errors(withSpec({ template: { spec: {} } })), [
    'spec.template.apiVersion: Required value: must not be empty',
    'spec.template.kind: Required value: must not be empty',
  ]);
});

test('allOf/anyOf/oneOf/not', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: { a: { type: 'string' }, b: { type: 'string' } },
        oneOf: [{ required: ['a'] }, { required: ['b'] }],
        not: { required: ['c'] },
      },
    },
  };
  assert.deepEqual(errors({ spec: { a: 'x' } }, schema), []);
  assert.deepEqual(errors({ spec: { a: 'x', b: 'y' } }, schema), [
    '<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives',
  ]);
  assert.deepEqual(errors({ spec: {} }, schema), [
    '<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid',
    'spec.a: Required value',
  ]);
  const anyOf: Schema = { type: 'object', properties: { n: { type: 'integer', anyOf: [{ minimum: 5 }, { maximum: 0 }] } } };
  assert.deepEqual(errors({ n: 7 }, anyOf), []);
  assert.deepEqual(errors({ n: 3 }, anyOf)[0], '<nil>: Invalid value: "": "n" must validate at least one schema (anyOf)');
});

test('opts.path prefixes the field and $ref follows the resolver', () => {
  const defs: Record<string, Schema> = {
    Spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
  };
  const resolver = {
    definition: (n: string) => defs[n],
    forKind: () => undefined,
    resolve: (s: Schema | undefined) => (s?.$ref ? defs[s.$ref.split('/').pop()!] : s?.allOf?.[0]?.$ref ? defs[s.allOf[0].$ref.split('/').pop()!] : s),
  };
  const schema: Schema = { type: 'object', properties: { spec: { allOf: [{ $ref: '#/components/schemas/Spec' }] } } };
  const causes = validateAgainstSchema(schema, { spec: { replicas: 'x' } }, { resolver, path: 'patch' });
  assert.deepEqual(causes.map(causeString), ['patch.spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
});
