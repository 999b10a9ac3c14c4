// Projected serviceAccountToken sources: a TokenRequest bound to the pod, refreshed the way
// kubelet's token manager does (after 80% of its lifetime or 24 hours), reusing the token
// already in the volume otherwise, so a sync does not ask for a new token each time.
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens
import type { Pod, ServiceAccountTokenProjection } from 'kubernetes-types/core/v1.d.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RestClient } from '../../client/rest.ts';
import { R, resourcePath } from '../../client/resources.ts';

const DEFAULT_EXPIRATION_SECONDS = 3600;
const MAX_TOKEN_AGE_SECONDS = 24 * 3600;

interface TokenClaims {
  aud?: string[] | string;
  iat?: number;
  exp?: number;
  'kubernetes.io'?: { pod?: { uid?: string } };
}

function claimsOf(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return undefined; // not a JWT we can read: ask for a new one
  }
}

/** Whether a token already in the volume still serves this projection for this pod. */
export function tokenStillFresh(token: string, pod: Pod, audience: string | undefined, now = Date.now()): boolean {
  const c = claimsOf(token);
  if (!c || typeof c.iat !== 'number' || typeof c.exp !== 'number') return false;
  if (c['kubernetes.io']?.pod?.uid !== pod.metadata?.uid) return false;
  const aud = Array.isArray(c.aud) ? c.aud : c.aud ? [c.aud] : [];
  if (audience && !(aud.length === 1 && aud[0] === audience)) return false;
  const t = now / 1000;
  return t < c.iat + 0.8 * (c.exp - c.iat) && t < c.iat + MAX_TOKEN_AGE_SECONDS;
}

async function currentToken(volumeDir: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(join(volumeDir, path), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The token for the projection: the one in the volume if still fresh, else a new TokenRequest. */
export async function serviceAccountToken(client: RestClient, pod: Pod, source: ServiceAccountTokenProjection, volumeDir: string): Promise<string> {
  const existing = await currentToken(volumeDir, source.path);
  if (existing && tokenStillFresh(existing, pod, source.audience)) return existing;
  const namespace = pod.metadata!.namespace!;
  const serviceAccount = pod.spec?.serviceAccountName || 'default';
  const tr = await client.call<{ status?: { token?: string } }>('POST', resourcePath(R.serviceaccounts, namespace, serviceAccount, 'token'), {
    body: {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: {
        audiences: source.audience ? [source.audience] : [],
        expirationSeconds: source.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid },
      },
    },
  }).catch((e: Error & { status?: { message?: string } }) => {
    throw new Error(`failed to fetch token: ${e.status?.message ?? e.message}`);
  });
  if (!tr.status?.token) throw new Error(`failed to fetch token: the TokenRequest for serviceaccount ${namespace}/${serviceAccount} came back without a token`);
  return tr.status.token;
}
