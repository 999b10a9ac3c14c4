// Bootstrap tokens (https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/):
// Secrets `bootstrap-token-<id>` of type bootstrap.kubernetes.io/token in kube-system whose bearer
// `<id>.<secret>` authenticates as system:bootstrap:<id> in group system:bootstrappers (plus the
// secret's auth-extra-groups). `skiff server` keeps one for joining nodes, written with the CA pin
// to <data-dir>/node-token, and publishes kube-public/cluster-info (a kubeconfig holding the CA)
// for joining agents to read anonymously, as kubeadm does.
import { timingSafeEqual } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject } from '../api/types.ts';
import type { Store } from '../store/store.ts';
import type { BearerTokenAuthenticator, UserInfo } from './auth.ts';
import { BOOTSTRAPPERS_GROUP, CLUSTER_INFO } from './authz/index.ts';
import {
  BOOTSTRAP_TOKEN_RE, type JoinToken, caCertHash, formatJoinToken, newBootstrapToken, parseJoinToken,
} from './bootstrap-join-token.ts';
import { ApiError } from './errors.ts';
import type { ServerParts } from './handlers/context.ts';
import { decodeKv } from './registry/codec.ts';
import { createObject, updateObject, type WriteOptions } from './registry/write.ts';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
/** The extra group of the node join token's user (kubeadm uses system:bootstrappers:kubeadm:default-node-token). */
export const NODE_BOOTSTRAPPERS_GROUP = 'system:bootstrappers:skiff:nodes';
export const NODE_TOKEN_FILE = 'node-token';

const SERVER_WRITE: WriteOptions = { dryRun: false, fieldManager: 'skiff-apiserver', fieldValidation: 'Strict', warnings: [] };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function secretKey(tokenId: string): string {
  return `/registry/core/secrets/${BOOTSTRAP_TOKEN_NAMESPACE}/bootstrap-token-${tokenId}`;
}

function secretData(secret: KubeObject, key: string): string | undefined {
  const v = (secret.data as Record<string, string> | undefined)?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** Authenticates `<id>.<secret>` bearer tokens against their Secrets (kube's bootstrap token authenticator). */
export function bootstrapTokenAuthenticator(store: Store): BearerTokenAuthenticator {
  return async (token) => {
    const m = BOOTSTRAP_TOKEN_RE.exec(token);
    if (!m) return undefined;
    const [, id, given] = m as unknown as [string, string, string];
    const { kv } = await store.get(secretKey(id));
    if (!kv) return undefined;
    const secret = decodeKv(kv);
    if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || secret.metadata?.deletionTimestamp) return undefined;
    const known = secretData(secret, 'token-secret') ?? '';
    if (secretData(secret, 'token-id') !== id || known.length !== given.length || !timingSafeEqual(Buffer.from(known), Buffer.from(given))) return undefined;
    if (secretData(secret, 'usage-bootstrap-authentication') !== 'true') return undefined;
    const expiration = secretData(secret, 'expiration');
    if (expiration && !(Date.parse(expiration) > Date.now())) return undefined;
    const extra = (secretData(secret, 'auth-extra-groups') ?? '').split(',').map((g) => g.trim())
      .filter((g) => g.startsWith(`${BOOTSTRAPPERS_GROUP}:`));
    const user: UserInfo = { username: `system:bootstrap:${id}`, groups: [BOOTSTRAPPERS_GROUP, ...extra, 'system:authenticated'] };
    return user;
  };
}

function bootstrapSecret(t: { tokenId: string; tokenSecret: string }): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: `bootstrap-token-${t.tokenId}`, namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: {
      description: b64('Skiff node join token (<data-dir>/node-token): lets an agent ask for its node credentials'),
      'token-id': b64(t.tokenId),
      'token-secret': b64(t.tokenSecret),
      'usage-bootstrap-authentication': b64('true'),
      'auth-extra-groups': b64(NODE_BOOTSTRAPPERS_GROUP),
    },
  };
}

async function readJoinToken(path: string): Promise<JoinToken | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return parseJoinToken(text);
  } catch (e) {
    console.error(`skiff: ${path}: ${(e as Error).message}; making a new node join token`);
    return undefined;
  }
}

/**
 * Keeps <dataDir>/node-token valid: reuses the token it holds while its Secret still exists (and
 * rewrites the CA hash if the CA changed); otherwise (first start, or the Secret was deleted to
 * revoke it) makes a new bootstrap token Secret and writes the file (mode 0600). Returns the join token.
 */
export async function ensureNodeJoinToken(parts: ServerParts, opts: { dataDir: string; caCertPem: string }): Promise<string> {
  const path = join(opts.dataDir, NODE_TOKEN_FILE);
  const hash = caCertHash(opts.caCertPem);
  const existing = await readJoinToken(path);
  let token: JoinToken | undefined;
  if (existing) {
    const { kv } = await parts.store.get(secretKey(existing.tokenId));
    const secret = kv ? decodeKv(kv) : undefined;
    if (secret && secretData(secret, 'token-secret') === existing.tokenSecret && !secret.metadata?.deletionTimestamp) {
      token = { ...existing, caCertHash: hash };
    }
  }
  if (!token) {
    token = { ...newBootstrapToken(), caCertHash: hash };
    await createObject(parts, parts.resources.find('', 'v1', 'secrets')!, BOOTSTRAP_TOKEN_NAMESPACE, bootstrapSecret(token), SERVER_WRITE);
  }
  const text = formatJoinToken(token);
  if (!existing || formatJoinToken(existing) !== text) {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, `${text}\n`, { mode: 0o600 });
    await rename(tmp, path);
  }
  return text;
}

/** kube-public/cluster-info: a kubeconfig with this server's address and CA, readable without credentials. */
export async function ensureClusterInfo(parts: ServerParts, opts: { server: string; caCertPem: string }): Promise<void> {
  const kubeconfig = stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: '', cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caCertPem) } }],
    contexts: null, 'current-context': '', preferences: {}, users: null,
  });
  const obj: KubeObject = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: CLUSTER_INFO.name, namespace: CLUSTER_INFO.namespace },
    data: { kubeconfig },
  };
  try {
    await updateObject(parts, parts.resources.find('', 'v1', 'configmaps')!, CLUSTER_INFO.namespace, CLUSTER_INFO.name, obj, '', SERVER_WRITE, true);
  } catch (e) {
    throw e instanceof ApiError ? new Error(`cannot publish ${CLUSTER_INFO.namespace}/${CLUSTER_INFO.name}: ${e.message}`) : e;
  }
}
