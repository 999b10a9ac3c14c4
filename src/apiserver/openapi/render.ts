// Renders the neutral operations into Swagger 2.0 (/openapi/v2) and
// OpenAPI 3.0 (/openapi/v3/<group-version>) documents, in the layout
// kube-apiserver uses.
import type { Schema } from '../../api/schema/types.ts';
import type { Operation, Param, PathItem } from './operations.ts';
import { toV2Schema, V2_PREFIX, V3_PREFIX } from './schemas.ts';

export const INFO = { title: 'Kubernetes', version: 'v1.30.0' };

function v2Param(p: Param): object {
  return { description: p.description, in: p.in, name: p.name, ...(p.required ? { required: true } : {}), type: p.type, uniqueItems: true };
}

function v2Operation(op: Operation, mayNeedBody: boolean): object {
  const params: object[] = [];
  if (op.body) params.push({ in: 'body', name: 'body', required: !mayNeedBody, schema: { $ref: V2_PREFIX + op.body } });
  params.push(...op.params.map(v2Param));
  return {
    consumes: op.consumes,
    description: op.description,
    operationId: op.operationId,
    ...(params.length ? { parameters: params } : {}),
    produces: op.produces,
    responses: Object.fromEntries(op.responses.map((r) => [r.code, {
      description: r.description,
      ...(r.schema === undefined ? {} : { schema: r.schema ? { $ref: V2_PREFIX + r.schema } : { type: 'string' } }),
    }])),
    schemes: ['https'],
    tags: [op.tag],
    ...(op.action ? { 'x-kubernetes-action': op.action } : {}),
    ...(op.gvk ? { 'x-kubernetes-group-version-kind': op.gvk } : {}),
  };
}

export function renderV2(items: PathItem[], definitions: Record<string, Schema>): object {
  const paths: Record<string, object> = {};
  for (const item of [...items].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const entry: Record<string, object> = {};
    for (const op of item.operations) entry[op.method] = v2Operation(op, op.method === 'delete');
    if (item.params.length) entry.parameters = item.params.map(v2Param);
    paths[item.path] = entry;
  }
  return {
    swagger: '2.0',
    info: INFO,
    paths,
    definitions: Object.fromEntries(Object.entries(definitions).map(([name, s]) => [name, toV2Schema(s)])),
    securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' } },
    security: [{ BearerToken: [] }],
  };
}

function v3Param(p: Param): object {
  return { description: p.description, in: p.in, name: p.name, ...(p.required ? { required: true } : {}), schema: { type: p.type, uniqueItems: true } };
}

function v3Operation(op: Operation): object {
  const content = (types: string[], schema: object) => Object.fromEntries(types.map((t) => [t, { schema }]));
  return {
    description: op.description,
    operationId: op.operationId,
    ...(op.params.length ? { parameters: op.params.map(v3Param) } : {}),
    ...(op.body ? { requestBody: { content: content(op.consumes, { $ref: V3_PREFIX + op.body }), ...(op.method === 'delete' ? {} : { required: true }) } } : {}),
    responses: Object.fromEntries(op.responses.map((r) => [r.code, {
      ...(r.schema === undefined ? {} : { content: content(op.produces, r.schema ? { $ref: V3_PREFIX + r.schema } : { type: 'string' }) }),
      description: r.description,
    }])),
    tags: [op.tag],
    ...(op.action ? { 'x-kubernetes-action': op.action } : {}),
    ...(op.gvk ? { 'x-kubernetes-group-version-kind': op.gvk } : {}),
  };
}

export function renderV3(items: PathItem[], schemas: Record<string, Schema>): object {
  const paths: Record<string, object> = {};
  for (const item of [...items].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const entry: Record<string, object> = {};
    for (const op of item.operations) entry[op.method] = v3Operation(op);
    if (item.params.length) entry.parameters = item.params.map(v3Param);
    paths[item.path] = entry;
  }
  return {
    openapi: '3.0.0',
    info: INFO,
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' } },
    },
    security: [{ BearerToken: [] }],
  };
}
