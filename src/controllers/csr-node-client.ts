// What a kubelet client certificate request must look like for the built-in signer
// kubernetes.io/kube-apiserver-client-kubelet (and so for auto-approval): subject exactly
// O=system:nodes with CN=system:node:<name>, no subject alternative names, client usages only.
// https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#kubernetes-signers
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.d.ts';
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs the Reflect metadata polyfill loaded first
import * as x509 from '@peculiar/x509';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
const CLIENT_USAGES = new Set(['digital signature', 'key encipherment', 'client auth']);

export interface ParsedRequest {
  pem: string;
  commonName: string;
  organizations: string[];
  hasSubjectAltNames: boolean;
}

/** The PEM request of a CSR, parsed and its self-signature checked; throws with the reason otherwise. */
export async function parseRequest(csr: CertificateSigningRequest): Promise<ParsedRequest> {
  const pem = Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8');
  let req: x509.Pkcs10CertificateRequest;
  try {
    req = new x509.Pkcs10CertificateRequest(pem);
  } catch (e) {
    throw new Error(`unable to parse csr: ${(e as Error).message}`);
  }
  if (!(await req.verify())) throw new Error('the certificate request is not signed by its own key');
  return {
    pem,
    commonName: req.subjectName.getField('CN')[0] ?? '',
    organizations: req.subjectName.getField('O'),
    hasSubjectAltNames: req.getExtension('2.5.29.17') !== null, // subjectAltName
  };
}

/** Why this is not a kubelet client certificate request ('' when it is one). */
export function nodeClientProblem(req: ParsedRequest, usages: readonly string[]): string {
  if (req.organizations.length !== 1 || req.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  if (!req.commonName.startsWith('system:node:') || req.commonName === 'system:node:') return 'subject common name does not begin with system:node:';
  if (req.hasSubjectAltNames) return 'subject alternative names are not allowed';
  return clientUsagesProblem(usages);
}

/** Why these usages are not those of a client certificate ('' when they are). */
export function clientUsagesProblem(usages: readonly string[]): string {
  const bad = usages.filter((u) => !CLIENT_USAGES.has(u));
  if (bad.length > 0) return `usages not allowed: ${bad.join(', ')}`;
  if (!usages.includes('client auth')) return 'usages must include client auth';
  return '';
}

export function hasCondition(csr: CertificateSigningRequest, type: string): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}
