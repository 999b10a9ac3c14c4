// Reads a kubeconfig file into the connection settings the REST client needs:
// the current (or named) context's cluster server and CA, and the user's bearer
// token or client certificate. Paths inside the file are relative to the file.
// https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export interface ConnectionConfig {
  /** https://host:port of the API server. */
  server: string;
  token?: string;
  /** PEM CA bundle to trust; the system roots when absent. */
  ca?: string;
  /** PEM client certificate and key (mutual TLS auth). */
  cert?: string;
  key?: string;
  insecureSkipTLSVerify?: boolean;
  /** Default namespace of the context. */
  namespace?: string;
}

interface Named<T> { name: string; cluster?: T; user?: T; context?: T }
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Named<Record<string, unknown>>[];
  users?: Named<Record<string, unknown>>[];
  contexts?: Named<Record<string, unknown>>[];
}

export function loadKubeconfig(path = process.env.KUBECONFIG?.split(':')[0] ?? `${process.env.HOME}/.kube/config`, context?: string): ConnectionConfig {
  const file = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  const base = dirname(resolve(path));
  const contextName = context ?? file['current-context'];
  if (!contextName) throw new Error(`kubeconfig ${path}: no current-context and no context given`);
  const ctx = find(file.contexts, contextName, 'context', path);
  const cluster = find(file.clusters, String(ctx.cluster ?? ''), 'cluster', path);
  const user = ctx.user ? find(file.users, String(ctx.user), 'user', path) : {};
  const str = (o: Record<string, unknown>, k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  // A field comes either inline as base64 (`*-data`) or as a file path.
  const pem = (o: Record<string, unknown>, field: string): string | undefined => {
    const data = str(o, `${field}-data`);
    if (data) return Buffer.from(data, 'base64').toString('utf8');
    const file = str(o, field);
    return file ? readFileSync(resolve(base, file), 'utf8') : undefined;
  };
  const server = str(cluster, 'server');
  if (!server) throw new Error(`kubeconfig ${path}: cluster ${ctx.cluster} has no server`);
  const tokenFile = str(user, 'tokenFile');
  return {
    server: server.replace(/\/+$/, ''),
    token: str(user, 'token') ?? (tokenFile ? readFileSync(resolve(base, tokenFile), 'utf8').trim() : undefined),
    ca: pem(cluster, 'certificate-authority'),
    cert: pem(user, 'client-certificate'),
    key: pem(user, 'client-key'),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    namespace: str(ctx, 'namespace'),
  };
}

function find(list: Named<Record<string, unknown>>[] | undefined, name: string, what: 'context' | 'cluster' | 'user', path: string): Record<string, unknown> {
  const entry = list?.find((e) => e.name === name);
  if (!entry) throw new Error(`kubeconfig ${path}: no ${what} named "${name}"`);
  return entry[what] ?? {};
}
