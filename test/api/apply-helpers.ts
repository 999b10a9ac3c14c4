// A small hand-made Deployment schema (the shape kube-apiserver publishes, cut
// down) and helpers for the server-side apply tests.
import type { Schema, SchemaResolver } from '../../src/api/schema/types.ts';
import type { KubeObject } from '../../src/api/types.ts';

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', format: 'int32' };
const stringMap: Schema = { type: 'object', additionalProperties: str };

const definitions: Record<string, Schema> = {
  Deployment: {
    type: 'object',
    properties: {
      apiVersion: str, kind: str,
      metadata: { allOf: [ref('ObjectMeta')], default: {} },
      spec: { allOf: [ref('DeploymentSpec')], default: {} },
      status: { allOf: [ref('DeploymentStatus')], default: {} },
    },
    'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'Deployment' }],
  },
  ObjectMeta: {
    type: 'object',
    properties: {
      name: str, namespace: str, uid: str, resourceVersion: str, creationTimestamp: str, generation: { type: 'integer' },
      labels: stringMap, annotations: stringMap,
      finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
      managedFields: { type: 'array', items: { type: 'object' } },
    },
  },
  DeploymentSpec: {
    type: 'object',
    required: ['selector', 'template'],
    properties: {
      replicas: int,
      selector: ref('LabelSelector'),
      template: { allOf: [ref('PodTemplateSpec')], default: {} },
      strategy: {
        type: 'object',
        properties: {
          type: str,
          rollingUpdate: { type: 'object', properties: { maxSurge: { 'x-kubernetes-int-or-string': true }, maxUnavailable: { 'x-kubernetes-int-or-string': true } } },
        },
      },
    },
  },
  DeploymentStatus: { type: 'object', properties: { replicas: int, readyReplicas: int } },
  LabelSelector: {
    type: 'object',
    properties: { matchLabels: stringMap },
    'x-kubernetes-map-type': 'atomic',
  },
  PodTemplateSpec: {
    type: 'object',
    properties: { metadata: { allOf: [ref('ObjectMeta')], default: {} }, spec: { allOf: [ref('PodSpec')], default: {} } },
  },
  PodSpec: {
    type: 'object',
    required: ['containers'],
    properties: {
      containers: {
        type: 'array', items: { allOf: [ref('Container')], default: {} },
        'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge',
      },
      nodeSelector: { type: 'object', additionalProperties: str, 'x-kubernetes-map-type': 'atomic' },
    },
  },
  Container: {
    type: 'object',
    required: ['name'],
    properties: {
      name: str, image: str, imagePullPolicy: str,
      args: { type: 'array', items: str },
      ports: {
        type: 'array', items: ref('ContainerPort'),
        'x-kubernetes-patch-merge-key': 'containerPort', 'x-kubernetes-patch-strategy': 'merge',
      },
      env: {
        type: 'array', items: ref('EnvVar'),
        'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge',
      },
      resources: { type: 'object', properties: { limits: stringMap, requests: stringMap } },
    },
  },
  ContainerPort: {
    type: 'object',
    required: ['containerPort'],
    properties: { containerPort: int, name: str, protocol: str },
  },
  EnvVar: { type: 'object', required: ['name'], properties: { name: str, value: str } },
};

export const resolver: SchemaResolver = {
  definition: (name) => definitions[name],
  forKind: (group, version, kind) => (group === 'apps' && version === 'v1' ? definitions[kind] : undefined),
  resolve(s) {
    let cur = s;
    for (let i = 0; cur && i < 10; i++) {
      if (cur.$ref) cur = definitions[cur.$ref.replace('#/components/schemas/', '')];
      else if (cur.allOf?.length === 1 && !cur.type && !cur.properties) cur = cur.allOf[0];
      else return cur;
    }
    return cur;
  },
};

export const deploymentSchema = definitions.Deployment;

export const T0 = '2024-05-01T10:00:00Z';
export const T1 = '2024-05-01T10:01:00Z';
export const T2 = '2024-05-01T10:02:00Z';
export const T3 = '2024-05-01T10:03:00Z';

export function opts(manager: string, now: string, extra: Record<string, unknown> = {}) {
  return { manager, force: false, apiVersion: 'apps/v1', schema: deploymentSchema, resolver, now, ...extra };
}

export function trackOpts(manager: string, now: string, extra: Record<string, unknown> = {}) {
  return { manager, operation: 'Update' as const, apiVersion: 'apps/v1', schema: deploymentSchema, resolver, now, ...extra };
}

/** What the store adds to a created object. */
export function stored(obj: KubeObject): KubeObject {
  return {
    ...obj,
    metadata: { ...obj.metadata, uid: 'a1b2c3', resourceVersion: '100', creationTimestamp: T0, generation: 1 },
  };
}

export function nginx(extra: { replicas?: number; image?: string; labels?: Record<string, string> } = {}): KubeObject {
  const spec: Record<string, unknown> = {
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: extra.image ?? 'nginx:1.25', ports: [{ containerPort: 80 }] }] },
    },
  };
  if (extra.replicas !== undefined) spec.replicas = extra.replicas;
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', ...(extra.labels ? { labels: extra.labels } : {}) },
    spec,
  };
}

/** The managedFields entry of a manager/operation, or undefined. */
export function entryOf(obj: KubeObject, manager: string, operation = 'Apply') {
  return obj.metadata?.managedFields?.find((e) => e.manager === manager && e.operation === operation);
}
