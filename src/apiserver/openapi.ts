// The OpenAPI documents of the served resources: /openapi/v2 (Swagger 2.0,
// served to kubectl as gnostic protobuf), the /openapi/v3 index and the
// per-group-version /openapi/v3/<path> documents. kubectl uses them for
// `kubectl explain`, for client-side apply's patch merge keys and to learn that
// the server validates fields itself (the fieldValidation parameter).
// See https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition
import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../api/types.ts';
import type { Schema, SchemaResolver } from '../api/schema/types.ts';
import type { KindSchemaResolver } from '../api/schema/resolver.ts';
import { crdDefinitionName, createSchemaResolver } from '../api/schema/resolver.ts';
import { discoveryPath, groupIdentifier, groupTag, groupVersionPrefix, groupVersionTag, definitionsUsed, resourcePaths } from './openapi/operations.ts';
import type { PathItem } from './openapi/operations.ts';
import { collectDefinitions, listSchema, openSchema } from './openapi/schemas.ts';
import { renderV2, renderV3 } from './openapi/render.ts';
import { encodeDocument } from './openapi/protobuf.ts';

/**
 * What the builders need of a resolver. createSchemaResolver()'s resolver also
 * names kinds' definitions and counts its changes; with a plain SchemaResolver,
 * kinds are published under CRD-style names and changes to the schemas of an
 * unchanged resource set are not noticed.
 */
export type OpenAPISchemaSource = SchemaResolver & Partial<Pick<KindSchemaResolver, 'definitionNameOf' | 'generation'>>;

/** What kubectl sends in Accept for /openapi/v2. */
export const OPENAPI_V2_PROTOBUF_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/**
 * The Content-Type to answer with: kube-openapi answers the '@' form with this
 * one, and Go's mime parser (client-go) rejects the '@' form in a response.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** All documents of one resource set, built on first use and kept until the set or the resolver changes. */
export class OpenAPIDocuments {
  private readonly resources: ResourceInfo[];
  private readonly source: OpenAPISchemaSource;
  /** Schemas kube-apiserver makes up for CRDs: list kinds, and kinds without a schema. */
  private readonly synthesized = new Map<string, Schema>();
  private readonly itemsByPath = new Map<string, PathItem[]>();
  private v2Doc?: object;
  private v2Bytes?: Uint8Array;
  private readonly v3Docs = new Map<string, { doc: object; json: string; hash: string }>();

  constructor(resources: ResourceInfo[], source: OpenAPISchemaSource) {
    this.resources = resources;
    this.source = source;
    this.synthesizeCustomSchemas();
    for (const r of resources) {
      const prefix = groupVersionPrefix(r.group, r.version).slice(1);
      const tag = groupVersionTag(r.group, r.version);
      if (!this.itemsByPath.has(prefix)) {
        const id = `get${groupIdentifier(r.group)}${r.version.charAt(0).toUpperCase()}${r.version.slice(1)}APIResources`;
        this.itemsByPath.set(prefix, [discoveryPath(`/${prefix}/`, id, 'APIResourceList', tag)]);
      }
      this.itemsByPath.get(prefix)!.push(...resourcePaths(r, this.nameOf));
      const groupPath = r.group ? `apis/${r.group}` : 'api';
      if (!this.itemsByPath.has(groupPath)) {
        this.itemsByPath.set(groupPath, [r.group
          ? discoveryPath(`/apis/${r.group}/`, `get${groupIdentifier(r.group)}APIGroup`, 'APIGroup', groupTag(r.group))
          : discoveryPath('/api/', 'getCoreAPIVersions', 'APIVersions', 'core')]);
      }
    }
    if (!this.itemsByPath.has('apis')) this.itemsByPath.set('apis', [discoveryPath('/apis/', 'getAPIVersions', 'APIGroupList', 'apis')]);
  }

  private readonly nameOf = (group: string, version: string, kind: string): string =>
    this.source.definitionNameOf?.(group, version, kind) ?? crdDefinitionName(group, version, kind);

  private readonly lookup = (name: string): Schema | undefined => this.synthesized.get(name) ?? this.source.definition(name);

  private synthesizeCustomSchemas(): void {
    const ensure = (group: string, version: string, kind: string, make: () => Schema): string => {
      const name = this.nameOf(group, version, kind);
      if (!this.lookup(name)) this.synthesized.set(name, this.source.forKind(group, version, kind) ?? make());
      return name;
    };
    ensure('autoscaling', 'v1', 'Scale', () => openSchema('autoscaling', 'v1', 'Scale'));
    for (const r of this.resources) {
      const kindName = ensure(r.group, r.version, r.kind, () => openSchema(r.group, r.version, r.kind));
      ensure(r.group, r.version, r.listKind, () => listSchema(kindName, r.group, r.version, r.listKind, r.kind));
    }
  }

  /** The Swagger 2.0 document of every served path. */
  v2(): object {
    if (!this.v2Doc) {
      const items = [...this.itemsByPath.values()].flat();
      this.v2Doc = renderV2(items, collectDefinitions(definitionsUsed(items), this.lookup));
    }
    return this.v2Doc;
  }

  /** The v2 document as gnostic protobuf, what kubectl reads. */
  v2Protobuf(): Uint8Array {
    this.v2Bytes ??= encodeDocument(this.v2());
    return this.v2Bytes;
  }

  /** The paths served under /openapi/v3/: 'api', 'api/v1', 'apis', 'apis/apps', 'apis/apps/v1', ... */
  v3Paths(): string[] {
    return [...this.itemsByPath.keys()].sort();
  }

  private v3Entry(path: string) {
    let entry = this.v3Docs.get(path);
    const items = this.itemsByPath.get(path);
    if (!entry && items) {
      const doc = renderV3(items, collectDefinitions(definitionsUsed(items), this.lookup));
      const json = JSON.stringify(doc);
      // kubectl caches /openapi/v3/<path>?hash=<hash> forever, so the hash must follow the content.
      entry = { doc, json, hash: createHash('sha512').update(json).digest('hex').toUpperCase() };
      this.v3Docs.set(path, entry);
    }
    return entry;
  }

  /** The OpenAPI 3.0 document of one path ('api/v1', 'apis/apps/v1', ...), undefined if not served. */
  v3(path: string): object | undefined {
    return this.v3Entry(path)?.doc;
  }

  /** v3(path) serialized, for serving without re-serializing. */
  v3Json(path: string): string | undefined {
    return this.v3Entry(path)?.json;
  }

  /** The content hash of v3(path), as in the index's serverRelativeURL. */
  v3Hash(path: string): string | undefined {
    return this.v3Entry(path)?.hash;
  }

  /** The /openapi/v3 index: { paths: { 'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=...' } } }. */
  v3Discovery(): object {
    return {
      paths: Object.fromEntries(this.v3Paths().map((p) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${this.v3Hash(p)}` }])),
    };
  }
}

const cache = new WeakMap<OpenAPISchemaSource, { key: string; docs: OpenAPIDocuments }>();

/**
 * The documents of a resource set, cached: the same set (by content) and an
 * unchanged resolver give the same, already built, documents. Only the latest
 * set is kept per resolver.
 */
export function openAPIDocuments(resources: ResourceInfo[], resolver: OpenAPISchemaSource): OpenAPIDocuments {
  lastResolver = resolver;
  const key = `${resolver.generation ?? 0}|${JSON.stringify(resources)}`;
  const hit = cache.get(resolver);
  if (hit?.key === key) return hit.docs;
  const docs = new OpenAPIDocuments(resources, resolver);
  cache.set(resolver, { key, docs });
  return docs;
}

export function buildOpenAPIv2(resources: ResourceInfo[], resolver: OpenAPISchemaSource): object {
  return openAPIDocuments(resources, resolver).v2();
}

const encoded = new WeakMap<object, Uint8Array>();

/** The gnostic openapi.v2.Document protobuf of a Swagger 2.0 document. */
export function encodeOpenAPIv2Protobuf(doc: object): Uint8Array {
  let bytes = encoded.get(doc);
  if (!bytes) {
    bytes = encodeDocument(doc);
    encoded.set(doc, bytes);
  }
  return bytes;
}

let lastResolver: OpenAPISchemaSource | undefined;

/**
 * The /openapi/v3 index. Its hashes are those of the documents, which depend
 * on the resolver: pass the one the documents are built with. Without one, the
 * resolver of the last build is used (else the built-in definitions alone).
 */
export function buildOpenAPIv3Discovery(resources: ResourceInfo[], resolver?: OpenAPISchemaSource): object {
  lastResolver = resolver ?? lastResolver ?? createSchemaResolver();
  return openAPIDocuments(resources, lastResolver).v3Discovery();
}

/** The document at /openapi/v3/<groupVersionPath> ('api/v1', 'apis/apps/v1', 'api', 'apis', 'apis/apps'), or undefined (404). */
export function buildOpenAPIv3(groupVersionPath: string, resources: ResourceInfo[], resolver: OpenAPISchemaSource): object | undefined {
  return openAPIDocuments(resources, resolver).v3(groupVersionPath.replace(/^\/+|\/+$/g, ''));
}
