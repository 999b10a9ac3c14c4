// Who may do what. Skiff's authorizer chain, in kube-apiserver's order of concerns:
//   system:masters          → everything
//   nodes (system:node:<n>) → Node authorizer + NodeRestriction (node.ts, node-restriction.ts)
//   bootstrappers           → ask for node credentials: CertificateSigningRequests only
//   anonymous               → the kube-public/cluster-info ConfigMap (as kubeadm grants it), health and version
//   any other authenticated user → everything, for now: RBAC (roles and bindings) is a later issue,
//                              and until then this branch is what every token in tokens.json and
//                              every service account gets.
// https://kubernetes.io/docs/reference/access-authn-authz/authorization/
import type { Store } from '../../store/store.ts';
import type { UserInfo } from '../auth.ts';
import type { UserAdmission } from '../registry/admission.ts';
import { isCsr, stampCsrRequester } from '../registry/csr.ts';
import type { ResourceRequest } from '../request-info.ts';
import { ALLOW, attributesOf, type Attributes, type Decision, deny, forbidden } from './attributes.ts';
import { authorizeNode } from './node.ts';
import { NodeGraph } from './node-graph.ts';
import { admitNodeWrite } from './node-restriction.ts';

export const MASTERS_GROUP = 'system:masters';
export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
export const CLUSTER_INFO = { namespace: 'kube-public', name: 'cluster-info' } as const;

/** The node a user acts as (kube's NodeIdentifier: user system:node:<name> in group system:nodes), or undefined. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.username.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  const name = user.username.slice(NODE_USER_PREFIX.length);
  return name || undefined;
}

/** Requests anyone may make without credentials, beyond /healthz, /livez, /readyz and /version. */
export function anonymousAllowed(info: ResourceRequest | Attributes): boolean {
  return info.group === '' && info.resource === 'configmaps' && info.verb === 'get' && !info.subresource &&
    info.namespace === CLUSTER_INFO.namespace && info.name === CLUSTER_INFO.name;
}

export class Authorizer {
  #graph: NodeGraph;

  constructor(store: Store) {
    this.#graph = new NodeGraph(store);
  }

  /** Throws a 403 ApiError worded like kube-apiserver's when `user` may not make this resource request. */
  async authorize(user: UserInfo, info: ResourceRequest): Promise<void> {
    const a = attributesOf(info);
    const d = await this.decide(user, a);
    if (!d.allowed) throw forbidden(user, a, d.reason);
  }

  async decide(user: UserInfo, a: Attributes): Promise<Decision> {
    if (user.groups.includes(MASTERS_GROUP)) return ALLOW;
    if (user.groups.includes('system:unauthenticated')) return anonymousAllowed(a) ? ALLOW : deny();
    // Everyone may ask who they are (kube's system:basic-user role).
    if (a.group === 'authentication.k8s.io' && a.resource === 'selfsubjectreviews' && a.verb === 'create') return ALLOW;
    const node = nodeNameOf(user);
    if (node !== undefined) return authorizeNode(node, a, this.#graph);
    if (user.groups.includes(BOOTSTRAPPERS_GROUP)) {
      // kubeadm's system:node-bootstrapper role: create and read CSRs, nothing else.
      const csr = a.group === 'certificates.k8s.io' && a.resource === 'certificatesigningrequests' && !a.subresource;
      return csr && ['create', 'get', 'list', 'watch'].includes(a.verb) ? ALLOW : deny();
    }
    return ALLOW; // RBAC is a later issue: until then every other authenticated user may do everything.
  }

  /** Admission that depends on the writer: a CSR records its requester; nodes are held to their own objects. */
  readonly admit: UserAdmission = ({ operation, r, obj, old, subresource, user }) => {
    if (operation === 'create' && isCsr(r)) stampCsrRequester(obj, user);
    if (user.groups.includes(MASTERS_GROUP)) return;
    const node = nodeNameOf(user);
    if (node !== undefined) admitNodeWrite(node, { operation, r, obj, old, subresource });
  };

  stop(): void {
    this.#graph.stop();
  }
}
