// Two per-namespace controllers of kube-controller-manager that give every
// namespace what its pods expect to find there:
// - serviceaccount: the `default` ServiceAccount (recreated if deleted),
//   pkg/controller/serviceaccount/serviceaccounts_controller.go;
// - root-ca-cert-publisher: the `kube-root-ca.crt` ConfigMap holding the
//   cluster CA, which projected service account volumes mount as ca.crt,
//   pkg/controller/certificates/rootcacertpublisher.
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/
import type { ConfigMap, Namespace, ServiceAccount } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { Controller, isAlreadyExists, isConflict, isNotFound, R, type ResourceRef, type SharedInformer } from '../client/index.ts';
import type { ControllerContext, ControllerDefinition } from './context.ts';
import { cloneJson } from '../api/json-clone.ts';

/** The ServiceAccounts every namespace gets (kube-controller-manager's default list). */
const SERVICE_ACCOUNTS = ['default'];
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the ' +
  'internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export const definition: ControllerDefinition = {
  name: 'serviceaccount',
  start(ctx) {
    const namespaces = ctx.informers.informerFor<Namespace>(R.namespaces);
    const accounts = ctx.informers.informerFor<ServiceAccount>(R.serviceaccounts);
    const c = new Controller('serviceaccount', [namespaces], async (ns) => {
      if (!isActive(namespaces, ns)) return;
      for (const name of SERVICE_ACCOUNTS) {
        if (accounts.getByName(name, ns)) continue;
        await createUnlessTerminating(ctx, namespaces, R.serviceaccounts, { metadata: { name, namespace: ns } });
      }
    }, 2, { log: ctx.log });
    // A deleted default ServiceAccount is made again.
    c.watch(accounts, (sa) => (SERVICE_ACCOUNTS.includes(sa.metadata?.name ?? '') && sa.metadata?.namespace ? [sa.metadata.namespace] : []));
    return c;
  },
};

export const rootCaCertPublisher: ControllerDefinition = {
  name: 'root-ca-cert-publisher',
  start(ctx) {
    const ca = ctx.client.config.ca;
    const namespaces = ctx.informers.informerFor<Namespace>(R.namespaces);
    const configmaps = ctx.informers.informerFor<ConfigMap>(R.configmaps, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
    const c = new Controller('root-ca-cert-publisher', [namespaces], async (ns) => {
      if (!ca) return; // no CA in the kubeconfig (insecure connection): nothing to publish
      if (!isActive(namespaces, ns)) return;
      const current = configmaps.getByName(ROOT_CA_CONFIGMAP, ns);
      if (!current) {
        await createUnlessTerminating(ctx, namespaces, R.configmaps, {
          metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, annotations: { 'kubernetes.io/description': DESCRIPTION } },
          data: { 'ca.crt': ca },
        });
        return;
      }
      const data = current.data ?? {};
      const annotations = current.metadata?.annotations ?? {};
      if (data['ca.crt'] === ca && Object.keys(data).length === 1 && annotations['kubernetes.io/description'] === DESCRIPTION) return;
      // Someone changed it: put the CA back (other fields, like labels, stay).
      const fixed: ConfigMap = cloneJson(current);
      fixed.data = { 'ca.crt': ca };
      fixed.metadata = { ...fixed.metadata, annotations: { ...annotations, 'kubernetes.io/description': DESCRIPTION } };
      delete fixed.binaryData;
      try {
        await ctx.client.update(R.configmaps, fixed);
      } catch (e) {
        if (isConflict(e)) throw new Error(`configmap ${ns}/${ROOT_CA_CONFIGMAP} changed meanwhile; retrying`);
        if (!isNotFound(e)) throw e;
      }
    }, 2, { log: ctx.log });
    c.watch(configmaps, (cm) => (cm.metadata?.namespace ? [cm.metadata.namespace] : []));
    return c;
  },
};

/** Namespaces being deleted get no new content (kube-controller-manager checks phase Active). */
function isActive(namespaces: SharedInformer<Namespace>, name: string): boolean {
  const ns = namespaces.getByName(name);
  return !!ns && !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating';
}

async function createUnlessTerminating(ctx: ControllerContext, namespaces: SharedInformer<Namespace>, r: ResourceRef, obj: KubeObject): Promise<void> {
  try {
    await ctx.client.create(r, obj);
  } catch (e) {
    if (isAlreadyExists(e)) return; // the cache was behind
    // The namespace started terminating (or vanished) after the cache saw it.
    if (!isActive(namespaces, obj.metadata!.namespace!)) return;
    try {
      const ns = await ctx.client.get<Namespace>(R.namespaces, obj.metadata!.namespace!);
      if (ns.metadata?.deletionTimestamp) return;
    } catch (getErr) {
      if (isNotFound(getErr)) return;
    }
    throw e;
  }
}
