// Shared by the validation tests: default an object as the server would, validate it, and
// print each cause as kubectl does ("<field>: <message>").
import assert from 'node:assert/strict';
import { applyDefaults } from '../../src/api/defaults/index.ts';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { KubeObject, ResourceInfo, StatusCause } from '../../src/api/types.ts';
import { validateObject } from '../../src/api/validation/index.ts';

export function resource(group: string, kind: string): ResourceInfo {
  const r = BUILTIN_RESOURCES.find((x) => x.group === group && x.kind === kind);
  assert.ok(r, `${group}/${kind} is a built-in resource`);
  return r;
}

export function causes(group: string, kind: string, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const r = resource(group, kind);
  const o = structuredClone(obj);
  applyDefaults(r, o);
  let prev: KubeObject | undefined;
  if (old) {
    prev = structuredClone(old);
    applyDefaults(r, prev);
  }
  return validateObject(r, o, prev);
}

/** The causes as kubectl prints them inside `is invalid: [...]`. */
export function errors(group: string, kind: string, obj: KubeObject, old?: KubeObject): string[] {
  return causes(group, kind, obj, old).map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
}

export function pod(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', ...meta }, spec };
}

export const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
