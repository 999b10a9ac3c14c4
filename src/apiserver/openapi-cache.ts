// Serves /openapi/v2 (protobuf for kubectl, JSON otherwise) and /openapi/v3.
// openapi.ts builds and caches the documents per resource set and schema generation.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KindSchemaResolver } from '../api/schema/resolver.ts';
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE, openAPIDocuments } from './openapi.ts';
import { errors } from './errors.ts';
import { sendRaw } from './http.ts';
import type { ResourceTable } from './resources.ts';

export class OpenApiCache {
  #resources: ResourceTable;
  #resolver: KindSchemaResolver | undefined;
  #etags = new WeakMap<object, string>();

  constructor(resources: ResourceTable, resolver: KindSchemaResolver | undefined) {
    this.#resources = resources;
    this.#resolver = resolver;
  }

  #docs() {
    if (!this.#resolver) throw errors.notFoundPath();
    return openAPIDocuments(this.#resources.all(), this.#resolver);
  }

  #send(req: IncomingMessage, res: ServerResponse, body: string | Uint8Array, contentType: string): void {
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag });
      res.end();
      return;
    }
    res.setHeader('ETag', etag);
    sendRaw(res, 200, body, contentType);
  }

  serveV2(req: IncomingMessage, res: ServerResponse): void {
    const docs = this.#docs();
    if ((req.headers.accept ?? '').includes('protobuf')) return this.#send(req, res, docs.v2Protobuf(), OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
    this.#send(req, res, JSON.stringify(docs.v2()), 'application/json');
  }

  serveV3(req: IncomingMessage, res: ServerResponse, path: string): void {
    const docs = this.#docs();
    if (path === '/openapi/v3') return this.#send(req, res, JSON.stringify(docs.v3Discovery()), 'application/json');
    const json = docs.v3Json(path.slice('/openapi/v3/'.length));
    if (json === undefined) throw errors.notFoundPath();
    // kubectl asks for the hashed URL; its content never changes, so it may be cached for long (as kube-apiserver allows).
    if (new URL(req.url ?? '/', 'http://x').searchParams.get('hash')) res.setHeader('Cache-Control', 'public, immutable');
    this.#send(req, res, json, 'application/json');
  }
}
