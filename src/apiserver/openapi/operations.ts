// The REST operations kube-apiserver publishes for each resource, in a neutral
// form that the Swagger 2.0 (/openapi/v2) and OpenAPI 3.0 (/openapi/v3)
// renderers both turn into paths. Paths, operation ids, x-kubernetes-action
// values and query parameters follow kube-apiserver's installer
// (k8s.io/apiserver/pkg/endpoints/installer.go), as published in
// https://github.com/kubernetes/kubernetes/tree/master/api/openapi-spec.
import type { ResourceInfo } from '../../api/types.ts';

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

export interface Param {
  name: string;
  in: 'query' | 'path';
  type: 'string' | 'boolean' | 'integer';
  description: string;
  required?: boolean;
}

export interface Response {
  code: string;
  description: string;
  /** Definition name of the body, if any; '' for a plain string body. */
  schema?: string;
}

export interface Operation {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  operationId: string;
  description: string;
  action?: string; // x-kubernetes-action (absent on discovery documents)
  gvk?: { group: string; version: string; kind: string };
  params: Param[];
  /** Definition name of the request body. */
  body?: string;
  consumes: string[];
  produces: string[];
  responses: Response[];
  tag: string;
}

export interface PathItem {
  path: string;
  params: Param[];
  operations: Operation[];
}

/** Resolves the definition name of a kind; the caller decides how CRD kinds are named. */
export type KindNamer = (group: string, version: string, kind: string) => string;

const q = (name: string, type: Param['type'], description: string): Param => ({ name, in: 'query', type, description });

export const PARAMS = {
  pretty: q('pretty', 'string', "If 'true', then the output is pretty printed."),
  dryRun: q('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: q('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes. Required for apply requests (application/apply-patch).'),
  // kubectl looks for this parameter on the PATCH operation of a kind to decide
  // that the server validates fields itself (--validate=strict), see
  // k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go.
  fieldValidation: q('fieldValidation', 'string', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: unknown fields are silently dropped and all but the last duplicate field are ignored. - Warn: a warning is sent for each unknown or duplicate field; the request still succeeds. This is the default. - Strict: the request fails with a BadRequest error if any unknown or duplicate fields are present.'),
  force: q('force', 'boolean', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted. Zero means delete immediately. If unset, the default grace period for the specified type is used.'),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated: please use the PropagationPolicy. Should the dependent objects be orphaned.'),
  propagationPolicy: q('propagationPolicy', 'string', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  ignoreStoreReadError: q('ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean', 'if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers may ignore it.'),
  continue: q('continue', 'string', 'The continue option should be set when retrieving more results from the server, with the value of the continue field of the previous list.'),
  fieldSelector: q('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  labelSelector: q('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: q('limit', 'integer', 'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata.'),
  resourceVersion: q('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.'),
  resourceVersionMatch: q('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  sendInitialEvents: q('sendInitialEvents', 'boolean', '`sendInitialEvents=true` may be set together with `watch=true`: the watch stream begins with synthetic events for the current state of the objects.'),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.'),
  watch: q('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.'),
} satisfies Record<string, Param>;

const P = PARAMS;
const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion,
  P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.ignoreStoreReadError, P.orphanDependents, P.propagationPolicy];
const DELETE_COLLECTION_PARAMS = [P.continue, P.dryRun, P.fieldSelector, P.gracePeriodSeconds, P.ignoreStoreReadError,
  P.labelSelector, P.limit, P.orphanDependents, P.propagationPolicy, P.resourceVersion, P.resourceVersionMatch,
  P.sendInitialEvents, P.timeoutSeconds];

const pathParam = (name: string, description: string): Param => ({ name, in: 'path', type: 'string', description, required: true });
const NAMESPACE = pathParam('namespace', 'object name and auth scope, such as for teams and projects');

const JSON_YAML = ['application/json', 'application/yaml'];
const WATCH_PRODUCES = ['application/json', 'application/yaml', 'application/json;stream=watch'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
const STRATEGIC = 'application/strategic-merge-patch+json';

/** 'apps' -> 'Apps', 'coordination.k8s.io' -> 'Coordination', '' -> 'Core', 'stable.example.com' -> 'StableExampleCom'. */
export function groupIdentifier(group: string): string {
  if (!group) return 'Core';
  return group.replace(/\.k8s\.io$/, '').split(/[.-]/).map(capitalize).join('');
}

/** The tag of a group's operations: 'core', 'apps', 'coordination', 'stable_example_com'. */
export function groupTag(group: string): string {
  return group ? group.replace(/\.k8s\.io$/, '').replace(/[.-]/g, '_') : 'core';
}

export function groupVersionTag(group: string, version: string): string {
  return `${groupTag(group)}_${version}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** '/api/v1' or '/apis/<group>/<version>'. */
export function groupVersionPrefix(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

const ok = (schema: string): Response => ({ code: '200', description: 'OK', schema });
const created = (schema: string): Response => ({ code: '201', description: 'Created', schema });
const accepted = (schema: string): Response => ({ code: '202', description: 'Accepted', schema });
const UNAUTHORIZED: Response = { code: '401', description: 'Unauthorized' };

/** Subresources that read and write the parent object (or another kind) with get/put/patch. */
const OBJECT_SUBRESOURCES: Record<string, { methods: ('get' | 'put' | 'patch')[]; kind?: { group: string; version: string; kind: string } }> = {
  status: { methods: ['get', 'put', 'patch'] },
  scale: { methods: ['get', 'put', 'patch'], kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } },
  ephemeralcontainers: { methods: ['get', 'put', 'patch'] },
  finalize: { methods: ['put'] },
  approval: { methods: ['get', 'put', 'patch'] },
};
/** Subresources that take a POST of another kind. */
const CREATE_SUBRESOURCES: Record<string, { group: string; version: string; kind: string }> = {
  binding: { group: '', version: 'v1', kind: 'Binding' },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction' },
  token: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
};

/** The paths of one resource, with every definition the operations name. */
export function resourcePaths(r: ResourceInfo, nameOf: KindNamer): PathItem[] {
  const G = groupIdentifier(r.group) + capitalize(r.version);
  const ns = r.namespaced ? 'Namespaced' : '';
  const prefix = groupVersionPrefix(r.group, r.version);
  const scoped = r.namespaced ? `${prefix}/namespaces/{namespace}` : prefix;
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const kindDef = nameOf(r.group, r.version, r.kind);
  const listDef = nameOf(r.group, r.version, r.listKind);
  const status = META + 'Status';
  const tag = groupVersionTag(r.group, r.version);
  const can = (verb: string) => r.verbs.includes(verb);
  const consumesPatch = r.custom ? PATCH_TYPES : [...PATCH_TYPES.slice(0, 2), STRATEGIC, PATCH_TYPES[2]!];
  const base = { gvk, tag, consumes: ['*/*'], produces: JSON_YAML };
  const scopeParams = r.namespaced ? [NAMESPACE] : [];
  const nameParam = pathParam('name', `name of the ${r.kind}`);
  const items: PathItem[] = [];

  const collection: Operation[] = [];
  if (can('list')) {
    collection.push({ ...base, method: 'get', operationId: `list${G}${ns}${r.kind}`, action: 'list',
      description: `list or watch objects of kind ${r.kind}`, params: LIST_PARAMS, produces: WATCH_PRODUCES,
      responses: [ok(listDef), UNAUTHORIZED] });
  }
  if (can('create')) {
    collection.push({ ...base, method: 'post', operationId: `create${G}${ns}${r.kind}`, action: 'post',
      description: `create a ${r.kind}`, params: WRITE_PARAMS, body: kindDef,
      responses: [ok(kindDef), created(kindDef), accepted(kindDef), UNAUTHORIZED] });
  }
  if (can('deletecollection')) {
    collection.push({ ...base, method: 'delete', operationId: `delete${G}Collection${ns}${r.kind}`, action: 'deletecollection',
      description: `delete collection of ${r.kind}`, params: DELETE_COLLECTION_PARAMS, body: META + 'DeleteOptions',
      responses: [ok(status), UNAUTHORIZED] });
  }
  if (collection.length) items.push({ path: `${scoped}/${r.plural}`, params: [...scopeParams, P.pretty], operations: collection });

  const item: Operation[] = [];
  if (can('get')) {
    item.push({ ...base, method: 'get', operationId: `read${G}${ns}${r.kind}`, action: 'get',
      description: `read the specified ${r.kind}`, params: [], responses: [ok(kindDef), UNAUTHORIZED] });
  }
  if (can('update')) {
    item.push({ ...base, method: 'put', operationId: `replace${G}${ns}${r.kind}`, action: 'put',
      description: `replace the specified ${r.kind}`, params: WRITE_PARAMS, body: kindDef,
      responses: [ok(kindDef), created(kindDef), UNAUTHORIZED] });
  }
  if (can('patch')) {
    item.push({ ...base, method: 'patch', operationId: `patch${G}${ns}${r.kind}`, action: 'patch',
      description: `partially update the specified ${r.kind}`, params: [...WRITE_PARAMS, P.force], body: META + 'Patch',
      consumes: consumesPatch, responses: [ok(kindDef), created(kindDef), UNAUTHORIZED] });
  }
  if (can('delete')) {
    item.push({ ...base, method: 'delete', operationId: `delete${G}${ns}${r.kind}`, action: 'delete',
      description: `delete a ${r.kind}`, params: DELETE_PARAMS, body: META + 'DeleteOptions',
      responses: [ok(status), accepted(status), UNAUTHORIZED] });
  }
  const itemPath = `${scoped}/${r.plural}/{name}`;
  const itemParams = [nameParam, ...scopeParams, P.pretty];
  if (item.length) items.push({ path: itemPath, params: itemParams, operations: item });

  for (const sub of r.subresources) {
    const suffix = capitalize(sub);
    const objectSub = OBJECT_SUBRESOURCES[sub];
    if (objectSub) {
      const subGvk = objectSub.kind ?? gvk;
      const def = nameOf(subGvk.group, subGvk.version, subGvk.kind);
      const ops: Operation[] = objectSub.methods.map((method) => {
        const what = `${method === 'get' ? 'read' : method === 'put' ? 'replace' : 'partially update'} ${sub} of the specified ${r.kind}`;
        const verb = method === 'get' ? 'read' : method === 'put' ? 'replace' : 'patch';
        return {
          ...base, gvk: subGvk, method, operationId: `${verb}${G}${ns}${r.kind}${suffix}`, description: what,
          action: method,
          params: method === 'get' ? [] : method === 'put' ? WRITE_PARAMS : [...WRITE_PARAMS, P.force],
          body: method === 'get' ? undefined : method === 'put' ? def : META + 'Patch',
          consumes: method === 'patch' ? consumesPatch : ['*/*'],
          responses: method === 'get' ? [ok(def), UNAUTHORIZED] : [ok(def), created(def), UNAUTHORIZED],
        };
      });
      items.push({ path: `${itemPath}/${sub}`, params: itemParams, operations: ops });
      continue;
    }
    const createSub = CREATE_SUBRESOURCES[sub];
    if (createSub) {
      const def = nameOf(createSub.group, createSub.version, createSub.kind);
      items.push({ path: `${itemPath}/${sub}`, params: itemParams, operations: [{
        ...base, gvk: createSub, method: 'post', operationId: `create${G}${ns}${r.kind}${suffix}`, action: 'post',
        description: `create ${sub} of a ${r.kind}`, params: WRITE_PARAMS, body: def,
        responses: [ok(def), created(def), accepted(def), UNAUTHORIZED],
      }] });
    } else if (sub === 'log') {
      items.push({ path: `${itemPath}/log`, params: itemParams, operations: [{
        ...base, method: 'get', operationId: `read${G}${ns}${r.kind}Log`, action: 'get', description: `read log of the specified ${r.kind}`,
        params: [q('container', 'string', 'The container for which to stream logs.'), q('follow', 'boolean', 'Follow the log stream of the pod.'),
          q('previous', 'boolean', 'Return previous terminated container logs.'), q('sinceSeconds', 'integer', 'Only return logs newer than this many seconds.'),
          q('tailLines', 'integer', 'The number of lines from the end of the logs to show.'), q('timestamps', 'boolean', 'Prefix every line of log output with an RFC3339 timestamp.')],
        produces: ['text/plain', 'application/json', 'application/yaml'], responses: [{ code: '200', description: 'OK', schema: '' }, UNAUTHORIZED],
      }] });
    }
    // exec, attach, portforward and proxy are streaming "connect" endpoints; kubectl never reads them from OpenAPI.
  }

  if (can('watch')) {
    const watchEvent = META + 'WatchEvent';
    const watch = (path: string, params: Param[], operationId: string, action: string, description: string): PathItem => ({
      path, params: [...params, ...LIST_PARAMS, P.pretty], operations: [{ ...base, method: 'get', operationId, action,
        description, params: [], produces: WATCH_PRODUCES, responses: [ok(watchEvent), UNAUTHORIZED] }] });
    const watchScoped = r.namespaced ? `${prefix}/watch/namespaces/{namespace}` : `${prefix}/watch`;
    items.push(watch(`${watchScoped}/${r.plural}`, scopeParams, `watch${G}${ns}${r.kind}List`, 'watchlist',
      `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`));
    items.push(watch(`${watchScoped}/${r.plural}/{name}`, [nameParam, ...scopeParams], `watch${G}${ns}${r.kind}`, 'watch',
      `watch changes to an object of kind ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`));
    if (r.namespaced) {
      items.push(watch(`${prefix}/watch/${r.plural}`, [], `watch${G}${r.kind}ListForAllNamespaces`, 'watchlist',
        `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`));
    }
  }
  if (r.namespaced && can('list')) {
    items.push({ path: `${prefix}/${r.plural}`, params: [...LIST_PARAMS, P.pretty], operations: [{
      ...base, method: 'get', operationId: `list${G}${r.kind}ForAllNamespaces`, action: 'list',
      description: `list or watch objects of kind ${r.kind}`, params: [], produces: WATCH_PRODUCES,
      responses: [ok(listDef), UNAUTHORIZED] }] });
  }
  return items;
}

/** Every definition an operation names (bodies and responses). */
export function definitionsUsed(items: PathItem[]): Set<string> {
  const names = new Set<string>();
  for (const item of items) {
    for (const op of item.operations) {
      if (op.body) names.add(op.body);
      for (const res of op.responses) if (res.schema) names.add(res.schema);
    }
  }
  return names;
}

/** GET of a discovery document: /api/, /apis/, /apis/<group>/ and /api/v1/ or /apis/<group>/<version>/. */
export function discoveryPath(path: string, operationId: string, definition: string, tag: string): PathItem {
  return { path, params: [], operations: [{
    method: 'get', operationId, description: 'get available resources', params: [], consumes: JSON_YAML, produces: JSON_YAML,
    responses: [ok(META + definition), UNAUTHORIZED], tag,
  }] };
}
