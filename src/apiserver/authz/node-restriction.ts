// kube's NodeRestriction admission plugin, for what only the request body tells: a node may
// create only its own Node and Lease, only mirror pods of its static pods (bound to it, naming
// no secrets, configmaps, claims or service account), and may not set the labels reserved for
// the cluster's administrators (node-restriction.kubernetes.io/).
// https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { errors, qualifiedResource } from '../errors.ts';
import { NODE_LEASE_NAMESPACE } from './node.ts';
import { podRefs } from './pod-refs.ts';

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const RESTRICTED_LABEL_PREFIX = 'node-restriction.kubernetes.io/';

export interface RestrictionAttributes {
  operation: 'create' | 'update';
  r: ResourceInfo;
  obj: KubeObject;
  old?: KubeObject;
  subresource: string;
}

export function admitNodeWrite(node: string, a: RestrictionAttributes): void {
  const gr = `${a.r.group}/${a.r.plural}`;
  const name = a.obj.metadata?.name ?? '';
  const refuse = (why: string) => errors.forbidden(`${qualifiedResource(a.r.group, a.r.plural)} "${name}" is forbidden: ${why}`,
    { name, group: a.r.group || undefined, kind: a.r.plural });
  if (gr === '/nodes') {
    if (name !== node) throw refuse(`node "${node}" is not allowed to modify node "${name}"`);
    const changed = restrictedLabelChanges(a.obj, a.old);
    if (changed.length > 0) throw refuse(`is not allowed to modify labels: ${changed.join(', ')}`);
    return;
  }
  if (gr === 'coordination.k8s.io/leases' && a.operation === 'create') {
    if (a.obj.metadata?.namespace !== NODE_LEASE_NAMESPACE || name !== node) {
      throw refuse('can only access node lease with the same name as the requesting node');
    }
    return;
  }
  if (gr === '/pods' && a.operation === 'create' && !a.subresource) admitMirrorPod(node, a.obj as Pod, refuse);
}

function admitMirrorPod(node: string, pod: Pod, refuse: (why: string) => Error): void {
  if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] === undefined) {
    throw refuse(`pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${node}" can only create mirror pods`);
  }
  if (pod.spec?.nodeName !== node) throw refuse(`node "${node}" can only create pods with spec.nodeName set to itself`);
  if (pod.spec?.serviceAccountName) throw refuse(`node "${node}" can not create pods that reference a service account`);
  const refs = [...podRefs({ ...pod, spec: { ...pod.spec, serviceAccountName: undefined } as Pod['spec'] })]
    .filter((r) => !r.startsWith('serviceaccount/'));
  for (const [prefix, what] of [['secret/', 'secrets'], ['configmap/', 'configmaps'], ['persistentvolumeclaim/', 'persistentvolumeclaims']]) {
    if (refs.some((r) => r.startsWith(prefix!))) throw refuse(`node "${node}" can not create pods that reference ${what}`);
  }
}

function restrictedLabelChanges(obj: KubeObject, old: KubeObject | undefined): string[] {
  const now = obj.metadata?.labels ?? {};
  const before = old?.metadata?.labels ?? {};
  const keys = new Set([...Object.keys(now), ...Object.keys(before)].filter((k) => k.split('/')[0]!.endsWith(RESTRICTED_LABEL_PREFIX.slice(0, -1))));
  return [...keys].filter((k) => now[k] !== before[k]).sort();
}
