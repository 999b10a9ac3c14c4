// kube-apiserver's ServiceAccount admission plugin, on pod create: the pod runs as a
// ServiceAccount that exists (`default` unless named), inherits its imagePullSecrets, and,
// unless automountServiceAccountToken is false on the pod or the account, gets the projected
// `kube-api-access-<random>` volume (a bound token, the cluster CA, the namespace) mounted
// read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container.
// Mirror pods (static pods a node agent mirrors) may not use service accounts at all.
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#serviceaccount-admission-controller
import type { Container, Pod, ServiceAccount, Volume, VolumeMount } from 'kubernetes-types/core/v1.d.ts';
import type { Store } from '../../store/store.ts';
import { errors } from '../errors.ts';
import { decodeKv } from '../registry/codec.ts';
import type { PrefixMirror } from '../registry/prefix-mirror.ts';
import { generateNameSuffix } from '../registry/lifecycle.ts';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNTS_PREFIX = '/registry/core/serviceaccounts/';
export const TOKEN_VOLUME_PREFIX = 'kube-api-access-';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
/** kube-apiserver's WarnOnlyBoundTokenExpirationSeconds: one hour and 7 s, so tokens past an hour can be spotted in audit logs. */
export const TOKEN_EXPIRATION_SECONDS = 3607;
const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

/** How long to look for the `default` account the serviceaccount controller is about to create (kube: 10 tries, 100-200 ms apart). */
export interface ServiceAccountLookup {
  attempts: number;
  intervalMs: () => number;
}
const KUBE_LOOKUP: ServiceAccountLookup = { attempts: 10, intervalMs: () => 100 + Math.floor(Math.random() * 100) };

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

function forbidden(pod: Pod, why: string) {
  const name = pod.metadata?.name ?? '';
  return errors.forbidden(`pods "${name}" is forbidden: ${why}`, { name, kind: 'pods' });
}

async function readServiceAccount(store: Store, namespace: string, name: string): Promise<ServiceAccount | undefined> {
  const { kv } = await store.get(`${SERVICE_ACCOUNTS_PREFIX}${namespace}/${name}`);
  return kv ? (decodeKv(kv) as ServiceAccount) : undefined;
}

/**
 * The account, waiting a little for `default` (the serviceaccount controller creates it right
 * after the namespace appears, so a pod created at once may come before it).
 */
async function findServiceAccount(store: Store, namespace: string, name: string, lookup: ServiceAccountLookup,
  mirror?: PrefixMirror<ServiceAccount>): Promise<ServiceAccount | undefined> {
  // kube-apiserver reads its ServiceAccount lister first and only a miss from the store (the
  // account may be a moment old); on etcd that saves a round trip per pod create.
  const cached = mirror?.synced ? mirror.get(`${namespace}/${name}`) : undefined;
  if (cached) return cached;
  const attempts = name === DEFAULT_SERVICE_ACCOUNT ? lookup.attempts : 1;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, lookup.intervalMs()));
    const sa = await readServiceAccount(store, namespace, name);
    if (sa) return sa;
  }
  return undefined;
}

/** What kube-apiserver refuses in a mirror pod (it could not be kept in sync with the API's objects). */
function checkMirrorPod(pod: Pod): void {
  const spec = pod.spec;
  if (spec?.serviceAccountName) throw forbidden(pod, 'a mirror pod may not reference service accounts');
  const usesSecrets = (spec?.imagePullSecrets ?? []).length > 0 ||
    (spec?.volumes ?? []).some((v) => v.secret || v.projected?.sources?.some((s) => s.secret)) ||
    [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((c) =>
      (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef) || (c.envFrom ?? []).some((e) => e.secretRef));
  if (usesSecrets) throw forbidden(pod, 'a mirror pod may not reference secrets');
  if ((spec?.volumes ?? []).some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))) {
    throw forbidden(pod, 'a mirror pod may not use ServiceAccountToken volume projections');
  }
}

/** The projected volume kube-apiserver adds (TokenVolumeSource), with defaultMode set explicitly as it does. */
export function tokenVolume(name: string): Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: TOKEN_EXPIRATION_SECONDS } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/** Mounts the token volume in every container that has nothing at the token path yet; adds the volume if any did. */
export function mountServiceAccountToken(pod: Pod): void {
  const spec = pod.spec!;
  // A volume already named kube-api-access-* is reused (a pod copied from another cluster's output).
  const existing = (spec.volumes ?? []).find((v) => v.name.startsWith(TOKEN_VOLUME_PREFIX));
  const volumeName = existing?.name ?? `${TOKEN_VOLUME_PREFIX}${generateNameSuffix()}`;
  const mount: VolumeMount = { name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH };
  let needed = false;
  const addMount = (c: Container) => {
    if ((c.volumeMounts ?? []).some((m) => m.mountPath === TOKEN_MOUNT_PATH)) return;
    c.volumeMounts = [...(c.volumeMounts ?? []), { ...mount }];
    needed = true;
  };
  for (const c of spec.initContainers ?? []) addMount(c);
  for (const c of spec.containers ?? []) addMount(c);
  if (needed && !existing) spec.volumes = [...(spec.volumes ?? []), tokenVolume(volumeName)];
}

/**
 * The plugin's mutation and validation of a new pod, in place; throws a Forbidden ApiError
 * worded as kube-apiserver's when the pod's account does not exist.
 */
export async function admitPodServiceAccount(store: Store, pod: Pod, lookup: ServiceAccountLookup = KUBE_LOOKUP,
  mirror?: PrefixMirror<ServiceAccount>): Promise<void> {
  if (isMirrorPod(pod)) {
    checkMirrorPod(pod);
    return;
  }
  const spec = (pod.spec ??= { containers: [] });
  if (!spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
  // The deprecated alias kube-apiserver's v1 conversion always fills in.
  spec.serviceAccount = spec.serviceAccountName;
  const namespace = pod.metadata?.namespace ?? '';
  const sa = await findServiceAccount(store, namespace, spec.serviceAccountName, lookup, mirror);
  if (!sa) {
    throw forbidden(pod, `error looking up service account ${namespace}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`);
  }
  if ((spec.imagePullSecrets ?? []).length === 0 && (sa.imagePullSecrets ?? []).length > 0) {
    spec.imagePullSecrets = sa.imagePullSecrets!.map((s) => ({ name: s.name }));
  }
  const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
  if (automount) mountServiceAccountToken(pod);
}
