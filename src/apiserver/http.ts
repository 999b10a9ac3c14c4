// Request bodies and responses: size limit, JSON/YAML decoding, and writing
// objects or Status errors with the right content type.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { ApiError, errors } from './errors.ts';
import { decodeKubernetesProtobuf } from '../api/protobuf/index.ts';

/** kube-apiserver refuses request bodies over 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw errors.tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw errors.tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Decodes a JSON or YAML request body into one object. */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const mt = mediaType(contentType);
  if (body.length === 0) throw errors.badRequest('the body of the request was empty');
  const text = mt === 'application/vnd.kubernetes.protobuf' ? '' : body.toString('utf8');
  if (mt === 'application/yaml' || mt === 'application/apply-patch+yaml' || mt === 'text/yaml') {
    const docs = parseAllDocuments(text);
    const doc = Array.isArray(docs) ? docs[0] : docs;
    if (!doc || (Array.isArray(docs) && docs.length !== 1)) {
      throw errors.badRequest('the body of the request must contain exactly one YAML document');
    }
    if (doc.errors.length > 0) {
      throw errors.badRequest(`error converting YAML to JSON: ${doc.errors[0].message.split('\n')[0]}`);
    }
    return doc.toJS();
  }
  if (mt === '' || mt === 'application/json' || mt === '*/*' || mt.endsWith('+json')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw errors.badRequest(`error decoding request body: ${(e as Error).message}`);
    }
  }
  if (mt === 'application/vnd.kubernetes.protobuf') {
    // kubectl's typed clients send built-in kinds as protobuf; the server works on the same JSON.
    try {
      return decodeKubernetesProtobuf(body);
    } catch (e) {
      throw errors.badRequest((e as Error).message);
    }
  }
  throw errors.unsupportedMediaType(mt);
}

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  sendRaw(res, code, typeof body === 'string' ? body : JSON.stringify(body), contentType);
}

export function sendRaw(res: ServerResponse, code: number, text: string | Uint8Array, contentType: string): void {
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength,
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): ApiError {
  const apiErr = err instanceof ApiError ? err : errors.internal((err as Error)?.message ?? String(err));
  if (!res.headersSent) sendJson(res, apiErr.code, apiErr.toStatus());
  else res.destroy();
  return apiErr;
}

/** Parsed Accept header entries, in order. */
export interface AcceptEntry {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(accept: string | undefined): AcceptEntry[] {
  if (!accept) return [{ type: '*/*', params: {} }];
  return accept.split(',').map((part) => {
    const [type, ...ps] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of ps) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    return { type: type.toLowerCase(), params };
  });
}
