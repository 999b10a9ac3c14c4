// projected volumes: configMap, secret, downwardAPI and serviceAccountToken sources in one
// directory (kube-api-access-* is one of these: token, kube-root-ca.crt's ca.crt, namespace).
// https://kubernetes.io/docs/concepts/storage/projected-volumes/
import type { Pod, ProjectedVolumeSource } from 'kubernetes-types/core/v1.d.ts';
import type { RestClient } from '../../client/rest.ts';
import type { Payload } from './atomic-writer.ts';
import { downwardAPIPayload } from './downward-api.ts';
import { DEFAULT_MODE, keyPayload } from './key-payload.ts';
import { configMapData, getConfigMap, getSecret, secretData } from './objects.ts';
import { serviceAccountToken } from './service-account-token.ts';

export interface ProjectedContext {
  client: RestClient;
  pod: Pod;
  volumeDir: string;
  allocatable: () => Promise<Record<string, string>>;
  /** Owner of token files (kubelet's fsUser: the one runAsUser all containers share). */
  fsUser?: number;
  fsGroup?: number;
}

export async function projectedPayload(source: ProjectedVolumeSource, ctx: ProjectedContext): Promise<Payload> {
  const defaultMode = source.defaultMode ?? DEFAULT_MODE;
  const namespace = ctx.pod.metadata!.namespace!;
  const payload: Payload = new Map();
  const add = (p: Payload) => {
    for (const [k, v] of p) payload.set(k, v);
  };
  const errors: string[] = [];
  for (const s of source.sources ?? []) {
    try {
      if (s.configMap) {
        const optional = s.configMap.optional ?? false;
        const cm = await getConfigMap(ctx.client, namespace, s.configMap.name ?? '', optional);
        add(keyPayload(configMapData(cm), s.configMap.items, defaultMode, optional || !cm, 'configmap'));
      } else if (s.secret) {
        const optional = s.secret.optional ?? false;
        const secret = await getSecret(ctx.client, namespace, s.secret.name ?? '', optional);
        add(keyPayload(secretData(secret), s.secret.items, defaultMode, optional || !secret, 'secret'));
      } else if (s.downwardAPI) {
        add(await downwardAPIPayload(ctx.pod, s.downwardAPI.items, defaultMode, ctx.allocatable));
      } else if (s.serviceAccountToken) {
        const token = await serviceAccountToken(ctx.client, ctx.pod, s.serviceAccountToken, ctx.volumeDir);
        // Only its owner may read a token when the pod names one (fsUser / fsGroup), as kubelet does.
        const owned = ctx.fsUser !== undefined || ctx.fsGroup !== undefined;
        payload.set(s.serviceAccountToken.path, { data: Buffer.from(token, 'utf8'), mode: owned ? 0o600 : defaultMode, uid: ctx.fsUser });
      } else if (s.clusterTrustBundle) {
        throw new Error('clusterTrustBundle projections are not supported by skiff');
      }
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length === 1) throw new Error(errors[0]);
  if (errors.length > 1) throw new Error(`[${errors.join(', ')}]`);
  return payload;
}
