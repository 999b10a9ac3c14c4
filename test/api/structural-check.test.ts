import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStructural, unsupportedSchemaFeatures } from '../../src/api/schema/structural/index.ts';
import { causeString } from '../../src/api/schema/structural/errors.ts';
import type { Schema } from '../../src/api/schema/types.ts';
import { CRONTAB_SCHEMA } from './crd-fixture.ts';

const ROOT = 'spec.versions[0].schema.openAPIV3Schema';

function check(schema: Schema): string[] {
  return checkStructural(schema, ROOT).map(causeString);
}

test('the CronTab schema is structural', () => {
  assert.deepEqual(check(CRONTAB_SCHEMA), []);
});

test('a field without a type is rejected with Kubernetes wording', () => {
  const causes = checkStructural({ type: 'object', properties: { spec: { properties: { x: { type: 'string' } } } } }, ROOT);
  assert.deepEqual(causes, [{
    reason: 'FieldValueRequired',
    field: `${ROOT}.properties[spec].type`,
    message: 'Required value: must not be empty for specified object fields',
  }]);
  assert.deepEqual(check({ properties: { a: { type: 'array', items: {} } } }), [
    `${ROOT}.properties[a].items.type: Required value: must not be empty for specified array items`,
    `${ROOT}.type: Required value: must not be empty at the root`,
  ]);
  assert.deepEqual(check({ type: 'object', properties: { a: { type: 'array' } } }), [
    `${ROOT}.properties[a].items: Required value: must be specified`,
  ]);
});

test('int-or-string and preserve-unknown-fields nodes need no type', () => {
  assert.deepEqual(check({
    type: 'object',
    properties: {
      port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      free: { 'x-kubernetes-preserve-unknown-fields': true },
    },
  }), []);
});

test('value validations may not specify types, defaults or new fields', () => {
  assert.deepEqual(check({
    type: 'object',
    properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } },
    anyOf: [{ properties: { spec: { type: 'object', properties: { b: { description: 'x' } } } } }],
  }), [
    `${ROOT}.anyOf[0].properties[spec].properties[b].description: Forbidden: must be empty to be structural`,
    `${ROOT}.anyOf[0].properties[spec].type: Forbidden: must be empty to be structural`,
    `${ROOT}.properties[spec].properties[b]: Required value: because it is defined in ${ROOT}.anyOf[0].properties[spec].properties[b]`,
  ]);
});

test('metadata may only restrict name and generateName', () => {
  assert.deepEqual(check({
    type: 'object',
    properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 10 } } } },
  }), []);
  assert.deepEqual(check({
    type: 'object',
    properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } },
  }), [`${ROOT}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`]);
});

test('keywords CRDs do not support', () => {
  assert.deepEqual(check({
    type: 'object',
    properties: {
      a: { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: { type: 'string' } },
      b: { type: 'array', items: { type: 'string' }, uniqueItems: true },
      c: { $ref: '#/definitions/C' } as Schema,
      d: { type: 'string', 'x-kubernetes-preserve-unknown-fields': false } as Schema,
    },
  }), [
    `${ROOT}.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    `${ROOT}.properties[b].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
    `${ROOT}.properties[c].$ref: Forbidden: $ref is not supported`,
    `${ROOT}.properties[d].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
    `${ROOT}.properties[c].type: Required value: must not be empty for specified object fields`,
  ]);
  assert.deepEqual(check({ type: 'object', properties: { metadata: { type: 'object', default: {} } } }), [
    `${ROOT}.properties[metadata].default: Forbidden: must not be set in top-level metadata`,
  ]);
});

test('defaults must validate and be pruned', () => {
  assert.deepEqual(check({
    type: 'object',
    properties: {
      size: { type: 'string', enum: ['small', 'large'], default: 'huge' },
      spec: { type: 'object', properties: { a: { type: 'string' } }, default: { a: 'x', b: 'y' } },
    },
  }), [
    `${ROOT}.properties[size].default: Unsupported value: "huge": supported values: "small", "large"`,
    `${ROOT}.properties[spec].default: Invalid value: map[string]interface {}{"a":"x", "b":"y"}: must not have unknown fields`,
  ]);
});

test('CEL rules are accepted and reported as not enforced', () => {
  const schema: Schema = {
    type: 'object',
    properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a > 0' }] } },
  };
  assert.deepEqual(check(schema), []);
  assert.deepEqual(unsupportedSchemaFeatures(schema, ROOT), [
    `${ROOT}.properties[spec].x-kubernetes-validations: 1 CEL validation rule(s) accepted but not enforced by this server`,
  ]);
});
