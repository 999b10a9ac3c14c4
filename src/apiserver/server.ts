// The API server: one HTTP(S) handler that authenticates, routes to discovery,
// OpenAPI, health and the resource handlers, and records metrics and audit
// events for every request.
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Store } from '../store/store.ts';
import type { KindSchemaResolver as SchemaResolver } from '../api/schema/resolver.ts';
import { ANONYMOUS, type TokenAuthenticator, type UserInfo } from './auth.ts';
import type { AuditLog } from './audit.ts';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.ts';
import { ApiError, errors } from './errors.ts';
import { parseAccept, sendError, sendJson, sendRaw } from './http.ts';
import type { createApiMetrics } from './metrics.ts';
import { OpenApiCache } from './openapi-cache.ts';
import { parseRequest, type RequestInfo } from './request-info.ts';
import { ResourceTable } from './resources.ts';
import type { Admission } from './registry/admission.ts';
import type { NamespaceCache } from './registry/namespace-cache.ts';
import type { ResourceCall, ServerParts } from './handlers/context.ts';
import { handleResource } from './handlers/resource.ts';
import { handlePodProxy, handlePodUpgrade, isPodProxyCall, isPodStreamUpgrade, type KubeletClientTls } from './handlers/pod-proxy.ts';
import { auditEventFor } from './audit-event.ts';
import type { KubeObject, ResourceInfo } from '../api/types.ts';
import type { ServiceAccountTokens } from './serviceaccount-tokens.ts';
import { clientCertificateUser } from './auth-x509.ts';
import { anonymousAllowed, type Authorizer } from './authz/index.ts';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-skiff' };

export interface ApiServerOptions {
  store: Store;
  admission: Admission;
  auth: TokenAuthenticator;
  resources?: ResourceTable;
  resolver?: SchemaResolver;
  /** With `ca`, clients may authenticate with a certificate it signed (CN = user, O = groups). */
  tls?: { cert: string; key: string; ca?: string };
  /** Decides every resource request of an authenticated user (authz/); without it, all are allowed. */
  authorizer?: Authorizer;
  audit?: AuditLog;
  metrics?: ReturnType<typeof createApiMetrics>;
  crdFor?: (r: ResourceInfo) => KubeObject | undefined;
  bookmarkIntervalMs?: number;
  /** Readiness beyond "the store answers", e.g. CRDs loaded. */
  ready?: () => boolean;
  /** Signs service account tokens (serviceaccounts/token). */
  serviceAccountTokens?: ServiceAccountTokens;
  /** The client certificate for reaching node agents (pods/log, exec, attach, portforward). */
  kubeletClient?: KubeletClientTls;
  /** Answers namespace existence for creates (started and stopped by the caller). */
  namespaces?: NamespaceCache;
}

const UNAUTHENTICATED_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/healthz/ping', '/livez/ping', '/readyz/ping']);

export class ApiServer {
  readonly server: http.Server;
  readonly parts: ServerParts;
  readonly resources: ResourceTable;
  #opts: ApiServerOptions;
  #abort = new AbortController();
  #openapi: OpenApiCache;
  #address = '127.0.0.1:6443';

  constructor(opts: ApiServerOptions) {
    this.#opts = opts;
    this.resources = opts.resources ?? new ResourceTable();
    this.parts = {
      store: opts.store,
      admission: opts.admission,
      resources: this.resources,
      now: () => new Date(),
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      shutdown: this.#abort.signal,
      crdFor: opts.crdFor,
      serviceAccountTokens: opts.serviceAccountTokens,
      userAdmission: opts.authorizer?.admit,
      namespaces: opts.namespaces,
      onWatch: opts.metrics ? (resource, delta) => (delta > 0 ? opts.metrics!.watchStarted(resource) : opts.metrics!.watchEnded(resource)) : undefined,
    };
    this.#openapi = new OpenApiCache(this.resources, opts.resolver);
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((e) => {
        // Last resort: #handle answers its own errors; this only guards against a bug there.
        console.error('skiff: unexpected error handling', req.method, req.url, e);
        if (!res.headersSent) sendError(res, e);
        else res.destroy();
      });
    };
    // Only pods/exec|attach|portforward take protocol upgrades; other upgrade requests stay plain requests.
    const shouldUpgradeCallback = (req: IncomingMessage) => isPodStreamUpgrade(req.url);
    this.server = opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, keepAlive: true, shouldUpgradeCallback,
        ...(opts.tls.ca && { ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false }) }, handler)
      : http.createServer({ keepAlive: true, shouldUpgradeCallback }, handler);
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void handlePodUpgrade(req, socket, head, {
      authenticate: async (r) => clientCertificateUser(r) ?? await opts.auth.authenticate(r),
      authorize: async (user, info) => { await opts.authorizer?.authorize(user, info); },
      parts: this.parts, kubelet: opts.kubeletClient,
    }));
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 70_000;
    this.server.requestTimeout = 0; // watches are long-running
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const actual = (this.server.address() as AddressInfo).port;
    this.#address = `${host.includes(':') ? `[${host}]` : host}:${actual}`;
    return actual;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    this.#opts.authorizer?.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const receivedAt = new Date();
    let info: RequestInfo | undefined;
    let user: UserInfo = ANONYMOUS;
    let call: ResourceCall | undefined;
    let code = 200;
    try {
      info = parseRequest(req.method ?? 'GET', req.url ?? '/');
      const authed = clientCertificateUser(req) ?? await this.#opts.auth.authenticate(req);
      if (authed) user = authed;
      const path = info.kind === 'resource' ? '' : info.path.replace(/\/+$/, '') || '/';
      const anonymous = !req.headers.authorization && info.kind === 'resource' && anonymousAllowed(info);
      if (!authed && !anonymous && !(info.kind === 'nonresource' && UNAUTHENTICATED_PATHS.has(path))) throw errors.unauthorized();
      if (info.kind === 'resource') await this.#opts.authorizer?.authorize(user, info);
      if (info.kind === 'nonresource') await this.#nonResource(req, res, info.path.replace(/\/+$/, '') || '/');
      else if (info.kind === 'discovery') this.#discovery(req, res, info);
      else {
        const r = this.resources.find(info.group, info.version, info.resource);
        if (!r) throw errors.notFoundPath();
        call = { req, res, info, r, parts: this.parts, userAgent: String(req.headers['user-agent'] ?? ''), warnings: [], user };
        const warnings = call.warnings;
        // Warnings (e.g. unknown fields under fieldValidation=Warn) travel as HTTP Warning headers.
        const origWriteHead = res.writeHead.bind(res);
        res.writeHead = ((...args: Parameters<typeof res.writeHead>) => {
          if (warnings.length > 0) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
          return origWriteHead(...args);
        }) as typeof res.writeHead;
        await (isPodProxyCall(call) ? handlePodProxy(call, this.#opts.kubeletClient) : handleResource(call));
      }
      code = res.statusCode;
    } catch (e) {
      if (!(e instanceof ApiError)) console.error('skiff: internal error on', req.method, req.url, e);
      code = sendError(res, e).code;
    } finally {
      this.#record(req, info, user, call, code, started, receivedAt);
    }
  }

  #record(req: IncomingMessage, info: RequestInfo | undefined, user: UserInfo, call: ResourceCall | undefined, code: number,
    started: bigint, receivedAt: Date): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const m = this.#opts.metrics;
    if (m && info) {
      if (info.kind === 'resource') {
        m.observeRequest({ verb: info.verb.toUpperCase() === 'WATCH' ? 'WATCH' : verbLabel(info.verb), group: info.group, version: info.version,
          resource: info.resource, subresource: info.subresource, scope: info.name ? 'resource' : info.namespace ? 'namespace' : 'cluster',
          component: 'apiserver', code: String(code) }, seconds);
      } else {
        m.observeRequest({ verb: req.method ?? 'GET', group: '', version: '', resource: '', subresource: '', scope: '', component: 'apiserver', code: String(code) }, seconds);
      }
    }
    if (this.#opts.audit) this.#opts.audit.log(auditEventFor(req, info, user, call, code, receivedAt, randomUUID()));
  }

  async #nonResource(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/healthz' || path === '/livez' || path === '/readyz' || path.endsWith('/ping')) {
      if (path.startsWith('/readyz') && this.#opts.ready && !this.#opts.ready()) return sendRaw(res, 500, '[-]skiff-ready failed\nreadyz check failed', 'text/plain; charset=utf-8');
      await this.parts.store.currentRevision();
      return sendRaw(res, 200, 'ok', 'text/plain; charset=utf-8');
    }
    if (path === '/version') {
      return sendJson(res, 200, { ...KUBERNETES_VERSION, gitCommit: 'skiff', gitTreeState: 'clean', buildDate: '2026-11-21T00:00:00Z',
        goVersion: `node${process.versions.node}`, compiler: 'node', platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}` });
    }
    if (path === '/metrics' && this.#opts.metrics) {
      const m = this.#opts.metrics;
      return sendRaw(res, 200, await m.metricsText(), m.contentType);
    }
    if (path === '/openapi/v2' || path === '/swagger.json') return this.#openapi.serveV2(req, res);
    if (path === '/openapi/v3' || path.startsWith('/openapi/v3/')) return this.#openapi.serveV3(req, res, path);
    if (path === '/') {
      return sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/metrics', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
    }
    throw errors.notFoundPath();
  }

  #discovery(req: IncomingMessage, res: ServerResponse, info: Extract<RequestInfo, { kind: 'discovery' }>): void {
    const all = this.resources.all();
    const p = info.path.replace(/\/+$/, '');
    if (p === '/api' || p === '/apis') {
      const aggregated = parseAccept(req.headers.accept).find((e) => e.params.g === 'apidiscovery.k8s.io' && e.params.as === 'APIGroupDiscoveryList' &&
        (e.params.v === 'v2' || e.params.v === 'v2beta1'));
      if (aggregated) {
        const v = aggregated.params.v;
        return sendJson(res, 200, aggregatedDiscovery(all, p === '/api' ? 'api' : 'apis', `apidiscovery.k8s.io/${v}`),
          `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`);
      }
      return sendJson(res, 200, p === '/api' ? apiVersions(this.#address) : apiGroupList(all));
    }
    if (info.apiPrefix === 'api') {
      const list = info.version ? apiResourceList(all, '', info.version) : undefined;
      if (!list) throw errors.notFoundPath();
      return sendJson(res, 200, list);
    }
    if (info.group && !info.version) {
      const g = apiGroup(all, info.group);
      if (!g) throw errors.notFoundPath();
      return sendJson(res, 200, g);
    }
    const list = apiResourceList(all, info.group ?? '', info.version ?? '');
    if (!list) throw errors.notFoundPath();
    sendJson(res, 200, list);
  }
}

function verbLabel(verb: string): string {
  return ({ get: 'GET', list: 'LIST', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETE' } as Record<string, string>)[verb] ?? verb.toUpperCase();
}
