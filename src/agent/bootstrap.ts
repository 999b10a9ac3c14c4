// Node credentials by TLS bootstrapping, as kubelet gets them
// (https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/):
//   1. a valid <dir>/kubelet.kubeconfig for this node and cluster is reused as it is;
//   2. otherwise the cluster CA is read anonymously from kube-public/cluster-info and checked
//      against the hash the join token pins (kubeadm's token discovery with CA pinning);
//   3. a new key and a CertificateSigningRequest for CN=system:node:<name>, O=system:nodes go to
//      the API server, authenticated by the join token's bootstrap token;
//   4. once the controller manager has approved and signed it, the certificate and key are written
//      into <dir>/kubelet.kubeconfig (mode 0600), which the agent uses from then on.
import { X509Certificate, createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs the Reflect metadata polyfill loaded first
import * as x509 from '@peculiar/x509';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.d.ts';
import type { ConfigMap } from 'kubernetes-types/core/v1.d.ts';
import { parse } from 'yaml';
import { bearerOf, caCertHash, parseJoinToken } from '../apiserver/bootstrap-join-token.ts';
import { writeKubeconfig } from '../apiserver/pki.ts';
import { type ConnectionConfig, loadKubeconfig } from '../client/kubeconfig.ts';
import { RestClient } from '../client/rest.ts';
import { R } from '../client/resources.ts';
import { sleep } from '../client/wait.ts';

export const KUBELET_KUBECONFIG = 'kubelet.kubeconfig';
const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
/** A certificate this close to its end is not worth reusing: bootstrap again. */
const MIN_REMAINING_MS = 60_000;

export interface BootstrapOptions {
  /** https://host:port of the API server. */
  server: string;
  /** The contents of the server's <data-dir>/node-token. */
  joinToken: string;
  nodeName: string;
  /** Where kubelet.kubeconfig lives (the agent's data dir). */
  dir: string;
  /** How long to wait for the certificate to be issued (default 2 minutes). */
  timeoutMs?: number;
  log?: (message: string) => void;
}

/** The path of a kubeconfig holding this node's client certificate, bootstrapping one when needed. */
export async function bootstrapNodeCredentials(opts: BootstrapOptions): Promise<string> {
  const token = parseJoinToken(opts.joinToken);
  const path = join(opts.dir, KUBELET_KUBECONFIG);
  const log = opts.log ?? (() => {});
  const reusable = await existingCredentials(path, opts.nodeName, token.caCertHash);
  if (typeof reusable !== 'string') {
    // Same node, same cluster: only the address may have changed since (a new --server).
    if (reusable.server !== opts.server.replace(/\/+$/, '')) {
      await writeKubeconfig(path, { server: opts.server, caPem: reusable.ca!, clientCertPem: reusable.cert!, clientKeyPem: reusable.key!,
        user: `system:node:${opts.nodeName}`, cluster: 'skiff', context: 'skiff' });
    }
    return path;
  }
  log(`node credentials: ${reusable}; bootstrapping with the join token`);

  const caPem = await discoverCa(opts.server, token.caCertHash);
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [`system:node:${opts.nodeName}`] }, { O: ['system:nodes'] }],
    keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  }, webcrypto);
  const client = new RestClient({ server: opts.server, ca: caPem, token: bearerOf(token) }, { userAgent: `skiff-agent/${opts.nodeName} (bootstrap)` });
  try {
    const created = await client.create<CertificateSigningRequest>(R.certificatesigningrequests, {
      apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest',
      metadata: { generateName: 'node-csr-' },
      // ECDSA keys sign, they do not encipher: kubelet asks for these two usages for them.
      spec: { request: Buffer.from(request.toString('pem')).toString('base64'), signerName: KUBELET_CLIENT_SIGNER,
        usages: ['digital signature', 'client auth'] },
    });
    const name = created.metadata!.name!;
    log(`node credentials: CertificateSigningRequest ${name} created; waiting for it to be approved and signed`);
    const certPem = await waitForCertificate(client, name, opts.timeoutMs ?? 120_000);
    const keyPem = KeyObject.from(keys.privateKey).export({ type: 'sec1', format: 'pem' }) as string;
    await writeKubeconfig(path, { server: opts.server, caPem, clientCertPem: certPem, clientKeyPem: keyPem,
      user: `system:node:${opts.nodeName}`, cluster: 'skiff', context: 'skiff' });
    log(`node credentials: written to ${path}`);
    return path;
  } finally {
    await client.close();
  }
}

/** The kubeconfig at path when it holds valid credentials of this node for this cluster, else why not. */
async function existingCredentials(path: string, nodeName: string, caHash: string): Promise<ConnectionConfig | string> {
  try {
    await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `no ${path} yet`;
    throw e;
  }
  try {
    const c = loadKubeconfig(path);
    if (!c.ca || !c.cert || !c.key) return `${path} has no CA or client certificate`;
    if (caCertHash(c.ca) !== caHash) return `${path} is for another cluster CA than the join token's`;
    const cert = new X509Certificate(c.cert);
    const ca = new X509Certificate(c.ca);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return `the certificate in ${path} is not signed by its CA`;
    if (!cert.checkPrivateKey(createPrivateKey(c.key))) return `the key in ${path} does not match its certificate`;
    if (!cert.subject.split('\n').includes(`CN=system:node:${nodeName}`)) return `the certificate in ${path} is not node ${nodeName}'s`;
    if (Date.parse(cert.validTo) - Date.now() < MIN_REMAINING_MS) return `the certificate in ${path} has expired (${cert.validTo})`;
    return c;
  } catch (e) {
    return `${path} is unusable (${(e as Error).message})`;
  }
}

/** The CA of kube-public/cluster-info, read without trusting the server yet, accepted only if its hash is the pinned one. */
async function discoverCa(server: string, pinned: string): Promise<string> {
  const anonymous = new RestClient({ server, insecureSkipTLSVerify: true }, { userAgent: 'skiff-agent (bootstrap discovery)', timeoutMs: 15_000 });
  let cm: ConfigMap;
  try {
    cm = await anonymous.get<ConfigMap>(R.configmaps, 'cluster-info', { namespace: 'kube-public' });
  } catch (e) {
    throw new Error(`cannot read kube-public/cluster-info from ${server} to discover the cluster CA: ${(e as Error).message}`, { cause: e });
  } finally {
    await anonymous.close();
  }
  const config = parse(cm.data?.kubeconfig ?? '') as { clusters?: { cluster?: Record<string, string> }[] } | null;
  const data = config?.clusters?.[0]?.cluster?.['certificate-authority-data'];
  if (!data) throw new Error(`kube-public/cluster-info on ${server} holds no certificate-authority-data`);
  const caPem = Buffer.from(data, 'base64').toString('utf8');
  const actual = caCertHash(caPem);
  if (actual !== pinned) {
    throw new Error(`the cluster CA served by ${server} has hash ${actual}, but the join token pins ${pinned}: ` +
      'refusing to trust it (wrong server, or a token from another cluster)');
  }
  return caPem;
}

async function waitForCertificate(client: RestClient, name: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    const csr = await client.get<CertificateSigningRequest>(R.certificatesigningrequests, name);
    const conditions = csr.status?.conditions ?? [];
    const final = conditions.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (final) throw new Error(`CertificateSigningRequest ${name} was ${final.type.toLowerCase()}: ${final.reason ?? ''} ${final.message ?? ''}`.trim());
    if (csr.status?.certificate) return Buffer.from(csr.status.certificate, 'base64').toString('utf8');
    if (Date.now() >= deadline) {
      const approved = conditions.some((c) => c.type === 'Approved');
      throw new Error(`CertificateSigningRequest ${name} was not ${approved ? 'signed' : 'approved'} within ${timeoutMs} ms ` +
        `(is the controller manager running? approve it by hand with: kubectl certificate approve ${name})`);
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
  }
}
