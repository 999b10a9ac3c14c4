// An OCI distribution (registry v2) client for pulling: manifests by tag or digest, indexes
// resolved to the host platform, blobs verified against their digests, and the registry auth
// flows kubelet's AuthConfig can feed: anonymous, Basic, and Bearer tokens from the challenge's
// realm. https://github.com/opencontainers/distribution-spec/blob/main/spec.md
// https://distribution.github.io/distribution/spec/auth/token/
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DigestMismatchError, sha256Digest, type BlobStore } from './blobs.ts';
import {
  checkConfig, hostPlatform, isIndex, isManifest, MANIFEST_ACCEPT, selectPlatform,
  type Descriptor, type ImageConfig, type ImageIndex, type Manifest,
} from './manifest.ts';
import type { ImageReference } from './reference.ts';

/** The credentials CRI's AuthConfig carries (any of them may be empty). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** base64 of 'username:password', as in a docker config.json. */
  auth?: string;
  /** An OAuth2 refresh token, traded for an access token at the realm. */
  identity_token?: string;
  /** A bearer token to send as-is. */
  registry_token?: string;
}

export interface PullOptions {
  auth?: RegistryAuth | null;
  /** Registries spoken to over plain http; loopback ones always are. */
  insecure?: (host: string) => boolean;
  /** Blob downloads in flight, shared across pulls so a layer is fetched once. */
  inflight?: Map<string, Promise<void>>;
}

export interface PulledImage {
  /** The digest the reference resolved to first (an index's digest when it is one): the repo digest. */
  resolvedDigest: string;
  manifestDigest: string;
  manifest: Manifest;
  config: ImageConfig;
}

const MAX_MANIFEST_BYTES = 4 << 20;

export class RegistryError extends Error {
  readonly status: number;
  constructor(message: string, status = 0) {
    super(message);
    this.name = 'RegistryError';
    this.status = status;
  }
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || name.startsWith('127.');
}

/** Pulls ref's manifest, config and layers into blobs; returns what was pulled. */
export async function pullFromRegistry(ref: ImageReference, blobs: BlobStore, options: PullOptions = {}): Promise<PulledImage> {
  const client = new RegistryClient(ref, options);
  const wanted = ref.digest ?? ref.tag ?? 'latest';
  const top = await client.manifest(wanted);
  let resolved = top;
  if (isIndex(top.mediaType, top.doc)) {
    const index = top.doc as unknown as ImageIndex;
    const platform = hostPlatform();
    const desc = selectPlatform(index, platform);
    if (!desc) {
      const offered = index.manifests.map((d) => d.platform ? `${d.platform.os}/${d.platform.architecture}` : '?').join(', ');
      throw new RegistryError(`${client.name}:${wanted} has no image for ${platform.os}/${platform.architecture} (index offers: ${offered})`);
    }
    resolved = await client.manifest(desc.digest);
    await blobs.put(top.body, top.digest);
  }
  if (!isManifest(resolved.mediaType, resolved.doc)) {
    throw new RegistryError(`${client.name}:${wanted}: unsupported manifest media type "${resolved.mediaType}"`);
  }
  const manifest = resolved.doc as unknown as Manifest;
  await client.blob(manifest.config, blobs, options.inflight);
  const config = await blobs.readJson<ImageConfig>(manifest.config.digest);
  checkConfig(config, manifest, `${client.name}@${resolved.digest}`);
  await Promise.all(manifest.layers.map((layer) => client.blob(layer, blobs, options.inflight)));
  await blobs.put(resolved.body, resolved.digest);
  return { resolvedDigest: top.digest, manifestDigest: resolved.digest, manifest, config };
}

interface FetchedManifest {
  digest: string;
  mediaType: string | undefined;
  body: Buffer;
  doc: { mediaType?: string; manifests?: unknown; config?: unknown };
}

class RegistryClient {
  readonly name: string;
  private readonly base: string;
  private readonly path: string;
  private readonly auth: RegistryAuth;
  private authorization: string | undefined;

  constructor(ref: ImageReference, options: PullOptions) {
    const host = ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain;
    const insecure = isLoopback(host) || (options.insecure?.(host) ?? false);
    this.base = `${insecure ? 'http' : 'https'}://${host}/v2/${ref.path}`;
    this.name = `${ref.domain}/${ref.path}`;
    this.path = ref.path;
    this.auth = options.auth ?? {};
    if (this.auth.registry_token) this.authorization = `Bearer ${this.auth.registry_token}`;
  }

  async manifest(reference: string): Promise<FetchedManifest> {
    const res = await this.get(`/manifests/${reference}`, MANIFEST_ACCEPT.join(', '));
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_MANIFEST_BYTES) throw new RegistryError(`${this.name}:${reference}: manifest of ${length} bytes is too large`);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = sha256Digest(body);
    if (reference.startsWith('sha256:') && reference !== digest) throw new DigestMismatchError(`manifest ${this.name}@${reference}`, reference, digest);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed?.startsWith('sha256:') && claimed !== digest) throw new DigestMismatchError(`manifest ${this.name}:${reference}`, claimed, digest);
    let doc: FetchedManifest['doc'];
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new RegistryError(`${this.name}:${reference}: manifest is not JSON: ${(err as Error).message}`);
    }
    const header = res.headers.get('content-type')?.split(';')[0]?.trim();
    const mediaType = doc.mediaType ?? (header && header !== 'application/json' ? header : undefined);
    return { digest, mediaType, body, doc };
  }

  async blob(desc: Descriptor, blobs: BlobStore, inflight?: Map<string, Promise<void>>): Promise<void> {
    if (await blobs.has(desc.digest)) return;
    const running = inflight?.get(desc.digest);
    if (running) return running;
    const download = (async () => {
      const res = await this.get(`/blobs/${desc.digest}`);
      if (!res.body) throw new RegistryError(`${this.name}: blob ${desc.digest} came without a body`);
      const stream = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
      await blobs.putStream(stream, desc.digest, `blob ${desc.digest} of ${this.name}`, desc.size);
    })();
    inflight?.set(desc.digest, download);
    try {
      await download;
    } finally {
      inflight?.delete(desc.digest);
    }
  }

  private async get(suffix: string, accept?: string): Promise<Response> {
    const url = this.base + suffix;
    let res = await this.send(url, accept);
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.body?.cancel();
      await this.authenticate(challenge);
      res = await this.send(url, accept);
    }
    if (!res.ok) {
      const text = (await res.text()).slice(0, 500);
      const hint = res.status === 401 || res.status === 403 ? ' (check the image pull credentials)' : '';
      throw new RegistryError(`GET ${url}: ${res.status} ${res.statusText}${hint}: ${text}`, res.status);
    }
    return res;
  }

  private send(url: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (accept) headers.accept = accept;
    if (this.authorization) headers.authorization = this.authorization;
    return fetch(url, { headers, redirect: 'follow' }).catch((err: Error & { cause?: Error }) => {
      throw new RegistryError(`GET ${url}: ${err.cause?.message ?? err.message}`);
    });
  }

  private basicCredentials(): string | undefined {
    if (this.auth.username || this.auth.password) {
      return Buffer.from(`${this.auth.username ?? ''}:${this.auth.password ?? ''}`).toString('base64');
    }
    return this.auth.auth || undefined;
  }

  private async authenticate(challenge: string): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const basic = this.basicCredentials();
    if (scheme === 'basic') {
      if (!basic) throw new RegistryError(`${this.name}: the registry requires credentials (Basic) and none were given`, 401);
      this.authorization = `Basic ${basic}`;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) {
      throw new RegistryError(`${this.name}: unsupported authentication challenge "${challenge}"`, 401);
    }
    const scope = params.scope ?? `repository:${this.path}:pull`;
    let res: Response;
    if (this.auth.identity_token) {
      // OAuth2 refresh-token grant: https://distribution.github.io/distribution/spec/auth/oauth/
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.auth.identity_token, client_id: 'skiff', scope });
      if (params.service) form.set('service', params.service);
      res = await fetch(params.realm, { method: 'POST', body: form });
    } else {
      const url = new URL(params.realm);
      if (params.service) url.searchParams.set('service', params.service);
      url.searchParams.set('scope', scope);
      res = await fetch(url, { headers: basic ? { authorization: `Basic ${basic}` } : {} });
    }
    if (!res.ok) {
      throw new RegistryError(`${this.name}: token server ${params.realm} answered ${res.status}: ${(await res.text()).slice(0, 300)}`, res.status);
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${this.name}: token server ${params.realm} returned no token`);
    this.authorization = `Bearer ${token}`;
  }
}

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params, values may be quoted). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/s.exec(header);
  const params: Record<string, string> = {};
  if (!m) return { scheme: '', params };
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (const p of m[2]!.matchAll(re)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}
