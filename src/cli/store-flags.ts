// The storage flags of `skiff server` (kube-apiserver's --etcd-* flags): the embedded SQLite
// store by default, or an etcd cluster.
import { readFileSync } from 'node:fs';
import { openEtcdStore } from '../store/etcd/etcd-store.ts';
import type { Store } from '../store/store.ts';
import { CliError } from './errors.ts';

export const STORE_FLAGS = {
  store: { type: 'string', default: 'sqlite', help: "where objects live: 'sqlite' (embedded, in the data dir) or 'etcd'" },
  'etcd-endpoints': { type: 'string', default: '', help: 'etcd client URLs, comma-separated (with --store etcd)' },
  'etcd-prefix': { type: 'string', default: '/skiff', help: 'prefix of every key Skiff writes in etcd' },
  'etcd-cafile': { type: 'string', default: '', help: 'CA bundle that signed the etcd members\' certificates (https endpoints)' },
  'etcd-certfile': { type: 'string', default: '', help: 'client certificate to present to etcd' },
  'etcd-keyfile': { type: 'string', default: '', help: 'key of --etcd-certfile' },
} as const;

type StoreFlagValues = { [K in keyof typeof STORE_FLAGS]: string };

function readPem(flag: string, path: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`--${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code})`);
  }
}

/** undefined means the embedded SQLite store (startApiServer opens it in the data dir). */
export async function openStoreFromFlags(f: StoreFlagValues, compactIntervalMs: number): Promise<Store | undefined> {
  if (f.store === 'sqlite') {
    if (f['etcd-endpoints']) throw new CliError('--etcd-endpoints needs --store etcd');
    return undefined;
  }
  if (f.store !== 'etcd') throw new CliError(`--store must be sqlite or etcd, got "${f.store}"`);
  const endpoints = f['etcd-endpoints'].split(',').map((e) => e.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new CliError('--store etcd needs --etcd-endpoints (e.g. http://127.0.0.1:2379)');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e)) throw new CliError(`--etcd-endpoints: "${e}" is not a URL like http://127.0.0.1:2379`);
  }
  if (!f['etcd-prefix'].startsWith('/')) throw new CliError(`--etcd-prefix must start with "/", got "${f['etcd-prefix']}"`);
  const ca = readPem('etcd-cafile', f['etcd-cafile']);
  const cert = readPem('etcd-certfile', f['etcd-certfile']);
  const key = readPem('etcd-keyfile', f['etcd-keyfile']);
  if (!!cert !== !!key) throw new CliError('--etcd-certfile and --etcd-keyfile go together');
  const store = openEtcdStore({
    endpoints, prefix: f['etcd-prefix'], compactIntervalMs,
    ...(ca || cert ? { tls: { ca, cert, key } } : {}),
  });
  // Fail now, with the fix, rather than on the first request.
  try {
    await Promise.race([
      store.currentRevision(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref()),
    ]);
  } catch (e) {
    await store.close();
    throw new CliError(`cannot reach etcd at ${endpoints.join(',')}: ${(e as Error).message.split('\n')[0]}; start etcd or fix --etcd-endpoints`);
  }
  return store;
}
