// API discovery: the legacy per-group documents (/api, /apis, /apis/<g>/<v>)
// and the aggregated apidiscovery.k8s.io/v2 documents kubectl asks for first
// (https://github.com/kubernetes/enhancements/tree/master/keps/sig-api-machinery/3352-aggregated-discovery).
import { createHash } from 'node:crypto';
import { BUILTIN_GROUP_ORDER } from '../api/kinds.ts';
import type { ResourceInfo } from '../api/types.ts';
import { apiVersionOf } from '../api/types.ts';

interface GroupVersions {
  name: string;
  versions: string[]; // preferred first
}

function groupsOf(resources: ResourceInfo[]): GroupVersions[] {
  const groups = new Map<string, string[]>();
  for (const r of resources) {
    const vs = groups.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    groups.set(r.group, vs);
  }
  const order = (g: string) => {
    const i = BUILTIN_GROUP_ORDER.indexOf(g);
    return i < 0 ? BUILTIN_GROUP_ORDER.length : i;
  };
  return [...groups.entries()]
    .map(([name, versions]) => ({ name, versions: versions.sort(compareKubeVersions) }))
    .sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name));
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > foo). */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { rank: 0, major: 0, minor: 0, v };
    return { rank: m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, major: Number(m[1]), minor: Number(m[3] ?? 0), v };
  };
  const x = parse(a), y = parse(b);
  if (x.rank !== y.rank) return y.rank - x.rank;
  if (x.rank === 0) return a.localeCompare(b);
  return y.major - x.major || y.minor - x.minor;
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupEntry(g: GroupVersions): object {
  const versions = g.versions.map((version) => ({ groupVersion: `${g.name}/${version}`, version }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

export function apiGroupList(resources: ResourceInfo[]): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsOf(resources).filter((g) => g.name !== '').map(groupEntry),
  };
}

export function apiGroup(resources: ResourceInfo[], group: string): object | undefined {
  const g = groupsOf(resources).find((x) => x.name === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g) } : undefined;
}

function storageVersionHash(r: ResourceInfo): string {
  return createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);
}

const SUBRESOURCE_VERBS: Record<string, { kind: (r: ResourceInfo) => { group: string; version: string; kind: string }; verbs: string[] }> = {
  status: { kind: (r) => ({ group: r.group, version: r.version, kind: r.kind }), verbs: ['get', 'patch', 'update'] },
  scale: { kind: () => ({ group: 'autoscaling', version: 'v1', kind: 'Scale' }), verbs: ['get', 'patch', 'update'] },
  binding: { kind: () => ({ group: '', version: 'v1', kind: 'Binding' }), verbs: ['create'] },
  eviction: { kind: () => ({ group: 'policy', version: 'v1', kind: 'Eviction' }), verbs: ['create'] },
  log: { kind: () => ({ group: '', version: 'v1', kind: 'Pod' }), verbs: ['get'] },
  exec: { kind: () => ({ group: '', version: 'v1', kind: 'PodExecOptions' }), verbs: ['create', 'get'] },
  attach: { kind: () => ({ group: '', version: 'v1', kind: 'PodAttachOptions' }), verbs: ['create', 'get'] },
  portforward: { kind: () => ({ group: '', version: 'v1', kind: 'PodPortForwardOptions' }), verbs: ['create', 'get'] },
  proxy: { kind: (r) => ({ group: '', version: 'v1', kind: r.kind === 'Pod' ? 'PodProxyOptions' : r.kind === 'Node' ? 'NodeProxyOptions' : 'ServiceProxyOptions' }),
    verbs: ['create', 'delete', 'get', 'patch', 'update'] },
  finalize: { kind: (r) => ({ group: r.group, version: r.version, kind: r.kind }), verbs: ['update'] },
  approval: { kind: (r) => ({ group: r.group, version: r.version, kind: r.kind }), verbs: ['get', 'patch', 'update'] },
  token: { kind: () => ({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }), verbs: ['create'] },
  ephemeralcontainers: { kind: (r) => ({ group: r.group, version: r.version, kind: r.kind }), verbs: ['get', 'patch', 'update'] },
};

export function apiResourceList(resources: ResourceInfo[], group: string, version: string): object | undefined {
  const inGv = resources.filter((r) => r.group === group && r.version === version);
  if (inGv.length === 0) return undefined;
  const list: object[] = [];
  for (const r of inGv) {
    list.push({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
      storageVersionHash: storageVersionHash(r),
    });
    for (const sub of r.subresources) {
      const s = SUBRESOURCE_VERBS[sub];
      if (!s) continue;
      const k = s.kind(r);
      list.push({ name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced,
        // Another group version's kind (Scale, Eviction) names both, as kube's GroupVersionKindProvider storages do.
        ...(k.group !== r.group || k.version !== r.version ? { group: k.group, version: k.version } : {}),
        kind: k.kind, verbs: s.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources: list };
}

/** apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (core only) or /apis (everything else). */
export function aggregatedDiscovery(resources: ResourceInfo[], prefix: 'api' | 'apis', apiVersion: string): object {
  const groups = groupsOf(resources).filter((g) => (prefix === 'api') === (g.name === ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.name, creationTimestamp: null },
      versions: g.versions.map((version) => ({
        version,
        resources: resources.filter((r) => r.group === g.name && r.version === version).map((r) => ({
          resource: r.plural,
          responseKind: { group: r.group, version: r.version, kind: r.kind },
          scope: r.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: r.singular,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
          ...(r.subresources.length ? {
            subresources: r.subresources.filter((s) => SUBRESOURCE_VERBS[s]).map((s) => ({
              subresource: s, responseKind: SUBRESOURCE_VERBS[s].kind(r), verbs: SUBRESOURCE_VERBS[s].verbs,
            })),
          } : {}),
        })),
        freshness: 'Current',
      })),
    })),
  };
}
