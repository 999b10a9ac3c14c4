// The node join token `skiff server` writes to <data-dir>/node-token: a Kubernetes bootstrap
// token plus the hash of the cluster CA it belongs to, so that a joining agent can check the
// CA it fetches anonymously before trusting it (kubeadm's --discovery-token-ca-cert-hash, or
// k3s's K10<hash>::<token>, in one string):
//
//     skiff1.sha256:<hex sha256 of the CA certificate's SubjectPublicKeyInfo>.<token-id>.<token-secret>
//
// The hash is kubeadm's: over the DER SubjectPublicKeyInfo, so it survives re-encoding of the PEM.
// https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/
// https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join/#token-based-discovery-with-ca-pinning
import { X509Certificate, createHash, randomInt } from 'node:crypto';

export const JOIN_TOKEN_VERSION = 'skiff1';
/** A bootstrap token: 6-character id, 16-character secret, lower-case letters and digits. */
export const BOOTSTRAP_TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export interface JoinToken {
  /** 'sha256:<hex>' */
  caCertHash: string;
  tokenId: string;
  tokenSecret: string;
}

/** kubeadm's CA pin: sha256 over the CA certificate's DER SubjectPublicKeyInfo. */
export function caCertHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export function newBootstrapToken(): { tokenId: string; tokenSecret: string } {
  return { tokenId: randomString(6), tokenSecret: randomString(16) };
}

/** The bearer token a join token authenticates with: `<id>.<secret>`. */
export function bearerOf(t: JoinToken): string {
  return `${t.tokenId}.${t.tokenSecret}`;
}

export function formatJoinToken(t: JoinToken): string {
  return `${JOIN_TOKEN_VERSION}.${t.caCertHash}.${t.tokenId}.${t.tokenSecret}`;
}

/** Parses a join token; the error says what is wrong with it (never echoing the secret). */
export function parseJoinToken(text: string): JoinToken {
  const parts = text.trim().split('.');
  if (parts.length === 2 && BOOTSTRAP_TOKEN_RE.test(parts.join('.'))) {
    throw new Error('the join token is a bare bootstrap token that does not pin the cluster CA; use the one in the server\'s <data-dir>/node-token');
  }
  const [version, hash, tokenId, tokenSecret] = parts;
  if (parts.length !== 4 || version !== JOIN_TOKEN_VERSION) {
    throw new Error(`the join token is not of the form ${JOIN_TOKEN_VERSION}.sha256:<hex>.<id>.<secret> (copy it from the server's <data-dir>/node-token)`);
  }
  if (!/^sha256:[0-9a-f]{64}$/.test(hash!)) throw new Error('the join token\'s CA hash is not sha256:<64 hex digits>');
  if (!BOOTSTRAP_TOKEN_RE.test(`${tokenId}.${tokenSecret}`)) {
    throw new Error('the join token\'s bootstrap token is not <6 lower-case letters or digits>.<16 lower-case letters or digits>');
  }
  return { caCertHash: hash!, tokenId: tokenId!, tokenSecret: tokenSecret! };
}
