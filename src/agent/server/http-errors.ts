// Errors of the agent's server as metav1.Status, so the API server can relay kubelet's
// message to kubectl unchanged.
import type { ServerResponse } from 'node:http';

export class HttpError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.reason = reason;
  }
}

export const badRequest = (message: string) => new HttpError(400, 'BadRequest', message);
export const notFound = (message: string) => new HttpError(404, 'NotFound', message);

export function statusBody(e: unknown): { code: number; body: string } {
  const err = e instanceof HttpError ? e : new HttpError(500, 'InternalError', `Internal error occurred: ${(e as Error)?.message ?? String(e)}`);
  const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, code: err.code };
  return { code: err.code, body: JSON.stringify(status) };
}

export function sendStatus(res: ServerResponse, e: unknown): void {
  const { code, body } = statusBody(e);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache, private' });
  res.end(body);
}
