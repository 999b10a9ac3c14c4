// The client certificate the API server presents to node agents (kube-apiserver's
// --kubelet-client-certificate): CN kube-apiserver-kubelet-client, O system:masters, signed by
// the cluster CA, kept in <dataDir>/tls next to the serving certificate and re-issued when it
// nears expiry or the CA changed.
// https://kubernetes.io/docs/setup/best-practices/certificates/#all-certificates
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, writeFile, rename, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { issueClientCert } from './pki.ts';

export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
export const KUBELET_CLIENT_GROUP = 'system:masters';

const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

export interface KubeletClientCert {
  cert: string;
  key: string;
}

/** Reuses <dataDir>/tls/kubelet-client.{crt,key} while valid, else issues a new pair (ensurePki must have run). */
export async function ensureKubeletClientCert(dataDir: string): Promise<KubeletClientCert> {
  const tls = join(dataDir, 'tls');
  const certPath = join(tls, 'kubelet-client.crt');
  const keyPath = join(tls, 'kubelet-client.key');
  const [cert, key, ca] = await Promise.all([readOptional(certPath), readOptional(keyPath), readFile(join(tls, 'ca.crt'), 'utf8')]);
  if (cert && key && usable(cert, key, ca)) return { cert, key };
  const issued = await issueClientCert(dataDir, KUBELET_CLIENT_USER, [KUBELET_CLIENT_GROUP]);
  await writeAtomic(keyPath, issued.keyPem, 0o600);
  await writeAtomic(certPath, issued.certPem, 0o644);
  return { cert: issued.certPem, key: issued.keyPem };
}

function usable(certPem: string, keyPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) && cert.checkIssued(ca) && cert.verify(ca.publicKey) &&
      Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS;
  } catch (e) {
    // Ours to re-issue at will: a damaged pair is replaced, not fatal.
    console.warn(`kubelet client certificate unreadable (${(e as Error).message}); issuing a new one`);
    return false;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
