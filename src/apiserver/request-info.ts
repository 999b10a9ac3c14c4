// Turns a URL into what the request is about, as kube-apiserver's
// RequestInfoFactory does: resource requests under /api and /apis, anything else
// is a non-resource path (/healthz, /version, /openapi/...).

export interface ResourceRequest {
  kind: 'resource';
  verb: string; // get list watch create update patch delete deletecollection
  apiPrefix: 'api' | 'apis';
  group: string;
  version: string;
  namespace: string; // '' for cluster-scoped or all-namespaces
  resource: string; // plural
  name: string;
  subresource: string;
  query: URLSearchParams;
}

export interface DiscoveryRequest {
  kind: 'discovery';
  path: string; // /api, /apis, /api/v1, /apis/apps, /apis/apps/v1
  apiPrefix: 'api' | 'apis';
  group?: string;
  version?: string;
}

export interface NonResourceRequest {
  kind: 'nonresource';
  path: string;
  query: URLSearchParams;
}

export type RequestInfo = ResourceRequest | DiscoveryRequest | NonResourceRequest;

export function parseRequest(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'http://x');
  const query = url.searchParams;
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[0] !== 'api' && parts[0] !== 'apis') return { kind: 'nonresource', path: url.pathname, query };
  const apiPrefix = parts[0];
  let rest: string[];
  let group = '';
  let version: string;
  if (apiPrefix === 'api') {
    if (parts.length <= 2) return { kind: 'discovery', path: url.pathname, apiPrefix, group: '', version: parts[1] };
    version = parts[1];
    rest = parts.slice(2);
  } else {
    if (parts.length <= 3) return { kind: 'discovery', path: url.pathname, apiPrefix, group: parts[1], version: parts[2] };
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  }
  let watchPath = false;
  // The deprecated /watch/ path prefix still works in Kubernetes.
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  // /namespaces/{ns}/{resource}... ; but /namespaces and /namespaces/{name}[/status|finalize] address namespaces themselves.
  if (rest[0] === 'namespaces' && rest.length >= 3 && group === '' && !['status', 'finalize'].includes(rest[2]) ||
      rest[0] === 'namespaces' && rest.length >= 3 && group !== '') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...extra] = rest;
  if (extra.length > 0 && subresource !== 'proxy') {
    return { kind: 'nonresource', path: url.pathname, query };
  }
  const m = method.toUpperCase();
  let verb: string;
  const watchParam = query.get('watch');
  const watching = watchPath || watchParam === 'true' || watchParam === '1';
  switch (m) {
    case 'GET': case 'HEAD': verb = name ? (watching ? 'watch' : 'get') : (watching ? 'watch' : 'list'); break;
    case 'POST': verb = 'create'; break;
    case 'PUT': verb = 'update'; break;
    case 'PATCH': verb = 'patch'; break;
    case 'DELETE': verb = name ? 'delete' : 'deletecollection'; break;
    default: verb = m.toLowerCase();
  }
  // A watch of a single object by name is a list+watch with a metadata.name field selector.
  if (verb === 'watch' && name) {
    const fs = query.get('fieldSelector');
    query.set('fieldSelector', fs ? `${fs},metadata.name=${name}` : `metadata.name=${name}`);
  }
  return { kind: 'resource', verb, apiPrefix, group, version, namespace, resource, name: verb === 'watch' ? '' : name, subresource, query };
}
