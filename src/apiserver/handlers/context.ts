// What a resource handler gets: the server's shared parts and the request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import type { Admission } from '../registry/admission.ts';
import type { WriteContext, WriteOptions } from '../registry/write.ts';
import type { ResourceRequest } from '../request-info.ts';
import type { ResourceTable } from '../resources.ts';
import type { ServiceAccountTokens } from '../serviceaccount-tokens.ts';
import { errors } from '../errors.ts';
import type { UserInfo } from '../auth.ts';

export interface ServerParts extends WriteContext {
  store: Store;
  resources: ResourceTable;
  admission: Admission;
  now: () => Date;
  /** Called with the number of watches opened (+1) or closed (-1), by resource. */
  onWatch?: (resource: string, delta: number) => void;
  /** Periodic bookmark interval for watches that allow them. */
  bookmarkIntervalMs: number;
  /** The CustomResourceDefinition behind a custom resource. */
  crdFor?: (r: ResourceInfo) => KubeObject | undefined;
  /** Long-running requests end on this signal (server shutdown). */
  shutdown: AbortSignal;
  /** Signs serviceaccounts/token requests; without it the subresource is not served. */
  serviceAccountTokens?: ServiceAccountTokens;
}

export interface ResourceCall {
  req: IncomingMessage;
  res: ServerResponse;
  info: ResourceRequest;
  r: ResourceInfo;
  parts: ServerParts;
  userAgent: string;
  warnings: string[];
  /** Who asks (set by the server once authenticated). */
  user?: UserInfo;
  /** Set by handlers for the audit log. */
  requestObject?: unknown;
  responseObject?: KubeObject;
}

const FIELD_VALIDATION = new Set(['Ignore', 'Warn', 'Strict']);

export function writeOptions(call: ResourceCall): WriteOptions {
  const q = call.info.query;
  const dryRun = q.getAll('dryRun');
  for (const d of dryRun) {
    if (d !== 'All') throw errors.badRequest(`Invalid dry run value: ${d}`);
  }
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (!FIELD_VALIDATION.has(fv)) {
    throw errors.badRequest(`fieldValidation parameter unsupported: ${fv}. Supported values: Ignore, Warn, Strict`);
  }
  let fieldManager = q.get('fieldManager') ?? '';
  if (fieldManager.length > 128) throw errors.badRequest('fieldManager: Too long: may not be longer than 128');
  if (!fieldManager) {
    // Kubernetes names the manager after the client's User-Agent, up to the first '/'.
    fieldManager = call.userAgent.split('/')[0] || 'unknown';
  }
  return { dryRun: dryRun.length > 0, fieldManager, fieldValidation: fv, warnings: call.warnings, user: call.user };
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw errors.badRequest(`invalid value for ${name}: ${v}`);
  return n;
}
