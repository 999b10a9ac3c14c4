// certificates.k8s.io/v1 CertificateSigningRequest: the rules of
// kubernetes/pkg/apis/certificates/validation that a user meets (request, signer, usages,
// conditions) and the ones that keep a decision final (spec immutable, Approved/Denied/Failed
// never removed, an issued certificate never replaced).
// https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/
import type { KubeObject, StatusCause } from '../types.ts';
import { duplicate, forbidden, index, invalid, notSupported, raw, required } from './errors.ts';
import { isDNS1123Subdomain } from './names.ts';

export const KEY_USAGES = [
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment',
  'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing',
  'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing',
  'microsoft sgc', 'netscape sgc',
] as const;

const CONDITION_STATUSES = ['True', 'False', 'Unknown'];

interface Condition { type?: string; status?: string }

/** The PEM blocks (label and body) in base64-encoded JSON []byte `data`; undefined when it is not base64 PEM. */
export function pemBlocks(data: unknown): { label: string; der: Buffer }[] | undefined {
  if (typeof data !== 'string' || data === '') return undefined;
  const text = Buffer.from(data, 'base64').toString('latin1');
  const blocks: { label: string; der: Buffer }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) blocks.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  return blocks;
}

function validateSignerName(field: string, name: unknown): StatusCause[] {
  if (typeof name !== 'string' || name === '') return [required(field, '')];
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) {
    return [invalid(field, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")];
  }
  return isDNS1123Subdomain(name.slice(0, slash)).map((m) => invalid(field, name, `should be a domain with at least two segments separated by dots: ${m}`));
}

function validateConditions(conditions: unknown): StatusCause[] {
  if (conditions === undefined || conditions === null) return [];
  if (!Array.isArray(conditions)) return [invalid('status.conditions', conditions, 'must be a list')];
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  (conditions as Condition[]).forEach((c, i) => {
    const f = index('status.conditions', i);
    if (!c?.type) out.push(required(`${f}.type`));
    else if (seen.has(c.type)) out.push(duplicate(`${f}.type`, c.type));
    else seen.add(c.type);
    if (!CONDITION_STATUSES.includes(c?.status ?? '')) out.push(notSupported(`${f}.status`, c?.status ?? '', CONDITION_STATUSES));
    else if (['Approved', 'Denied', 'Failed'].includes(c.type ?? '') && c.status !== 'True') {
      out.push(notSupported(`${f}.status`, c.status, ['True']));
    }
  });
  if (seen.has('Approved') && seen.has('Denied')) {
    out.push(invalid('status.conditions', raw('[...]'), 'Approved and Denied conditions are mutually exclusive'));
  }
  return out;
}

export function validateCertificateSigningRequest(csr: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = (csr.spec ?? {}) as Record<string, unknown>;
  const request = pemBlocks(spec.request);
  if (spec.request === undefined || spec.request === '') out.push(required('spec.request'));
  else if (!request || request[0]?.label !== 'CERTIFICATE REQUEST') {
    out.push(invalid('spec.request', raw('[]byte{...}'), 'PEM block type must be CERTIFICATE REQUEST'));
  }
  out.push(...validateSignerName('spec.signerName', spec.signerName));
  const usages = spec.usages;
  if (!Array.isArray(usages) || usages.length === 0) out.push(required('spec.usages'));
  else {
    const seen = new Set<string>();
    usages.forEach((u, i) => {
      if (!(KEY_USAGES as readonly string[]).includes(u)) out.push(notSupported(index('spec.usages', i), u, KEY_USAGES));
      else if (seen.has(u)) out.push(duplicate(index('spec.usages', i), u));
      seen.add(u);
    });
  }
  const exp = spec.expirationSeconds;
  if (typeof exp === 'number' && exp < 600) out.push(invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 600 seconds (10 minutes)'));
  out.push(...validateConditions(csr.status?.conditions));
  const cert = csr.status?.certificate;
  if (cert !== undefined && cert !== '') {
    const blocks = pemBlocks(cert);
    if (!blocks || blocks.length === 0 || blocks.some((b) => b.label !== 'CERTIFICATE')) {
      out.push(invalid('status.certificate', raw('<certificate data>'), 'must contain at least one CERTIFICATE PEM block and no other'));
    }
  }
  if (old) {
    if (JSON.stringify(csr.spec ?? {}) !== JSON.stringify(old.spec ?? {})) out.push(invalid('spec', raw('{...}'), 'field is immutable'));
    const now = new Set(((csr.status?.conditions ?? []) as Condition[]).map((c) => c.type));
    for (const c of (old.status?.conditions ?? []) as Condition[]) {
      if (['Approved', 'Denied', 'Failed'].includes(c.type ?? '') && !now.has(c.type)) {
        out.push(forbidden('status.conditions', `updates may not remove a condition of type "${c.type}"`));
      }
    }
    if (old.status?.certificate && csr.status?.certificate !== old.status.certificate) {
      out.push(forbidden('status.certificate', 'updates may not modify existing certificate content'));
    }
  }
  return out;
}
