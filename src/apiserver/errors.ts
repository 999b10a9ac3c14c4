// API errors as metav1.Status, worded like kube-apiserver's so kubectl prints
// what went wrong (https://kubernetes.io/docs/reference/using-api/api-concepts/#status).
import type { StatusCause } from '../api/types.ts';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  code: number;
  reason: string;
  details?: StatusDetails;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
  toStatus(): object {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `deployments.apps` / `pods`: how Kubernetes names a resource in messages. */
export function qualifiedResource(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const errors = {
  badRequest: (message: string, causes?: StatusCause[]) =>
    new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (message: string, d?: StatusDetails) => new ApiError(403, 'Forbidden', message, d),
  notFound: (group: string, plural: string, name: string) =>
    new ApiError(404, 'NotFound', `${qualifiedResource(group, plural)} "${name}" not found`, { name, group: group || undefined, kind: plural }),
  notFoundPath: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource'),
  alreadyExists: (group: string, plural: string, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, plural)} "${name}" already exists`, { name, group: group || undefined, kind: plural }),
  conflict: (group: string, plural: string, name: string, why: string) =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${why}`, { name, group: group || undefined, kind: plural }),
  gone: (message: string) => new ApiError(410, 'Expired', message),
  invalid: (group: string, kind: string, name: string, causes: StatusCause[]) =>
    new ApiError(422, 'Invalid',
      `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ` +
        (causes.length === 1 ? fmtCause(causes[0]) : `[${causes.map(fmtCause).join(', ')}]`),
      { name, group: group || undefined, kind, causes }),
  methodNotAllowed: (verb: string, what: string) =>
    new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, { kind: what, causes: [{ reason: 'MethodNotAllowed', message: verb, field: '' }] }),
  notAcceptable: (accept: string) =>
    new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml (got ${accept})`),
  unsupportedMediaType: (ct: string) =>
    new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got ${ct})`),
  tooLarge: () => new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`),
  timeout: (message: string) => new ApiError(504, 'Timeout', message),
};

function fmtCause(c: StatusCause): string {
  return c.field ? `${c.field}: ${c.message}` : c.message;
}
