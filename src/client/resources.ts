// Which resource a call addresses: group, version, plural and scope. The
// built-in catalog is the API server's own (BUILTIN_RESOURCES); custom resources
// are described inline ({ group: 'example.com', version: 'v1', plural: 'widgets', namespaced: true }).
import { BUILTIN_RESOURCES } from '../api/kinds.ts';
import type { ResourceInfo } from '../api/types.ts';

export interface ResourceRef {
  group: string; // '' for core
  version: string;
  plural: string;
  namespaced: boolean;
  /** Kind of the objects (used to fill apiVersion/kind on writes when missing). */
  kind?: string;
}

const byName = new Map<string, ResourceInfo>();
for (const r of BUILTIN_RESOURCES) {
  // "pods", "deployments.apps", "events.events.k8s.io": the names kubectl accepts as resource.group.
  const full = r.group ? `${r.plural}.${r.group}` : r.plural;
  byName.set(full, r);
  if (!byName.has(r.plural)) byName.set(r.plural, r); // core wins for "events"
  if (!byName.has(r.kind)) byName.set(r.kind, r);
}

/**
 * A built-in resource by kubectl-style name: plural ("pods"), plural.group
 * ("deployments.apps", "leases.coordination.k8s.io") or Kind ("Deployment").
 */
export function builtin(name: string): ResourceInfo {
  const r = byName.get(name);
  if (!r) throw new Error(`unknown built-in resource "${name}" (use plural, plural.group or Kind)`);
  return r;
}

/** Common built-ins by name, for controllers: R.pods, R.deployments, R.leases, ... */
export const R = {
  namespaces: builtin('namespaces'),
  pods: builtin('pods'),
  services: builtin('services'),
  endpoints: builtin('endpoints'),
  configmaps: builtin('configmaps'),
  secrets: builtin('secrets'),
  serviceaccounts: builtin('serviceaccounts'),
  nodes: builtin('nodes'),
  events: builtin('events'),
  persistentvolumes: builtin('persistentvolumes'),
  persistentvolumeclaims: builtin('persistentvolumeclaims'),
  deployments: builtin('deployments.apps'),
  replicasets: builtin('replicasets.apps'),
  statefulsets: builtin('statefulsets.apps'),
  daemonsets: builtin('daemonsets.apps'),
  controllerrevisions: builtin('controllerrevisions.apps'),
  jobs: builtin('jobs.batch'),
  cronjobs: builtin('cronjobs.batch'),
  leases: builtin('leases.coordination.k8s.io'),
  certificatesigningrequests: builtin('certificatesigningrequests.certificates.k8s.io'),
  endpointslices: builtin('endpointslices.discovery.k8s.io'),
  priorityclasses: builtin('priorityclasses.scheduling.k8s.io'),
  customresourcedefinitions: builtin('customresourcedefinitions.apiextensions.k8s.io'),
} as const;

export function apiVersionFor(r: ResourceRef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** "/api/v1" or "/apis/<group>/<version>". */
export function groupVersionPath(r: ResourceRef): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** Collection path, optionally in a namespace; cluster-wide for a namespaced resource when namespace is undefined. */
export function resourcePath(r: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let p = groupVersionPath(r);
  if (r.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) {
    if (!name) throw new Error(`${r.plural}: empty name`);
    p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
  }
  return p;
}
