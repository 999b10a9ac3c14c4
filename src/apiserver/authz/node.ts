// What a node's own credentials (user system:node:<name>, group system:nodes) may do: the
// union of kube's Node authorizer and the system:node role, narrowed the way NodeRestriction
// narrows writes: read what every kubelet reads, read secrets/configmaps/claims/volumes only
// through a pod bound to the node, write only its own Node, Lease and pods' status.
// https://kubernetes.io/docs/reference/access-authn-authz/node/
import { ALLOW, type Attributes, type Decision, deny } from './attributes.ts';
import type { NodeGraph } from './node-graph.ts';
import type { RefKind } from './pod-refs.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const READ = ['get', 'list', 'watch'];
/** Read by every node: what kubelet and its proxies watch cluster-wide. */
const READABLE: Record<string, string[]> = {
  '/nodes': READ, '/pods': READ, '/services': READ, '/endpoints': READ,
  'node.k8s.io/runtimeclasses': READ, 'discovery.k8s.io/endpointslices': READ,
  'certificates.k8s.io/certificatesigningrequests': [...READ, 'create'],
  '/events': ['create', 'update', 'patch'], 'events.k8s.io/events': ['create', 'update', 'patch'],
};
/** Readable one object at a time, when a pod bound to the node names it. */
const VIA_POD: Record<string, RefKind> = {
  secrets: 'secret', configmaps: 'configmap', persistentvolumeclaims: 'persistentvolumeclaim', serviceaccounts: 'serviceaccount',
};

const noRelationship = (node: string) => deny(`no relationship found between node '${node}' and this object`);

export async function authorizeNode(node: string, a: Attributes, graph: NodeGraph): Promise<Decision> {
  const gr = `${a.group}/${a.resource}`;
  if (!a.subresource && READABLE[gr]?.includes(a.verb)) return ALLOW;
  if (gr === '/nodes') return ownNode(node, a);
  if (gr === '/pods') return podOfNode(node, a, graph);
  if (gr === 'coordination.k8s.io/leases') return ownLease(node, a);
  if (a.group === '' && a.resource === 'serviceaccounts' && a.subresource === 'token') {
    if (a.verb !== 'create') return deny();
    return (await graph.nodeUses(node, 'serviceaccount', a.namespace, a.name)) ? ALLOW : noRelationship(node);
  }
  if (a.group === '' && (VIA_POD[a.resource] || a.resource === 'persistentvolumes') && !a.subresource) {
    const name = a.verb === 'get' ? a.name : READ.includes(a.verb) ? a.singleName : undefined;
    if (!name) return deny('can only get individual resources of this type');
    const related = a.resource === 'persistentvolumes'
      ? await graph.nodeUsesVolume(node, name)
      : await graph.nodeUses(node, VIA_POD[a.resource]!, a.namespace, name);
    return related ? ALLOW : noRelationship(node);
  }
  return deny();
}

/** Any node may create a Node (admission holds it to its own name); only its own may change or go. */
function ownNode(node: string, a: Attributes): Decision {
  if (a.verb === 'create' && !a.subresource) return ALLOW;
  if (a.subresource && a.subresource !== 'status') return deny();
  if (a.verb === 'get') return ALLOW;
  if (!['update', 'patch'].includes(a.verb) && !(a.verb === 'delete' && !a.subresource)) return deny();
  return a.name === node ? ALLOW : deny(`node '${node}' cannot modify node '${a.name}'`);
}

async function podOfNode(node: string, a: Attributes, graph: NodeGraph): Promise<Decision> {
  // Creating pods: mirror pods of the node's static pods only, which NodeRestriction admission checks.
  if (a.verb === 'create' && !a.subresource) return ALLOW;
  if (a.subresource === 'status' && a.verb === 'get') return ALLOW; // every pod is readable anyway
  const statusWrite = a.subresource === 'status' && ['update', 'patch'].includes(a.verb);
  const ownDelete = !a.subresource && a.verb === 'delete';
  const eviction = a.subresource === 'eviction' && a.verb === 'create';
  if (!statusWrite && !ownDelete && !eviction) return deny();
  const bound = await graph.podNode(a.namespace, a.name);
  // A pod that does not exist: let the handler answer 404 (as kube does for a deleted mirror pod).
  if (bound === undefined || bound === node) return ALLOW;
  return deny(`node '${node}' can only ${a.verb} pods bound to it`);
}

function ownLease(node: string, a: Attributes): Decision {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb) || a.subresource) {
    return deny('can only get, create, update, patch, or delete a node lease');
  }
  if (a.namespace !== NODE_LEASE_NAMESPACE) return deny(`can only access leases in the ${NODE_LEASE_NAMESPACE} namespace`);
  if (a.verb === 'create' && !a.name) return ALLOW; // the body's name is checked by admission
  return a.name === node ? ALLOW : deny('can only access node lease with the same name as the requesting node');
}
