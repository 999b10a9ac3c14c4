// The API objects volumes and env read, with kubelet's wording when they are missing
// (kubelet's configmap/secret managers: `configmap "x" not found`).
import type { ConfigMap, Secret } from 'kubernetes-types/core/v1.d.ts';
import type { RestClient } from '../../client/rest.ts';
import { R } from '../../client/resources.ts';
import { isNotFound } from '../../client/errors.ts';

async function getOptional<T>(get: () => Promise<T>, what: string, name: string, optional: boolean): Promise<T | undefined> {
  try {
    return await get();
  } catch (e) {
    if (!isNotFound(e)) throw new Error(`couldn't get ${what} ${name}: ${(e as Error & { status?: { message?: string } }).status?.message ?? (e as Error).message}`);
    if (optional) return undefined;
    throw new Error(`${what} "${name}" not found`);
  }
}

/** The ConfigMap; undefined when it does not exist and the reference is optional. */
export function getConfigMap(client: RestClient, namespace: string, name: string, optional = false): Promise<ConfigMap | undefined> {
  return getOptional(() => client.get<ConfigMap>(R.configmaps, name, { namespace }), 'configmap', name, optional);
}

/** The Secret; undefined when it does not exist and the reference is optional. */
export function getSecret(client: RestClient, namespace: string, name: string, optional = false): Promise<Secret | undefined> {
  return getOptional(() => client.get<Secret>(R.secrets, name, { namespace }), 'secret', name, optional);
}

/** A ConfigMap's keys (data and binaryData) as bytes. */
export function configMapData(cm: ConfigMap | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm?.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm?.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

/** A Secret's keys as bytes (data is base64 on the wire). */
export function secretData(s: Secret | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s?.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(s?.stringData ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  return out;
}
