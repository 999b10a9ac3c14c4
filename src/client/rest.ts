// A small typed REST client for the Kubernetes API over undici, in the shape of
// client-go's dynamic client: every call names its resource ({group, version,
// plural, namespaced}) and works on plain JSON objects. Failed calls throw
// ApiStatusError carrying the server's metav1.Status (see errors.ts).
// https://kubernetes.io/docs/reference/using-api/api-concepts/
import { Agent, request, type Dispatcher } from 'undici';
import type { ListMeta, Status } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { statusErrorFrom } from './errors.ts';
import { type ConnectionConfig, loadKubeconfig } from './kubeconfig.ts';
import { apiVersionFor, type ResourceRef, resourcePath } from './resources.ts';
import { parseWatchStream, type WatchEvent } from './watch-stream.ts';

export type { WatchEvent } from './watch-stream.ts';

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

export interface ListOptions {
  /** Omit for all namespaces (namespaced resources) or for cluster-scoped ones. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

/**
 * An in-memory watch, for clients that live inside the API server process: the events the
 * HTTP watch would send, or undefined when this resource must be watched over HTTP.
 */
export type LocalWatch = (r: ResourceRef, opts: WatchOptions) => AsyncGenerator<WatchEvent> | undefined;

export interface GetOptions {
  namespace?: string;
  subresource?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  /** Defaults to the object's metadata.namespace. */
  namespace?: string;
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
  subresource?: string;
  signal?: AbortSignal;
}

/** merge: RFC 7386; strategic: Kubernetes strategic merge; json: RFC 6902; apply: server-side apply. */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface PatchOptions extends WriteOptions {
  type?: PatchType; // default 'merge'
  /** Server-side apply: take ownership of fields other managers own. */
  force?: boolean;
}

/** metav1.DeleteOptions. */
export interface DeleteOptions {
  namespace?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml', // JSON is YAML
};

interface RawRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Watches stream for as long as the server keeps them open. */
  streaming?: boolean;
}

export class RestClient {
  readonly config: ConnectionConfig;
  private readonly agent: Agent;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly localWatch: LocalWatch | undefined;

  constructor(config: ConnectionConfig, opts: { userAgent?: string; timeoutMs?: number; localWatch?: LocalWatch } = {}) {
    this.config = config;
    this.localWatch = opts.localWatch;
    this.userAgent = opts.userAgent ?? 'skiff-client/0.1';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connect: { ca: config.ca, cert: config.cert, key: config.key, rejectUnauthorized: !config.insecureSkipTLSVerify },
    });
  }

  static fromKubeconfig(path?: string, opts: { context?: string; userAgent?: string; timeoutMs?: number } = {}): RestClient {
    return new RestClient(loadKubeconfig(path, opts.context), opts);
  }

  async get<T extends KubeObject = KubeObject>(r: ResourceRef, name: string, opts: GetOptions = {}): Promise<T> {
    return this.call<T>('GET', objectPath(r, opts.namespace, name, opts.subresource), { signal: opts.signal });
  }

  /** One page; pass limit/continue to page (listAll pages for you). */
  async list<T extends KubeObject = KubeObject>(r: ResourceRef, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.call<ObjectList<T>>('GET', resourcePath(r, opts.namespace), { query: listQuery(opts), signal: opts.signal });
  }

  /** Every page of a list (limit=pageSize, following continue); resourceVersion is the list's snapshot. */
  async listAll<T extends KubeObject = KubeObject>(r: ResourceRef, opts: ListOptions & { pageSize?: number } = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.list<T>(r, { ...opts, limit: opts.pageSize ?? 500, continue: cont,
        // The continue token pins the snapshot; resourceVersion may only go with the first page.
        resourceVersion: cont ? undefined : opts.resourceVersion, resourceVersionMatch: cont ? undefined : opts.resourceVersionMatch });
      for (const item of page.items) items.push(item);
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  async create<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    const ns = opts.namespace ?? obj.metadata?.namespace;
    return this.call<T>('POST', r.namespaced ? resourcePath(r, requireNamespace(r, ns)) : resourcePath(r),
      { body: withTypeMeta(r, obj), query: writeQuery(opts), signal: opts.signal });
  }

  /** PUT: replaces the object; metadata.resourceVersion makes it conditional (409 Conflict if stale). */
  async update<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.call<T>('PUT', objectPath(r, opts.namespace ?? obj.metadata?.namespace, nameOf(r, obj), opts.subresource),
      { body: withTypeMeta(r, obj), query: writeQuery(opts), signal: opts.signal });
  }

  /** PUT to the status subresource: only .status changes. */
  async updateStatus<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.update(r, obj, { ...opts, subresource: 'status' });
  }

  async patch<T extends KubeObject = KubeObject>(r: ResourceRef, name: string, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    const type = opts.type ?? 'merge';
    if (type === 'apply' && !opts.fieldManager) throw new Error(`${r.plural}/${name}: server-side apply needs a fieldManager`);
    const query = { ...writeQuery(opts), force: type === 'apply' && opts.force ? true : undefined };
    return this.call<T>('PATCH', objectPath(r, opts.namespace, name, opts.subresource),
      { body: patch, contentType: PATCH_CONTENT_TYPES[type], query, signal: opts.signal });
  }

  /** Server-side apply of a (partial) object: what fieldManager wants the fields it sets to be. */
  async apply<T extends KubeObject = KubeObject>(r: ResourceRef, obj: T, opts: Omit<PatchOptions, 'type'> & { fieldManager: string }): Promise<T> {
    return this.patch<T>(r, nameOf(r, obj), withTypeMeta(r, obj), { ...opts, type: 'apply', namespace: opts.namespace ?? obj.metadata?.namespace });
  }

  /** Returns the deleted object (or the object with deletionTimestamp set while finalizers run), or a Status. */
  async delete<T extends KubeObject = KubeObject>(r: ResourceRef, name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.dryRun) body.dryRun = ['All'];
    return this.call<T | Status>('DELETE', objectPath(r, opts.namespace, name), { body, signal: opts.signal });
  }

  /**
   * Watch events as an async iterator. Ends when the server closes the stream
   * (timeoutSeconds); abort with opts.signal or by leaving the loop. An expired
   * resourceVersion arrives as an ERROR event whose object is a Status with code 410.
   */
  async *watch<T extends KubeObject = KubeObject>(r: ResourceRef, opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const local = this.localWatch?.(r, opts);
    if (local) {
      yield* local as AsyncGenerator<WatchEvent<T>>;
      return;
    }
    const query = { ...listQuery(opts), watch: true, allowWatchBookmarks: opts.allowWatchBookmarks || undefined,
      sendInitialEvents: opts.sendInitialEvents };
    const path = resourcePath(r, opts.namespace);
    const res = await this.send('GET', path, { query, signal: opts.signal, streaming: true });
    if (res.statusCode >= 300) throw statusErrorFrom(res.statusCode, await readBody(res), `GET ${path}?watch=true`);
    yield* parseWatchStream<T>(res.body);
  }

  /** Any JSON call, for paths the typed methods don't cover. */
  async call<T>(method: Dispatcher.HttpMethod, path: string, req: RawRequest = {}): Promise<T> {
    const res = await this.send(method, path, req);
    const body = await readBody(res);
    if (res.statusCode >= 300) throw statusErrorFrom(res.statusCode, body, `${method} ${path}`);
    return body as T;
  }

  /** Closes idle keep-alive connections; in-flight requests finish first. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private send(method: Dispatcher.HttpMethod, path: string, req: RawRequest): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.config.server + path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      body = JSON.stringify(req.body);
    }
    return request(url, {
      method, headers, body, signal: req.signal, dispatcher: this.agent,
      headersTimeout: this.timeoutMs,
      // A watch is bounded by its timeoutSeconds (the server closes it), not by a body timeout.
      bodyTimeout: req.streaming ? 0 : this.timeoutMs,
    });
  }
}

async function readBody(res: Dispatcher.ResponseData): Promise<unknown> {
  const text = await res.body.text();
  const type = String(res.headers['content-type'] ?? '');
  if (!text || !type.includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch (e) {
    if (res.statusCode >= 300) return text; // an error page that claims JSON: keep it as the message
    throw new Error(`invalid JSON in response (HTTP ${res.statusCode}): ${(e as Error).message}`);
  }
}

function listQuery(o: ListOptions): Record<string, string | number | undefined> {
  return { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: o.limit, continue: o.continue,
    resourceVersion: o.resourceVersion, resourceVersionMatch: o.resourceVersionMatch, timeoutSeconds: o.timeoutSeconds };
}

function writeQuery(o: WriteOptions): Record<string, string | undefined> {
  return { dryRun: o.dryRun ? 'All' : undefined, fieldManager: o.fieldManager, fieldValidation: o.fieldValidation };
}

function requireNamespace(r: ResourceRef, ns: string | undefined): string {
  if (!ns) throw new Error(`${r.plural} are namespaced: give a namespace (option or metadata.namespace)`);
  return ns;
}

function objectPath(r: ResourceRef, ns: string | undefined, name: string, subresource?: string): string {
  return resourcePath(r, r.namespaced ? requireNamespace(r, ns) : undefined, name, subresource);
}

function nameOf(r: ResourceRef, obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${r.plural}: object has no metadata.name`);
  return name;
}

function withTypeMeta<T extends KubeObject>(r: ResourceRef, obj: T): T {
  if (obj.apiVersion && obj.kind) return obj;
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionFor(r), kind: obj.kind ?? r.kind };
}
