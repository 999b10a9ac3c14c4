import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, PatchError } from '../../src/api/patch/index.ts';
import type { KubeObject } from '../../src/api/types.ts';
import { deploymentSchema } from './patch-fixtures.ts';

const JSON_PATCH = 'application/json-patch+json';

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { 'example.com/owner': 'team-a' } },
    spec: {
      replicas: 2,
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'nginx:1.27', args: ['--a', '--b'] },
            { name: 'log', image: 'busybox' },
          ],
        },
      },
    },
  };
}

/** Applies a JSON patch and checks the original is untouched. */
function jsonPatch(original: KubeObject, ops: unknown): KubeObject {
  const before = structuredClone(original);
  const result = applyPatch(JSON_PATCH, original, typeof ops === 'string' ? ops : JSON.stringify(ops), deploymentSchema);
  assert.deepEqual(original, before, 'the original object must not change');
  return result;
}

function refused(original: KubeObject, ops: unknown): PatchError {
  const before = structuredClone(original);
  try {
    applyPatch(JSON_PATCH, original, typeof ops === 'string' ? ops : JSON.stringify(ops), deploymentSchema);
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected a PatchError, got ${String(err)}`);
    assert.deepEqual(original, before, 'the original object must not change');
    return err;
  }
  assert.fail('the patch should have been refused');
}

test('add, replace and remove', () => {
  const result = jsonPatch(deployment(), [
    { op: 'replace', path: '/spec/replicas', value: 5 },
    { op: 'add', path: '/metadata/labels/tier', value: 'frontend' },
    { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'sidecar', image: 'envoy' } },
    { op: 'add', path: '/spec/template/spec/containers/0/args/1', value: '--inserted' },
    { op: 'remove', path: '/spec/template/spec/containers/1' },
    { op: 'remove', path: '/metadata/annotations/example.com~1owner' },
  ]);
  assert.equal(result.spec.replicas, 5);
  assert.deepEqual(result.metadata?.labels, { app: 'web', tier: 'frontend' });
  assert.deepEqual(result.spec.template.spec.containers.map((c: { name: string }) => c.name), ['web', 'sidecar']);
  assert.deepEqual(result.spec.template.spec.containers[0].args, ['--a', '--inserted', '--b']);
  assert.deepEqual(result.metadata?.annotations, {});
});

test('a passing test op lets the rest apply; a failing one rejects the whole patch with 422', () => {
  const ok = jsonPatch(deployment(), [
    { op: 'test', path: '/spec/replicas', value: 2 },
    { op: 'replace', path: '/spec/replicas', value: 3 },
  ]);
  assert.equal(ok.spec.replicas, 3);

  const err = refused(deployment(), [
    { op: 'replace', path: '/spec/replicas', value: 3 },
    { op: 'test', path: '/spec/replicas', value: 2 },
  ]);
  assert.equal(err.code, 422);
  assert.equal(err.reason, 'Invalid');
  assert.equal(err.message, 'the server rejected our request due to an error in our request');
  assert.equal(err.detail, 'testing value /spec/replicas failed: test failed');
});

test('test of a missing field passes only against null', () => {
  const d = deployment();
  jsonPatch(d, [{ op: 'test', path: '/spec/paused', value: null }]);
  const err = refused(d, [{ op: 'test', path: '/spec/paused', value: false }]);
  assert.equal(err.detail, 'testing value /spec/paused failed: test failed');
});

test('remove of a missing path is an error, as in kube-apiserver', () => {
  const key = refused(deployment(), [{ op: 'remove', path: '/metadata/labels/missing' }]);
  assert.equal(key.code, 422);
  assert.equal(key.detail, "error in remove for path: '/metadata/labels/missing': Unable to remove nonexistent key: missing: missing value");

  const parent = refused(deployment(), [{ op: 'remove', path: '/spec/selector/matchLabels/app' }]);
  assert.equal(parent.detail, 'remove operation does not apply: doc is missing path: "/spec/selector/matchLabels/app": missing value');

  const index = refused(deployment(), [{ op: 'remove', path: '/spec/template/spec/containers/5' }]);
  assert.equal(index.detail, "error in remove for path: '/spec/template/spec/containers/5': Unable to access invalid index: 5: invalid index referenced");
});

test('replace of a missing object key sets it (evanphx/json-patch v4), of a missing index fails', () => {
  const result = jsonPatch(deployment(), [{ op: 'replace', path: '/spec/paused', value: true }]);
  assert.equal(result.spec.paused, true);

  const err = refused(deployment(), [{ op: 'replace', path: '/spec/template/spec/containers/2', value: {} }]);
  assert.equal(err.detail, 'replace operation does not apply: doc is missing key: /spec/template/spec/containers/2: missing value');
});

test('add under a missing parent fails', () => {
  const err = refused(deployment(), [{ op: 'add', path: '/spec/strategy/type', value: 'Recreate' }]);
  assert.equal(err.code, 422);
  assert.equal(err.detail, 'add operation does not apply: doc is missing path: "/spec/strategy/type": missing value');
});

test('negative array indices count from the end', () => {
  const result = jsonPatch(deployment(), [{ op: 'remove', path: '/spec/template/spec/containers/-1' }]);
  assert.deepEqual(result.spec.template.spec.containers.map((c: { name: string }) => c.name), ['web']);
});

test('move and copy', () => {
  const result = jsonPatch(deployment(), [
    { op: 'copy', from: '/metadata/labels', path: '/spec/template/metadata' },
    { op: 'move', from: '/metadata/annotations/example.com~1owner', path: '/metadata/labels/owner' },
  ]);
  assert.deepEqual(result.spec.template.metadata, { app: 'web' });
  assert.deepEqual(result.metadata?.labels, { app: 'web', owner: 'team-a' });
  assert.deepEqual(result.metadata?.annotations, {});
  result.spec.template.metadata.app = 'changed';
  assert.equal(result.metadata?.labels?.app, 'web', 'copy makes an independent value');
});

test('an unknown op is unprocessable', () => {
  const err = refused(deployment(), [{ op: 'increment', path: '/spec/replicas' }]);
  assert.equal(err.code, 422);
  assert.equal(err.detail, 'Unexpected kind: increment');
});

test('malformed JSON patch bodies are bad requests with Go-worded messages', () => {
  const syntax = refused(deployment(), '[{"op": "add", ');
  assert.equal(syntax.code, 400);
  assert.equal(syntax.reason, 'BadRequest');
  assert.equal(syntax.message, 'error decoding patch: unexpected end of JSON input');

  const garbage = refused(deployment(), 'op=add');
  assert.equal(garbage.message, "error decoding patch: invalid character 'o' looking for beginning of value");

  const object = refused(deployment(), { op: 'add', path: '/x', value: 1 });
  assert.equal(object.message, 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');

  const badField = refused(deployment(), [{ op: 'add', path: 7, value: 1 }]);
  assert.equal(badField.message, 'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path of type string');
});

test('more than 10000 operations is too large', () => {
  const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' }));
  const err = refused(deployment(), ops);
  assert.equal(err.code, 413);
  assert.equal(err.message, 'The allowed maximum operations in a JSON patch is 10000, got 10001');
});

test('JSON patch works for custom resources too', () => {
  const cr: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } };
  // No schema: what the API server passes for a custom resource.
  const result = applyPatch(JSON_PATCH, cr, '[{"op":"replace","path":"/spec/size","value":2}]', undefined);
  assert.equal(result.spec.size, 2);
});
