// What a pod references that its node may read: the vertices kube's Node authorizer puts
// between a pod and its node (secrets, configmaps, persistent volume claims, the service
// account), as podutil.VisitPodSecretNames / VisitPodConfigmapNames walk them.
// https://kubernetes.io/docs/reference/access-authn-authz/node/
import type { Container, EnvFromSource, EnvVar, Pod, Volume } from 'kubernetes-types/core/v1.d.ts';

/** 'secret', 'configmap', 'persistentvolumeclaim' or 'serviceaccount', then namespace and name. */
export type RefKind = 'secret' | 'configmap' | 'persistentvolumeclaim' | 'serviceaccount';

export function refKey(kind: RefKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Every object of those kinds the pod names, as refKey strings (no duplicates). */
export function podRefs(pod: Pod): Set<string> {
  const ns = pod.metadata?.namespace ?? '';
  const out = new Set<string>();
  const add = (kind: RefKind, name: string | undefined) => {
    if (name) out.add(refKey(kind, ns, name));
  };
  const spec = pod.spec;
  if (!spec) return out;
  add('serviceaccount', spec.serviceAccountName ?? 'default');
  for (const s of spec.imagePullSecrets ?? []) add('secret', s.name);
  const containers: (Container | { env?: EnvVar[]; envFrom?: EnvFromSource[] })[] = [
    ...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      add('secret', e.valueFrom?.secretKeyRef?.name);
      add('configmap', e.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add('secret', e.secretRef?.name);
      add('configmap', e.configMapRef?.name);
    }
  }
  for (const v of spec.volumes ?? []) volumeRefs(v, pod.metadata?.name ?? '', add);
  return out;
}

function volumeRefs(v: Volume, podName: string, add: (kind: RefKind, name: string | undefined) => void): void {
  add('secret', v.secret?.secretName);
  add('configmap', v.configMap?.name);
  for (const s of v.projected?.sources ?? []) {
    add('secret', s.secret?.name);
    add('configmap', s.configMap?.name);
  }
  add('persistentvolumeclaim', v.persistentVolumeClaim?.claimName);
  // A generic ephemeral volume's claim is named <pod>-<volume>.
  if (v.ephemeral) add('persistentvolumeclaim', `${podName}-${v.name}`);
  // Volume plugins that read their credentials from a secret in the pod's namespace.
  add('secret', v.azureFile?.secretName);
  add('secret', v.cephfs?.secretRef?.name);
  add('secret', v.cinder?.secretRef?.name);
  add('secret', v.flexVolume?.secretRef?.name);
  add('secret', v.iscsi?.secretRef?.name);
  add('secret', v.rbd?.secretRef?.name);
  add('secret', v.scaleIO?.secretRef?.name);
  add('secret', v.storageos?.secretRef?.name);
  add('secret', v.csi?.nodePublishSecretRef?.name);
}
