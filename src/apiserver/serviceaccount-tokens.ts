// Bound service account tokens: RS256 JWTs signed with a key kept in <data-dir>/tls/sa.key,
// with the claims kube-apiserver puts in them, and their authentication.
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens
// https://kubernetes.io/docs/reference/access-authn-authz/authentication/#service-account-tokens
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { Store } from '../store/store.ts';
import type { ResourceTable } from './resources.ts';
import type { UserInfo } from './auth.ts';
import { decodeKv, storageKey } from './registry/codec.ts';

/** kube-apiserver's --service-account-issuer as kubeadm and most distributions set it; also the default audience. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** A bound token stays valid this long after the pod it is bound to was deleted (kube-apiserver's grace). */
const DELETED_OBJECT_GRACE_SECONDS = 60;

export interface BoundRef {
  name: string;
  uid: string;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: BoundRef;
    pod?: BoundRef;
    secret?: BoundRef;
    node?: BoundRef;
  };
}

export interface TokenToIssue {
  namespace: string;
  serviceAccount: BoundRef;
  audiences: string[];
  expirationSeconds: number;
  pod?: BoundRef;
  secret?: BoundRef;
  node?: BoundRef;
}

function base64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** The signing key of service account tokens, made on first start like kubeadm's sa.key / sa.pub. */
export class ServiceAccountTokens {
  readonly issuer: string;
  /** Audiences the API server accepts (kube-apiserver's --api-audiences, defaulting to the issuer). */
  readonly apiAudiences: string[];
  #privateKey: KeyObject;
  #publicKey: KeyObject;
  #keyId: string;

  constructor(privateKeyPem: string, issuer = SERVICE_ACCOUNT_ISSUER) {
    this.issuer = issuer;
    this.apiAudiences = [issuer];
    this.#privateKey = createPrivateKey(privateKeyPem);
    this.#publicKey = createPublicKey(this.#privateKey);
    // Kubernetes names its key by the SHA-256 of the DER public key, base64url (the JWT header's kid).
    this.#keyId = base64url(createHash('sha256').update(this.#publicKey.export({ type: 'spki', format: 'der' })).digest());
  }

  static loadOrCreate(dataDir: string): ServiceAccountTokens {
    const dir = join(dataDir, 'tls');
    const keyFile = join(dir, 'sa.key');
    if (!existsSync(keyFile)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const tmp = `${keyFile}.tmp`;
      writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
      renameSync(tmp, keyFile);
      writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644 });
    }
    return new ServiceAccountTokens(readFileSync(keyFile, 'utf8'));
  }

  issue(t: TokenToIssue, now = new Date()): { token: string; claims: ServiceAccountClaims } {
    const iat = Math.floor(now.getTime() / 1000);
    const k8s: ServiceAccountClaims['kubernetes.io'] = { namespace: t.namespace, serviceaccount: t.serviceAccount };
    if (t.pod) k8s.pod = t.pod;
    if (t.secret) k8s.secret = t.secret;
    if (t.node) k8s.node = t.node;
    const claims: ServiceAccountClaims = {
      aud: t.audiences, exp: iat + t.expirationSeconds, iat, iss: this.issuer, jti: randomUUID(),
      'kubernetes.io': k8s, nbf: iat, sub: `system:serviceaccount:${t.namespace}:${t.serviceAccount.name}`,
    };
    const signingInput = `${base64url(JSON.stringify({ alg: 'RS256', kid: this.#keyId }))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.#privateKey);
    return { token: `${signingInput}.${base64url(signature)}`, claims };
  }

  /** The claims of a token this server signed, still within its validity and for the API's audiences; else undefined. */
  verify(token: string, now = new Date()): ServiceAccountClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let header: { alg?: string; kid?: string };
    let claims: ServiceAccountClaims;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return undefined; // not a JWT: some other authenticator's token
    }
    if (header.alg !== 'RS256' || claims?.iss !== this.issuer) return undefined;
    if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), this.#publicKey, Buffer.from(parts[2], 'base64url'))) return undefined;
    const t = Math.floor(now.getTime() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= t) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf > t + 60) return undefined; // a minute of clock skew, as kube-apiserver allows
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => this.apiAudiences.includes(a))) return undefined;
    const k8s = claims['kubernetes.io'];
    if (!k8s?.namespace || !k8s.serviceaccount?.name || !k8s.serviceaccount.uid) return undefined;
    return claims;
  }
}

/**
 * Authenticates a bound service account token: a valid signature and lifetime, and the service
 * account (and the pod or secret it is bound to) still there with the same uid, as
 * kube-apiserver's service account token validator checks.
 */
export function serviceAccountTokenAuthenticator(tokens: ServiceAccountTokens, store: Store, resources: ResourceTable) {
  const live = async (plural: string, namespace: string, ref: BoundRef, now: Date): Promise<boolean> => {
    const r = resources.find('', 'v1', plural);
    if (!r) return false;
    const { kv } = await store.get(storageKey(r, namespace, ref.name));
    if (!kv) return false;
    const obj: KubeObject = decodeKv(kv);
    if (obj.metadata?.uid !== ref.uid) return false;
    const deleted = obj.metadata?.deletionTimestamp;
    return !deleted || Date.parse(deleted) > now.getTime() - DELETED_OBJECT_GRACE_SECONDS * 1000;
  };
  return async (token: string): Promise<UserInfo | undefined> => {
    const now = new Date();
    const claims = tokens.verify(token, now);
    if (!claims) return undefined;
    const k8s = claims['kubernetes.io'];
    if (!(await live('serviceaccounts', k8s.namespace, k8s.serviceaccount, now))) return undefined;
    if (k8s.pod && !(await live('pods', k8s.namespace, k8s.pod, now))) return undefined;
    if (k8s.secret && !(await live('secrets', k8s.namespace, k8s.secret, now))) return undefined;
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
    if (k8s.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    if (k8s.node) {
      extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
    }
    return {
      username: claims.sub, uid: k8s.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${k8s.namespace}`, 'system:authenticated'],
      extra,
    };
  };
}
