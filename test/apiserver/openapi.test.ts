import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { ResourceInfo } from '../../src/api/types.ts';
import type { Schema } from '../../src/api/schema/types.ts';
import { createSchemaResolver } from '../../src/api/schema/resolver.ts';
import {
  buildOpenAPIv2, buildOpenAPIv3, buildOpenAPIv3Discovery, encodeOpenAPIv2Protobuf, openAPIDocuments,
} from '../../src/apiserver/openapi.ts';
import { DocumentType } from '../../src/apiserver/openapi/protobuf.ts';

// deno-lint-ignore no-explicit-any
type Json = any;

const cronTabs: ResourceInfo = {
  group: 'stable.example.com', version: 'v1', kind: 'CronTab', listKind: 'CronTabList', plural: 'crontabs',
  singular: 'crontab', namespaced: true, shortNames: ['ct'], categories: [], custom: true, subresources: ['status'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
};
const cronTabSchema: Schema = { type: 'object', properties: { spec: { type: 'object', properties: { cronSpec: { type: 'string' } } } } };

/** Every $ref in a document must name one of its definitions. */
function danglingRefs(doc: Json, prefix: string, defs: Record<string, unknown>): string[] {
  const missing: string[] = [];
  JSON.stringify(doc, (key, value) => {
    if (key === '$ref' && typeof value === 'string') {
      if (!value.startsWith(prefix) || !(value.slice(prefix.length) in defs)) missing.push(value);
    }
    return value;
  });
  return missing;
}

const params = (op: Json): string[] => (op.parameters ?? []).map((p: Json) => p.name);

test('v2 has every operation of a resource with action, kind and kube-apiserver\'s query parameters', () => {
  const doc: Json = buildOpenAPIv2(BUILTIN_RESOURCES, createSchemaResolver());
  assert.equal(doc.swagger, '2.0');
  const collection = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments'];
  const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
  const gvk = { group: 'apps', version: 'v1', kind: 'Deployment' };
  for (const [op, action] of [[collection.get, 'list'], [collection.post, 'post'], [collection.delete, 'deletecollection'],
    [item.get, 'get'], [item.put, 'put'], [item.patch, 'patch'], [item.delete, 'delete']]) {
    assert.equal(op['x-kubernetes-action'], action);
    assert.deepEqual(op['x-kubernetes-group-version-kind'], gvk);
  }
  for (const op of [collection.post, item.put, item.patch]) {
    assert.ok(params(op).includes('fieldValidation'), `${op.operationId} declares fieldValidation`);
    assert.ok(params(op).includes('fieldManager'));
    assert.ok(params(op).includes('dryRun'));
  }
  assert.equal(item.patch.operationId, 'patchAppsV1NamespacedDeployment');
  assert.ok(item.patch.consumes.includes('application/strategic-merge-patch+json'));
  assert.ok(params(collection.get).includes('labelSelector'));
  assert.ok(params(item.delete).includes('propagationPolicy'));
  assert.deepEqual(item.parameters.map((p: Json) => [p.name, p.in]), [['name', 'path'], ['namespace', 'path'], ['pretty', 'query']]);
  assert.equal(collection.post.parameters[0].schema.$ref, '#/definitions/io.k8s.api.apps.v1.Deployment');
  assert.equal(collection.get.responses['200'].schema.$ref, '#/definitions/io.k8s.api.apps.v1.DeploymentList');

  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
  assert.deepEqual(scale.patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  assert.equal(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status'].put.operationId,
    'replaceAppsV1NamespacedDeploymentStatus');
  assert.equal(doc.paths['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
  assert.equal(doc.paths['/api/v1/watch/namespaces/{namespace}/pods'].get['x-kubernetes-action'], 'watchlist');
  assert.ok(doc.paths['/api/v1/nodes/{name}'].patch, 'cluster-scoped paths have no namespace');
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/bindings'].post.operationId, 'createCoreV1NamespacedBinding');
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/bindings/{name}'], undefined, 'bindings are create-only');
});

test('v2 definitions are Swagger 2.0: #/definitions refs, no allOf wrappers, merge keys kept', () => {
  const doc: Json = buildOpenAPIv2(BUILTIN_RESOURCES, createSchemaResolver());
  assert.deepEqual(danglingRefs(doc, '#/definitions/', doc.definitions), []);
  const strategy = doc.definitions['io.k8s.api.apps.v1.DeploymentSpec'].properties.strategy;
  assert.equal(strategy.$ref, '#/definitions/io.k8s.api.apps.v1.DeploymentStrategy');
  assert.equal(strategy.allOf, undefined);
  assert.match(strategy.description, /deployment strategy/);
  const containers = doc.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers;
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.deepEqual(doc.definitions['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
  assert.ok(doc.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']);
  assert.equal(doc.definitions['io.k8s.api.flowcontrol.v1.FlowSchema'], undefined, 'only what served paths reach');
});

test('the v2 protobuf decodes as gnostic openapi.v2.Document with extensions as YAML', () => {
  const doc: Json = buildOpenAPIv2(BUILTIN_RESOURCES, createSchemaResolver());
  const bytes = encodeOpenAPIv2Protobuf(doc);
  assert.equal(encodeOpenAPIv2Protobuf(doc), bytes, 'cached per document');
  const decoded: Json = DocumentType.toObject(DocumentType.decode(bytes), { defaults: false });
  assert.equal(decoded.swagger, '2.0');
  const path = decoded.paths.path.find((p: Json) => p.name === '/apis/apps/v1/namespaces/{namespace}/deployments/{name}');
  const patch = path.value.patch;
  const gvk = patch.vendorExtension.find((e: Json) => e.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(JSON.parse(gvk.value.yaml), { group: 'apps', version: 'v1', kind: 'Deployment' });
  const fieldValidation = patch.parameters.find((p: Json) => p.parameter?.nonBodyParameter?.queryParameterSubSchema?.name === 'fieldValidation');
  assert.equal(fieldValidation.parameter.nonBodyParameter.queryParameterSubSchema.in, 'query');
  assert.equal(patch.parameters[0].parameter.bodyParameter.schema.ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch');
  const podSpec = decoded.definitions.additionalProperties.find((d: Json) => d.name === 'io.k8s.api.core.v1.PodSpec').value;
  const containers = podSpec.properties.additionalProperties.find((p: Json) => p.name === 'containers').value;
  assert.deepEqual(containers.type.value, ['array']);
  assert.equal(containers.items.schema[0].ref, '#/definitions/io.k8s.api.core.v1.Container');
  const mergeKey = containers.vendorExtension.find((e: Json) => e.name === 'x-kubernetes-patch-merge-key');
  assert.equal(JSON.parse(mergeKey.value.yaml), 'name');
  assert.equal(decoded.definitions.additionalProperties.length, Object.keys(doc.definitions).length);
});

test('v3 index lists every group-version with a content hash; documents hold their group-version only', () => {
  const resolver = createSchemaResolver();
  const index: Json = buildOpenAPIv3Discovery(BUILTIN_RESOURCES, resolver);
  for (const p of ['api', 'api/v1', 'apis', 'apis/apps', 'apis/apps/v1', 'apis/batch/v1', 'apis/apiextensions.k8s.io/v1']) {
    assert.match(index.paths[p]?.serverRelativeURL ?? '', new RegExp(`^/openapi/v3/${p}\\?hash=[0-9A-F]{128}$`), p);
  }
  const apps: Json = buildOpenAPIv3('apis/apps/v1', BUILTIN_RESOURCES, resolver);
  assert.equal(apps.openapi, '3.0.0');
  const schemas = apps.components.schemas;
  assert.ok(schemas['io.k8s.api.apps.v1.Deployment']);
  assert.ok(schemas['io.k8s.api.core.v1.PodSpec'], 'referenced definitions come along');
  assert.equal(schemas['io.k8s.api.batch.v1.Job'], undefined);
  assert.deepEqual(danglingRefs(apps, '#/components/schemas/', schemas), []);
  const patch = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.ok(patch.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.ok(patch.requestBody.content['application/apply-patch+yaml']);
  assert.ok(apps.paths['/apis/apps/v1/'].get, 'the group-version discovery path');
  assert.equal(Object.keys(apps.paths).filter((p) => p.includes('/pods')).length, 0);
  const core: Json = buildOpenAPIv3('/api/v1', BUILTIN_RESOURCES, resolver);
  assert.ok(core.paths['/api/v1/namespaces/{namespace}/pods/{name}/log']);
  assert.equal(buildOpenAPIv3('apis/nope/v1', BUILTIN_RESOURCES, resolver), undefined);
});

test('documents are cached per resource set and rebuilt when CRDs change', () => {
  const resolver = createSchemaResolver();
  const a = openAPIDocuments(BUILTIN_RESOURCES, resolver);
  assert.equal(openAPIDocuments([...BUILTIN_RESOURCES], resolver), a, 'same content, same documents');
  assert.equal(buildOpenAPIv2(BUILTIN_RESOURCES, resolver), a.v2());
  const before: Json = buildOpenAPIv3Discovery(BUILTIN_RESOURCES, resolver);

  const withCrd = [...BUILTIN_RESOURCES, cronTabs];
  resolver.addKind('stable.example.com', 'v1', 'CronTab', cronTabSchema);
  const index: Json = buildOpenAPIv3Discovery(withCrd, resolver);
  assert.equal(index.paths['api/v1'].serverRelativeURL, before.paths['api/v1'].serverRelativeURL, 'unchanged documents keep their hash');
  const url1 = index.paths['apis/stable.example.com/v1'].serverRelativeURL;
  assert.ok(url1);
  const doc: Json = buildOpenAPIv3('apis/stable.example.com/v1', withCrd, resolver);
  const crontab = doc.components.schemas['com.example.stable.v1.CronTab'];
  assert.deepEqual(crontab['x-kubernetes-group-version-kind'], [{ group: 'stable.example.com', version: 'v1', kind: 'CronTab' }]);
  assert.equal(crontab.properties.spec.properties.cronSpec.type, 'string');
  assert.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  const list = doc.components.schemas['com.example.stable.v1.CronTabList'];
  assert.equal(list.properties.items.items.$ref, '#/components/schemas/com.example.stable.v1.CronTab');
  const patch = doc.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}'].patch;
  assert.ok(!patch.requestBody.content['application/strategic-merge-patch+json'], 'no strategic merge patch for CRDs');
  assert.ok(patch.parameters.some((p: Json) => p.name === 'fieldValidation'));

  // A new schema for the same kind changes the document and its hash.
  resolver.addKind('stable.example.com', 'v1', 'CronTab', { type: 'object', properties: { spec: { type: 'object' } } });
  const url2 = (buildOpenAPIv3Discovery(withCrd, resolver) as Json).paths['apis/stable.example.com/v1'].serverRelativeURL;
  assert.notEqual(url2, url1);
  const v2: Json = buildOpenAPIv2(withCrd, resolver);
  assert.ok(v2.definitions['com.example.stable.v1.CronTab']);
  assert.deepEqual(danglingRefs(v2, '#/definitions/', v2.definitions), []);
});

test('a CRD without a registered schema is published as an open object', () => {
  const resolver = createSchemaResolver();
  const doc: Json = buildOpenAPIv3('apis/stable.example.com/v1', [cronTabs], resolver);
  const crontab = doc.components.schemas['com.example.stable.v1.CronTab'];
  assert.equal(crontab['x-kubernetes-preserve-unknown-fields'], true);
  assert.ok(doc.components.schemas['com.example.stable.v1.CronTabList']);
});
