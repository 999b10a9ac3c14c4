import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheFilePath, loadDefinitions } from '../../src/api/schema/definitions.ts';
import { danglingRefs, generateDefinitions } from '../../src/api/schema/generate.ts';
import { PATCH_META } from '../../src/api/schema/patch-meta.ts';
import type { Schema } from '../../src/api/schema/types.ts';

const defs = loadDefinitions();
const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

function prop(def: string, name: string): Schema {
  const s = defs[def]?.properties?.[name];
  assert.ok(s, `${def}.${name} exists`);
  return s;
}

test('built-in kinds are keyed by their Kubernetes OpenAPI names with group-version-kind', () => {
  for (const [name, gvk] of [
    [CORE + 'Pod', { group: '', version: 'v1', kind: 'Pod' }],
    [CORE + 'Service', { group: '', version: 'v1', kind: 'Service' }],
    ['io.k8s.api.apps.v1.Deployment', { group: 'apps', version: 'v1', kind: 'Deployment' }],
    ['io.k8s.api.apps.v1.DeploymentList', { group: 'apps', version: 'v1', kind: 'DeploymentList' }],
    ['io.k8s.api.batch.v1.CronJob', { group: 'batch', version: 'v1', kind: 'CronJob' }],
    ['io.k8s.api.coordination.v1.Lease', { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' }],
    ['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
      { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' }],
  ] as const) {
    assert.deepEqual(defs[name]?.['x-kubernetes-group-version-kind'], [gvk], name);
  }
  assert.equal(defs[META + 'ObjectMeta']?.['x-kubernetes-group-version-kind'], undefined, 'ObjectMeta is not a kind');
});

test('schemas carry descriptions, required fields, types and references', () => {
  assert.match(defs['io.k8s.api.apps.v1.Deployment']!.description!, /declarative updates for Pods and ReplicaSets/);
  const spec = prop('io.k8s.api.apps.v1.DeploymentSpec', 'strategy');
  assert.deepEqual(spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }]);
  assert.match(spec.description!, /deployment strategy to use to replace existing pods/);
  assert.deepEqual(defs['io.k8s.api.apps.v1.DeploymentSpec']!.required, ['selector', 'template']);
  assert.deepEqual(defs[CORE + 'Container']!.required, ['name']);
  assert.equal(prop(CORE + 'Container', 'image').type, 'string');
  assert.equal(prop(CORE + 'Container', 'stdin').type, 'boolean');
  assert.deepEqual(prop(CORE + 'Container', 'args').items, { type: 'string' });
  assert.deepEqual(prop(META + 'ObjectMeta', 'labels').additionalProperties, { type: 'string' });
  assert.deepEqual(prop(CORE + 'ResourceRequirements', 'limits').additionalProperties,
    { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' });
  assert.deepEqual(prop('io.k8s.api.apps.v1.RollingUpdateDeployment', 'maxSurge').allOf,
    [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }]);
  assert.deepEqual(prop(CORE + 'ServicePort', 'targetPort').allOf,
    [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }]);
  assert.deepEqual(danglingRefs(defs), []);
});

test('special types have the shapes kube-apiserver publishes', () => {
  const pick = ({ type, format }: Schema) => ({ type, format });
  assert.deepEqual(pick(defs['io.k8s.apimachinery.pkg.api.resource.Quantity']!), { type: 'string', format: undefined });
  assert.match(defs['io.k8s.apimachinery.pkg.api.resource.Quantity']!.description!, /fixed-point representation/);
  assert.deepEqual(pick(defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString']!), { type: 'string', format: 'int-or-string' });
  assert.deepEqual(pick(defs[META + 'Time']!), { type: 'string', format: 'date-time' });
  assert.deepEqual(pick(defs[META + 'MicroTime']!), { type: 'string', format: 'date-time' });
  assert.equal(defs[META + 'FieldsV1']!.type, 'object');
  assert.equal(defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON']!.type, undefined, 'JSON is any value');
  // kubernetes-types drops the x-kubernetes-* fields of JSONSchemaProps; CRDs use them.
  const jsp = defs['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps']!.properties!;
  assert.equal(jsp['x-kubernetes-preserve-unknown-fields']?.type, 'boolean');
  assert.equal(jsp['x-kubernetes-validations']?.['x-kubernetes-patch-merge-key'], 'rule');
});

test('integer widths: int64 where Kubernetes uses int64, int32 otherwise', () => {
  assert.equal(prop(META + 'ObjectMeta', 'generation').format, 'int64');
  assert.equal(prop(CORE + 'PodSpec', 'terminationGracePeriodSeconds').format, 'int64');
  assert.equal(prop(CORE + 'PodSecurityContext', 'supplementalGroups').items?.format, 'int64');
  assert.equal(prop('io.k8s.api.apps.v1.DeploymentSpec', 'replicas').format, 'int32');
  assert.equal(prop(CORE + 'ContainerPort', 'containerPort').format, 'int32');
  assert.deepEqual(prop('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps', 'maximum'),
    { type: 'number', format: 'double' });
});

test('integer widths agree with @kubernetes/client-node for core, apps and batch', async () => {
  const modelsDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node/package.json')), 'dist/gen/models');
  let compared = 0;
  for (const [name, schema] of Object.entries(defs)) {
    const m = /^io\.k8s\.api\.(core|apps|batch)\.v1\.(\w+)$/.exec(name);
    const file = m && path.join(modelsDir, `V1${m[2]}.js`);
    if (!file || !existsSync(file)) continue;
    const mod = await import(pathToFileURL(file).href) as Record<string, { getAttributeTypeMap(): { baseName: string; format: string }[] }>;
    for (const attr of mod[`V1${m[2]}`]!.getAttributeTypeMap()) {
      const ours = schema.properties?.[attr.baseName];
      if (!ours) continue; // client-node follows a newer Kubernetes with more fields
      const format = ours?.type === 'array' ? ours.items?.format : ours?.format;
      if (attr.format === 'int32' || attr.format === 'int64') {
        assert.equal(format, attr.format, `${name}.${attr.baseName}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 100, `compared ${compared} integer fields`);
});

test('patch merge keys and list types of the built-in types', () => {
  const containers = prop(CORE + 'PodSpec', 'containers');
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(containers['x-kubernetes-list-type'], 'map');
  assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
  assert.equal(prop(CORE + 'PodSpec', 'volumes')['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  assert.equal(prop(CORE + 'PodSpec', 'tolerations')['x-kubernetes-list-type'], 'atomic');
  assert.equal(prop(CORE + 'Container', 'volumeMounts')['x-kubernetes-patch-merge-key'], 'mountPath');
  assert.deepEqual(prop(CORE + 'Container', 'ports')['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.deepEqual(prop(CORE + 'ServiceSpec', 'ports')['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  assert.equal(prop(CORE + 'ServiceSpec', 'ports')['x-kubernetes-patch-merge-key'], 'port');
  assert.equal(prop(CORE + 'EphemeralContainer', 'env')['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(prop('io.k8s.api.apps.v1.DeploymentStatus', 'conditions')['x-kubernetes-patch-merge-key'], 'type');
  assert.equal(prop('io.k8s.api.apps.v1.DeploymentSpec', 'strategy')['x-kubernetes-patch-strategy'], 'retainKeys');
  const finalizers = prop(META + 'ObjectMeta', 'finalizers');
  assert.equal(finalizers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(finalizers['x-kubernetes-list-type'], 'set');
  assert.equal(prop(META + 'ObjectMeta', 'ownerReferences')['x-kubernetes-patch-merge-key'], 'uid');
  assert.equal(prop(CORE + 'ServiceSpec', 'selector')['x-kubernetes-map-type'], 'atomic');
});

test('every hand-written merge fact names a real property of the right type', () => {
  for (const [def, fields] of Object.entries(PATCH_META)) {
    for (const [name, meta] of Object.entries(fields)) {
      const s = prop(def, name);
      if (meta['x-kubernetes-list-type']) assert.equal(s.type, 'array', `${def}.${name} is a list`);
      if (meta['x-kubernetes-map-type']) assert.equal(s.type, 'object', `${def}.${name} is a map`);
      const item = s.items && (s.items.$ref ? defs[s.items.$ref.split('/').pop()!] : s.items);
      for (const key of meta['x-kubernetes-list-map-keys'] ?? []) {
        assert.ok(item?.properties?.[key], `${def}.${name} items have key ${key}`);
      }
    }
  }
});

test('definitions are cached in generated/ and the cache matches a fresh generation', () => {
  const file = cacheFilePath();
  assert.match(path.basename(file), /^definitions-1\.30\.0\.json$/);
  assert.ok(statSync(file).size > 100_000);
  const cached = JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, Schema> };
  const t0 = performance.now();
  const fresh = generateDefinitions();
  const ms = performance.now() - t0;
  assert.deepEqual(cached.definitions, fresh);
  assert.ok(ms < 10_000, `generation took ${ms} ms`);
});
