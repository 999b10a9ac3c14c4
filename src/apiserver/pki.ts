// The API server's own PKI: a CA, a serving certificate signed by it, and client certificates
// (the CN is the Kubernetes user name, each O a group, as with kube-apiserver's x509 authenticator:
// https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates).
// ECDSA P-256 keys: generation is instant and every TLS stack we care about (Go, Node) accepts them.
import { X509Certificate, createPrivateKey, KeyObject, randomUUID, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, chmod, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs the Reflect metadata polyfill loaded first
import * as x509 from '@peculiar/x509';
import { stringify } from 'yaml';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;
const crypto = webcrypto;

export const CA_COMMON_NAME = 'skiff-ca';
export const SERVING_COMMON_NAME = 'skiff-apiserver';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_MS = 10 * 365 * DAY_MS;
const LEAF_VALIDITY_MS = 365 * DAY_MS;
/** Regenerate the serving certificate when it expires sooner than this. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Backdate notBefore a little, as client-go's cert utilities do, so a peer whose clock is slightly behind accepts it. */
const BACKDATE_MS = 60 * 60 * 1000;

/** The names kube-apiserver puts in its serving certificate, so in-cluster clients can verify it too. */
export const DEFAULT_SERVING_HOSTS = [
  'localhost',
  '127.0.0.1',
  '::1',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export interface Pki {
  caCertPem: string;
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  /** `<dataDir>/tls`, where ca.crt, ca.key, serving.crt and serving.key live. */
  tlsDir: string;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

interface Signer {
  cert: x509.X509Certificate;
  key: CryptoKey;
  signingAlgorithm: SigningAlgorithm;
}

/**
 * Creates (first start) or reuses (later starts) the CA and serving certificate under `<dataDir>/tls/`.
 * The serving certificate is re-issued when one of the wanted hosts is missing from its SANs, it expires
 * within 30 days, it was not signed by the current CA, or its key does not match it.
 */
export async function ensurePki(dataDir: string, opts: { hosts: string[] }): Promise<Pki> {
  const tlsDir = join(dataDir, 'tls');
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const files = tlsFiles(tlsDir);

  let caCertPem = await readOptional(files.caCert);
  let caKeyPem = await readOptional(files.caKey);
  if (caCertPem === undefined && caKeyPem === undefined) {
    ({ certPem: caCertPem, keyPem: caKeyPem } = await createCa());
    // Key first: a CA certificate without its key would be unusable.
    await writeFileAtomic(files.caKey, caKeyPem, 0o600);
    await writeFileAtomic(files.caCert, caCertPem, 0o644);
  } else if (caCertPem === undefined || caKeyPem === undefined) {
    const missing = caCertPem === undefined ? files.caCert : files.caKey;
    throw new Error(
      `${missing} is missing while its partner exists; restore it, or delete both ca.crt and ca.key in ${tlsDir} ` +
        'to create a new CA (every kubeconfig and node certificate issued by the old CA will then stop working)',
    );
  }
  const signer = await loadSigner(caCertPem, caKeyPem, files.caKey);

  const hosts = servingHosts(opts.hosts);
  let servingCertPem = await readOptional(files.servingCert);
  let servingKeyPem = await readOptional(files.servingKey);
  if (
    servingCertPem === undefined ||
    servingKeyPem === undefined ||
    !servingCertUsable(servingCertPem, servingKeyPem, caCertPem, hosts)
  ) {
    ({ certPem: servingCertPem, keyPem: servingKeyPem } = await issueServingCert(signer, hosts));
    await writeFileAtomic(files.servingKey, servingKeyPem, 0o600);
    await writeFileAtomic(files.servingCert, servingCertPem, 0o644);
  }
  return { caCertPem, caKeyPem, servingCertPem, servingKeyPem, tlsDir };
}

/**
 * Issues a client certificate signed by the CA under `<dataDir>/tls/` (ensurePki must have run).
 * The API server authenticates it as user `commonName` in the groups `organizations`.
 */
export async function issueClientCert(
  dataDir: string,
  commonName: string,
  organizations: string[],
): Promise<IssuedCert> {
  if (!commonName) throw new Error('issueClientCert: commonName (the Kubernetes user name) must not be empty');
  const files = tlsFiles(join(dataDir, 'tls'));
  const caCertPem = await readOptional(files.caCert);
  const caKeyPem = await readOptional(files.caKey);
  if (caCertPem === undefined || caKeyPem === undefined) {
    throw new Error(`issueClientCert: no CA in ${dirname(files.caCert)} (ca.crt and ca.key); call ensurePki first`);
  }
  const signer = await loadSigner(caCertPem, caKeyPem, files.caKey);
  const subject: x509.JsonName = [{ CN: [commonName] }, ...organizations.map((o) => ({ O: [o] }))];
  return issueLeaf(signer, subject, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
  ]);
}

/** certificates.k8s.io usage names → key usage bits and extended key usages. */
const KEY_USAGE_FLAGS: Record<string, number> = {
  'digital signature': x509.KeyUsageFlags.digitalSignature, 'key encipherment': x509.KeyUsageFlags.keyEncipherment,
  'content commitment': x509.KeyUsageFlags.nonRepudiation, 'key agreement': x509.KeyUsageFlags.keyAgreement,
  'data encipherment': x509.KeyUsageFlags.dataEncipherment,
};
const EXT_KEY_USAGES: Record<string, string> = {
  'client auth': x509.ExtendedKeyUsage.clientAuth, 'server auth': x509.ExtendedKeyUsage.serverAuth,
};

/**
 * Issues a certificate for a PKCS#10 request (PEM) with the CA: the request's subject and public key,
 * the given certificates.k8s.io usages, valid for `validityMs` (capped at the CA's own end), as
 * kube-controller-manager's csrsigning controller does. The caller decides whether the request may be signed.
 */
export async function signCertificateRequest(ca: { certPem: string; keyPem: string }, csrPem: string,
  opts: { usages: string[]; validityMs: number }): Promise<string> {
  const signer = await loadSigner(ca.certPem, ca.keyPem, 'the cluster signing key');
  const request = new x509.Pkcs10CertificateRequest(csrPem);
  const keyUsage = opts.usages.reduce((bits, u) => bits | (KEY_USAGE_FLAGS[u] ?? 0), 0);
  const ekus = opts.usages.map((u) => EXT_KEY_USAGES[u]).filter((e): e is string => e !== undefined);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: request.subjectName,
      issuer: signer.cert.subjectName,
      publicKey: request.publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.signingAlgorithm,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(Math.min(now + opts.validityMs, signer.cert.notAfter.getTime())),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        ...(keyUsage ? [new x509.KeyUsagesExtension(keyUsage, true)] : []),
        ...(ekus.length > 0 ? [new x509.ExtendedKeyUsageExtension(ekus, false)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return cert.toString('pem');
}

export interface KubeconfigParams {
  server: string;
  caPem: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  user: string;
  cluster: string;
  context: string;
}

/** Writes a kubeconfig (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/) readable only by its owner. */
export async function writeKubeconfig(path: string, params: KubeconfigParams): Promise<void> {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const user: Record<string, string> = {};
  if (params.token !== undefined) user.token = params.token;
  if (params.clientCertPem !== undefined) user['client-certificate-data'] = b64(params.clientCertPem);
  if (params.clientKeyPem !== undefined) user['client-key-data'] = b64(params.clientKeyPem);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: params.cluster, cluster: { server: params.server, 'certificate-authority-data': b64(params.caPem) } }],
    users: [{ name: params.user, user }],
    contexts: [{ name: params.context, context: { cluster: params.cluster, user: params.user } }],
    'current-context': params.context,
    preferences: {},
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, stringify(config), 0o600);
}

function tlsFiles(tlsDir: string) {
  return {
    caCert: join(tlsDir, 'ca.crt'),
    caKey: join(tlsDir, 'ca.key'),
    servingCert: join(tlsDir, 'serving.crt'),
    servingKey: join(tlsDir, 'serving.key'),
  };
}

/** Defaults + this host's name + the caller's, IPs normalised (brackets stripped), DNS names lower-cased, no duplicates. */
function servingHosts(extra: string[]): string[] {
  const all = [...DEFAULT_SERVING_HOSTS, hostname(), ...extra]
    .map((h) => h.trim().replace(/^\[(.*)\]$/, '$1'))
    .filter((h) => h !== '')
    .map((h) => (isIP(h) ? h : h.toLowerCase()));
  return [...new Set(all)];
}

function servingCertUsable(certPem: string, keyPem: string, caCertPem: string, hosts: string[]): boolean {
  const ca = new X509Certificate(caCertPem);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
  } catch (err) {
    // The serving pair is ours to re-issue at will: a damaged file is replaced, not fatal.
    console.warn(`serving certificate or key unreadable (${(err as Error).message}); issuing a new one`);
    return false;
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  // Node's own matchers: exactly what a Node client checks; Go's rules agree for plain names and IPs.
  return hosts.every((h) =>
    isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h, { subject: 'never', wildcards: false }) !== undefined,
  );
}

async function createCa(): Promise<IssuedCert> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [CA_COMMON_NAME] }],
      keys,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_VALIDITY_MS),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

async function issueServingCert(signer: Signer, hosts: string[]): Promise<IssuedCert> {
  const names: x509.JsonGeneralNames = hosts.map((h) => (isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h }));
  return issueLeaf(signer, [{ CN: [SERVING_COMMON_NAME] }], [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    new x509.SubjectAlternativeNameExtension(names, false),
  ]);
}

async function issueLeaf(signer: Signer, subject: x509.JsonName, extra: x509.Extension[]): Promise<IssuedCert> {
  const keys = await generateKeyPair();
  const now = Date.now();
  // A leaf outliving its CA would be rejected anyway; cap it at the CA's end.
  const notAfter = Math.min(now + LEAF_VALIDITY_MS, signer.cert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject,
      issuer: signer.cert.subjectName,
      publicKey: keys.publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.signingAlgorithm,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey, false, crypto),
        ...extra,
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Loads the CA for signing; an RSA or other-curve CA placed there by the user works too. */
async function loadSigner(caCertPem: string, caKeyPem: string, keyPath: string): Promise<Signer> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(caKeyPem);
  } catch (err) {
    throw new Error(`cannot read the CA private key ${keyPath}: ${(err as Error).message}`, { cause: err });
  }
  const cert = new x509.X509Certificate(caCertPem);
  if (!new X509Certificate(caCertPem).checkPrivateKey(keyObject)) {
    throw new Error(`${keyPath} is not the private key of ca.crt next to it`);
  }
  const type = keyObject.asymmetricKeyType;
  if (type === 'ec') {
    const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[
      keyObject.asymmetricKeyDetails?.namedCurve ?? ''
    ];
    if (!curve) throw new Error(`${keyPath}: unsupported EC curve ${keyObject.asymmetricKeyDetails?.namedCurve}`);
    const key = keyObject.toCryptoKey({ name: 'ECDSA', namedCurve: curve }, false, ['sign']) as CryptoKey;
    return { cert, key, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } };
  }
  if (type === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = keyObject.toCryptoKey(algorithm, false, ['sign']) as CryptoKey;
    return { cert, key, signingAlgorithm: algorithm };
  }
  throw new Error(`${keyPath}: unsupported CA key type ${type} (use ECDSA or RSA)`);
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** "EC PRIVATE KEY" (SEC 1), the form kubeadm writes and every client reads. */
async function exportKeyPem(key: CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ type: 'sec1', format: 'pem' }) as string;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Write-then-rename, so a crash never leaves a half-written key or certificate behind. */
async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomUUID()}`;
  try {
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode); // the umask may have narrowed it; never widened, but keep it exact
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined); // best effort: the original error is what matters
    throw err;
  }
}
