// Printer for certificates.k8s.io CertificateSigningRequest (`kubectl get csr`), with the
// columns and Condition wording of kubernetes/pkg/printers/internalversion.
import type { KubeObject } from '../types.ts';
import { humanDuration, since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, type Printer, column } from './types.ts';

/** "Pending", "Approved,Issued", "Denied", "Approved,Failed": the decision first, then what the signer did. */
export function csrCondition(csr: KubeObject): string {
  const types = new Set(((csr.status?.conditions ?? []) as { type?: string }[]).map((c) => c.type));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if (csr.status?.certificate) s += ',Issued';
  return s;
}

export const certificateSigningRequestPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    AGE_COLUMN,
    column('SignerName', 'string', 'signerName indicates the requested signer, and is a qualified name.'),
    column('Requestor', 'string', 'username contains the name of the user that created the CertificateSigningRequest.'),
    column('RequestedDuration', 'string', 'expirationSeconds is the requested duration of validity of the issued certificate.'),
    column('Condition', 'string', 'conditions applied to the request. Known conditions are "Approved", "Denied", and "Failed".'),
  ],
  row(o, { now }) {
    const secs = o.spec?.expirationSeconds;
    const duration = typeof secs === 'number' ? humanDuration(secs * 1000) : '<none>';
    return { cells: [o.metadata?.name, since(o.metadata?.creationTimestamp, now), o.spec?.signerName ?? '', o.spec?.username ?? '', duration, csrCondition(o)] };
  },
};
