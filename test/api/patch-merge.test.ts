import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, PatchError, patchMediaType, type PatchSchema } from '../../src/api/patch/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { deploymentSchema } from './patch-fixtures.ts';

const MERGE_PATCH = 'application/merge-patch+json';

function configMap(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'default', labels: { app: 'web', tier: 'frontend' } },
    data: { 'log.level': 'info', 'feature.x': 'on' },
  };
}

function refused(contentType: string, original: KubeObject, body: string, schema: PatchSchema): PatchError {
  try {
    applyPatch(contentType, original, body, schema);
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected a PatchError, got ${String(err)}`);
    return err;
  }
  assert.fail('the patch should have been refused');
}

test('merge patch merges objects and null deletes a key', () => {
  const original = configMap();
  const before = structuredClone(original);
  const result = applyPatch(MERGE_PATCH, original, JSON.stringify({
    metadata: { labels: { tier: null, team: 'a' } },
    data: { 'log.level': 'debug', 'feature.x': null },
  }), deploymentSchema);
  assert.deepEqual(result.metadata?.labels, { app: 'web', team: 'a' });
  assert.deepEqual(result.data, { 'log.level': 'debug' });
  assert.deepEqual(original, before, 'the original object must not change');
});

test('merge patch replaces lists whole and drops nulls inside new values', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'a', image: 'a' }, { name: 'b', image: 'b' }] },
  };
  const result = applyPatch(MERGE_PATCH, pod, JSON.stringify({
    spec: { containers: [{ name: 'c', image: 'c', command: null }], nodeSelector: { disk: 'ssd', zone: null } },
  }), deploymentSchema);
  assert.deepEqual(result.spec.containers, [{ name: 'c', image: 'c' }]);
  assert.deepEqual(result.spec.nodeSelector, { disk: 'ssd' });
});

test('merge patch works for custom resources', () => {
  const cr: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1, color: 'red' } };
  const result = applyPatch(MERGE_PATCH, cr, '{"spec":{"size":3,"color":null}}', undefined);
  assert.deepEqual(result.spec, { size: 3 });
});

test('malformed merge patches are bad requests', () => {
  const syntax = refused(MERGE_PATCH, configMap(), '{"data": {', deploymentSchema);
  assert.equal(syntax.code, 400);
  assert.equal(syntax.message, 'error decoding patch: unexpected end of JSON input');

  const list = refused(MERGE_PATCH, configMap(), '[{"op":"remove","path":"/data"}]', deploymentSchema);
  assert.equal(list.code, 400);
  assert.equal(list.message, 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');

  const nothing = refused(MERGE_PATCH, configMap(), 'null', deploymentSchema);
  assert.equal(nothing.code, 400);
  assert.equal(nothing.message, 'Invalid JSON Patch');
});

test('the Content-Type picks the patch type; parameters are ignored', () => {
  assert.equal(patchMediaType('application/merge-patch+json; charset=utf-8'), MERGE_PATCH);
  const result = applyPatch('application/merge-patch+json; charset=utf-8', configMap(), '{"data":{"x":"1"}}', deploymentSchema);
  assert.equal(result.data.x, '1');
});

test('an unknown Content-Type is an unsupported media type listing what is accepted', () => {
  const builtin = refused('application/json', configMap(), '{}', deploymentSchema);
  assert.equal(builtin.code, 415);
  assert.equal(builtin.reason, 'UnsupportedMediaType');
  assert.equal(builtin.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml');

  const custom = refused('text/plain', configMap(), '{}', undefined);
  assert.equal(custom.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
});
