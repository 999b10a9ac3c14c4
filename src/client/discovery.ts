// Discovery as client-go's ServerPreferredResources does it: every resource the
// API server serves, each once, in its group's preferred version that serves it.
// The namespace controller (all namespaced content) and the garbage collector
// (everything that can own or be owned) use it.
import type { APIGroupList, APIResourceList } from 'kubernetes-types/meta/v1.d.ts';
import type { ResourceRef } from './resources.ts';
import type { RestClient } from './rest.ts';

/** A resource as discovery lists it: where it is, its kind and what can be done to it. */
export interface ApiResource extends ResourceRef {
  kind: string;
  verbs: string[];
}

export interface Discovery {
  /** One entry per group and resource, in the group's preferred version that serves it. */
  resources: ApiResource[];
  /** "group/version" → why it could not be read. */
  failed: Map<string, string>;
}

/** Every resource the API serves, as client-go's ServerPreferredResources finds them. */
export async function discoverResources(client: RestClient): Promise<Discovery> {
  const failed = new Map<string, string>();
  const groups: { group: string; versions: string[] }[] = [{ group: '', versions: ['v1'] }];
  const list = await client.call<APIGroupList>('GET', '/apis');
  for (const g of list.groups ?? []) {
    const preferred = g.preferredVersion?.version;
    const versions = g.versions.map((v) => v.version);
    groups.push({ group: g.name, versions: preferred ? [preferred, ...versions.filter((v) => v !== preferred)] : versions });
  }
  const perGroup = await Promise.all(groups.map(async ({ group, versions }) => {
    const out: ApiResource[] = [];
    const seen = new Set<string>();
    for (const version of versions) {
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      let rl: APIResourceList;
      try {
        rl = await client.call<APIResourceList>('GET', path);
      } catch (e) {
        failed.set(group ? `${group}/${version}` : version, (e as Error).message);
        continue;
      }
      for (const r of rl.resources) {
        if (r.name.includes('/') || seen.has(r.name)) continue; // subresources; served by a more preferred version
        seen.add(r.name);
        out.push({ group, version, plural: r.name, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs });
      }
    }
    return out;
  }));
  return { resources: perGroup.flat(), failed };
}
