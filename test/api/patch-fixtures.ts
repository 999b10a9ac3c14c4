// Hand-made schemas for the patch tests: a trimmed Deployment/Pod with the
// patch metadata the real API publishes (containers/env/volumes by name,
// ports by containerPort, volumes with retainKeys, finalizers as a merging
// primitive list), written the way OpenAPI v3 does ($ref wrapped in allOf).
import type { Schema, SchemaResolver } from '../../src/api/schema/types.ts';

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const wrapped = (name: string, extra: Schema = {}): Schema => ({ allOf: [ref(name)], ...extra });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', format: 'int32' };
const stringMap: Schema = { type: 'object', additionalProperties: str };
const mergeList = (item: string, mergeKey: string, strategy = 'merge'): Schema => ({
  type: 'array',
  items: wrapped(item),
  'x-kubernetes-patch-merge-key': mergeKey,
  'x-kubernetes-patch-strategy': strategy,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': [mergeKey],
});

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

export const definitions: Record<string, Schema> = {
  [META]: {
    type: 'object',
    properties: {
      name: str,
      namespace: str,
      labels: stringMap,
      annotations: stringMap,
      finalizers: { type: 'array', items: str, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
      ownerReferences: mergeList('io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference', 'uid'),
    },
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference': {
    type: 'object',
    properties: { apiVersion: str, kind: str, name: str, uid: str, controller: { type: 'boolean' } },
  },
  'io.k8s.api.apps.v1.Deployment': {
    type: 'object',
    'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'Deployment' }],
    properties: {
      apiVersion: str,
      kind: str,
      metadata: wrapped(META),
      spec: wrapped('io.k8s.api.apps.v1.DeploymentSpec'),
    },
  },
  'io.k8s.api.apps.v1.DeploymentSpec': {
    type: 'object',
    properties: {
      replicas: int,
      selector: { type: 'object', properties: { matchLabels: stringMap } },
      template: wrapped('io.k8s.api.core.v1.PodTemplateSpec'),
      strategy: wrapped('io.k8s.api.apps.v1.DeploymentStrategy', { 'x-kubernetes-patch-strategy': 'retainKeys' }),
    },
  },
  'io.k8s.api.apps.v1.DeploymentStrategy': {
    type: 'object',
    properties: { type: str, rollingUpdate: { type: 'object', properties: { maxSurge: str, maxUnavailable: str } } },
  },
  'io.k8s.api.core.v1.PodTemplateSpec': {
    type: 'object',
    properties: { metadata: wrapped(META), spec: wrapped('io.k8s.api.core.v1.PodSpec') },
  },
  'io.k8s.api.core.v1.Pod': {
    type: 'object',
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Pod' }],
    properties: { apiVersion: str, kind: str, metadata: wrapped(META), spec: wrapped('io.k8s.api.core.v1.PodSpec') },
  },
  'io.k8s.api.core.v1.PodSpec': {
    type: 'object',
    properties: {
      containers: mergeList('io.k8s.api.core.v1.Container', 'name'),
      initContainers: mergeList('io.k8s.api.core.v1.Container', 'name'),
      volumes: mergeList('io.k8s.api.core.v1.Volume', 'name', 'merge,retainKeys'),
      tolerations: { type: 'array', items: { type: 'object', properties: { key: str, operator: str, effect: str } }, 'x-kubernetes-list-type': 'atomic' },
      nodeSelector: stringMap,
      restartPolicy: str,
    },
  },
  'io.k8s.api.core.v1.Container': {
    type: 'object',
    properties: {
      name: str,
      image: str,
      imagePullPolicy: str,
      args: { type: 'array', items: str, 'x-kubernetes-list-type': 'atomic' },
      env: mergeList('io.k8s.api.core.v1.EnvVar', 'name'),
      ports: mergeList('io.k8s.api.core.v1.ContainerPort', 'containerPort'),
      volumeMounts: mergeList('io.k8s.api.core.v1.VolumeMount', 'mountPath'),
      resources: { type: 'object', properties: { limits: stringMap, requests: stringMap } },
      terminationMessagePath: str,
    },
  },
  'io.k8s.api.core.v1.EnvVar': { type: 'object', properties: { name: str, value: str } },
  'io.k8s.api.core.v1.ContainerPort': { type: 'object', properties: { name: str, containerPort: int, protocol: str } },
  'io.k8s.api.core.v1.VolumeMount': { type: 'object', properties: { name: str, mountPath: str, readOnly: { type: 'boolean' } } },
  'io.k8s.api.core.v1.Volume': {
    type: 'object',
    properties: {
      name: str,
      configMap: { type: 'object', properties: { name: str, defaultMode: int } },
      emptyDir: { type: 'object', properties: { medium: str } },
      secret: { type: 'object', properties: { secretName: str } },
    },
  },
};

export const resolver: SchemaResolver = {
  definition: (name) => definitions[name],
  forKind(group, version, kind) {
    return Object.values(definitions).find((d) =>
      d['x-kubernetes-group-version-kind']?.some((g) => g.group === group && g.version === version && g.kind === kind));
  },
  resolve(s) {
    let current = s;
    for (let hops = 0; current && hops < 10; hops++) {
      if (current.$ref) current = definitions[current.$ref.replace(/^#\/(components\/schemas|definitions)\//, '')];
      else if (current.allOf?.length === 1 && !current.properties && !current.type) current = current.allOf[0];
      else break;
    }
    return current;
  },
};

export const deploymentSchema = { resolver, root: resolver.forKind('apps', 'v1', 'Deployment') };
export const podSchema = { resolver, root: resolver.forKind('', 'v1', 'Pod') };
