// ApiStatusError: a failed API call, carrying the metav1.Status the server sent
// (or one built from the HTTP status when the body was not a Status), so callers
// branch on reason/code the way client-go's k8s.io/apimachinery/pkg/api/errors does.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#response-codes
import type { Status } from 'kubernetes-types/meta/v1.d.ts';

/** Reasons kube-apiserver puts in Status.reason for each HTTP status code. */
const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 409: 'Conflict', 410: 'Expired', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

export class ApiStatusError extends Error {
  readonly status: Status;
  readonly code: number;
  readonly reason: string;
  /** The request that failed, e.g. "GET /api/v1/namespaces/default/pods/web". */
  readonly request: string;

  constructor(status: Status, request: string) {
    super(`${request}: ${status.message ?? status.reason ?? `HTTP ${status.code}`}`);
    this.name = 'ApiStatusError';
    this.status = status;
    this.code = status.code ?? 0;
    this.reason = status.reason ?? REASON_BY_CODE[this.code] ?? 'Unknown';
    this.request = request;
  }
}

/** Turns an HTTP error response into an ApiStatusError; body is the parsed JSON or raw text. */
export function statusErrorFrom(httpCode: number, body: unknown, request: string): ApiStatusError {
  if (isStatus(body)) return new ApiStatusError({ ...body, code: body.code ?? httpCode }, request);
  const text = typeof body === 'string' ? body.trim() : JSON.stringify(body);
  return new ApiStatusError({
    kind: 'Status', apiVersion: 'v1', status: 'Failure', code: httpCode,
    reason: REASON_BY_CODE[httpCode] ?? 'Unknown', message: text || `HTTP ${httpCode}`,
  }, request);
}

export function isStatus(x: unknown): x is Status {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'Status';
}

// 409 is shared by Conflict and AlreadyExists, so reason decides; elsewhere either matches.
function has(e: unknown, code: number, reason?: string): boolean {
  if (!(e instanceof ApiStatusError)) return false;
  if (code === 409) return e.reason === reason;
  return e.code === code || (reason !== undefined && e.reason === reason);
}

export const isNotFound = (e: unknown): boolean => has(e, 404, 'NotFound');
export const isAlreadyExists = (e: unknown): boolean => has(e, 409, 'AlreadyExists');
/** A write lost an optimistic-concurrency race (stale resourceVersion): re-read and retry. */
export const isConflict = (e: unknown): boolean => has(e, 409, 'Conflict');
/** 410: the resourceVersion (or continue token) is older than the server's history. */
export const isGone = (e: unknown): boolean => e instanceof ApiStatusError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');
export const isInvalid = (e: unknown): boolean => has(e, 422, 'Invalid');
export const isBadRequest = (e: unknown): boolean => has(e, 400, 'BadRequest');
export const isForbidden = (e: unknown): boolean => has(e, 403, 'Forbidden');
export const isUnauthorized = (e: unknown): boolean => has(e, 401, 'Unauthorized');
export const isTooManyRequests = (e: unknown): boolean => has(e, 429);
export const isTimeout = (e: unknown): boolean => has(e, 504) || (e instanceof ApiStatusError && e.reason === 'Timeout');
export const isServerError = (e: unknown): boolean => e instanceof ApiStatusError && e.code >= 500;
