// The node agent's serving certificate and who may call it.
//
// Serving: kubelet makes itself a self-signed certificate when none is configured, and
// kube-apiserver does not verify kubelet serving certificates unless told to
// (--kubelet-certificate-authority), so a self-signed one is enough here too.
// https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/
//
// Clients: kubelet authenticates x509 client certificates against --client-ca-file and then
// authorizes the user; the API server calls it as kube-apiserver-kubelet-client (O system:masters).
import { KeyObject, webcrypto, type X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs the Reflect metadata polyfill loaded first
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** A self-signed ECDSA P-256 serving certificate for this node's names and addresses. */
export async function selfSignedServingCert(hosts: string[]): Promise<{ cert: string; key: string }> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const names = [...new Set(['localhost', '127.0.0.1', hostname(), ...hosts].filter((h) => h))];
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [`${hostname()}@${Math.floor(now / 1000)}`] }], // kubelet names its self-signed cert host@timestamp
    keys,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + YEAR_MS),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names.map((h): x509.JsonGeneralName => (isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h })), false),
    ],
  }, crypto);
  const key = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert: cert.toString('pem'), key };
}

export interface ClientIdentity {
  user: string;
  groups: string[];
}

/** The user a verified client certificate names (CN = user, O = groups), or undefined without one. */
export function clientIdentity(socket: TLSSocket): ClientIdentity | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerX509Certificate?.() as NodeX509Certificate | undefined;
  if (!peer) return undefined;
  const fields = peer.subject.split('\n');
  const user = fields.find((f) => f.startsWith('CN='))?.slice(3) ?? '';
  const groups = fields.filter((f) => f.startsWith('O=')).map((f) => f.slice(2));
  return { user, groups };
}

/**
 * Who may read logs and open streams here. kubelet asks the API server (SubjectAccessReview on
 * nodes/proxy); lacking that, the agent admits the API server's identity and cluster admins.
 */
export function mayUseNodeApi(id: ClientIdentity): boolean {
  return id.user === 'kube-apiserver-kubelet-client' || id.groups.includes('system:masters');
}
