// Starts a whole API server from a data directory: store, certificates, tokens,
// kubeconfig, schemas, admission, CRDs, the built-in namespaces, then HTTPS.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';
import { createSchemaResolver } from '../api/schema/resolver.ts';
import { CliError } from '../cli/errors.ts';
import { createAdmission } from './admission/index.ts';
import { ServiceAllocator } from './admission/service-allocator.ts';
import { AuditLog, type AuditLogOptions } from './audit.ts';
import { TokenAuthenticator } from './auth.ts';
import { Authorizer } from './authz/index.ts';
import { bootstrapTokenAuthenticator, ensureClusterInfo, ensureNodeJoinToken } from './bootstrap-token.ts';
import { ServiceAccountTokens, serviceAccountTokenAuthenticator } from './serviceaccount-tokens.ts';
import { CrdController } from './crd-controller.ts';
import { createApiMetrics } from './metrics.ts';
import { ensurePki, writeKubeconfig } from './pki.ts';
import { ensureKubeletClientCert } from './kubelet-client-cert.ts';
import { ResourceTable } from './resources.ts';
import { ApiServer } from './server.ts';
import { ensureSystemObjects } from './system-objects.ts';
import { decodeKv, storagePrefix } from './registry/codec.ts';
import { NamespaceCache } from './registry/namespace-cache.ts';
import { PrefixMirror } from './registry/prefix-mirror.ts';
import { PRIORITY_CLASSES_PREFIX } from './admission/priority.ts';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.d.ts';
import type { ServiceAccount } from 'kubernetes-types/core/v1.d.ts';
import { SERVICE_ACCOUNTS_PREFIX } from './admission/service-account.ts';
import { RestClient } from '../client/rest.ts';
import { localWatch } from './local-watch.ts';
import { type ControllerManager, startControllerManager } from '../controllers/manager.ts';

export interface StartOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  /** Background compaction period of the embedded store (kube-apiserver's --etcd-compaction-interval). */
  compactionIntervalMs?: number;
  audit?: AuditLogOptions;
  /** Use this store instead of the embedded SQLite one (tests, the etcd backend). */
  store?: Store;
  bookmarkIntervalMs?: number;
  /**
   * Controllers to run in-process against this server, as kube-controller-manager's --controllers
   * ('*', 'name', '-name'); default SERVER_CONTROLLERS; false when an external controller manager runs them.
   */
  controllers?: false | '*' | readonly string[];
  /**
   * Run the in-process controllers only while this server holds the controller manager's Lease
   * (several API servers on one etcd); it campaigns again whenever it loses the Lease.
   */
  leaderElect?: boolean;
  /** Admission plugins to turn off (kube-apiserver's --disable-admission-plugins): 'ServiceAccount', 'DefaultStorageClass'. */
  disableAdmissionPlugins?: readonly string[];
  /**
   * Answer "does the namespace exist" for creates, and the ServiceAccount plugin's lookups, from
   * watch-fed caches instead of store reads (worth it on etcd, where each read is a network round trip).
   */
  cacheNamespaces?: boolean;
}

/**
 * The in-process default: every controller, the root-ca-cert-publisher included: as in Kubernetes,
 * every namespace has the kube-root-ca.crt ConfigMap, which the kube-api-access-* volume the
 * ServiceAccount admission adds to pods projects as ca.crt.
 */
export const SERVER_CONTROLLERS: readonly string[] = ['*'];

export interface ApiServerHandle {
  url: string;
  port: number;
  adminToken: string;
  kubeconfigPath: string;
  caCertPem: string;
  /** The node join token, also in <dataDir>/node-token (see bootstrap-join-token.ts). */
  nodeToken: string;
  server: ApiServer;
  store: Store;
  close(): Promise<void>;
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new CliError(`data directory ${dir} is not writable (${(e as NodeJS.ErrnoException).code}): pick another with --data-dir or fix its permissions`);
  }
}

export async function startApiServer(opts: StartOptions): Promise<ApiServerHandle> {
  ensureWritableDir(opts.dataDir);
  if (!opts.store) mkdirSync(join(opts.dataDir, 'db'), { recursive: true, mode: 0o700 });
  const store = opts.store ?? openSqliteStore(join(opts.dataDir, 'db', 'state.db'), { compactIntervalMs: opts.compactionIntervalMs });
  const host = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress;
  const pki = await ensurePki(opts.dataDir, { hosts: [opts.bindAddress, hostname()].filter((h) => h !== '0.0.0.0' && h !== '::') });
  const { auth, adminToken } = TokenAuthenticator.loadOrInit(opts.dataDir);
  const serviceAccountTokens = ServiceAccountTokens.loadOrCreate(opts.dataDir);
  const resolver = createSchemaResolver();
  const resources = new ResourceTable();
  const allocator = new ServiceAllocator(store);
  const crds = new CrdController(store, resources, resolver);
  // What the Priority plugin reads for every new pod, mirrored rather than listed per request.
  const priorityClasses = new PrefixMirror<PriorityClass>(store, PRIORITY_CLASSES_PREFIX, (kv) => decodeKv(kv) as PriorityClass);
  // With etcd (where a read is a network round trip) the accounts every pod create looks up, too.
  const serviceAccounts = opts.cacheNamespaces
    ? new PrefixMirror<ServiceAccount>(store, SERVICE_ACCOUNTS_PREFIX, (kv) => decodeKv(kv) as ServiceAccount) : undefined;
  const admission = createAdmission({
    resolver, allocator, crdFor: (r) => crds.crdFor(r), store, priorityClasses, serviceAccounts, disabledPlugins: opts.disableAdmissionPlugins,
  });
  const metrics = createApiMetrics();
  metrics.setStorageSizeSource(() => store.dbSize());
  metrics.setStorageObjectsSource(async () => {
    const counts: Record<string, number> = {};
    for (const r of resources.all()) counts[r.group ? `${r.plural}.${r.group}` : r.plural] = (await store.count(storagePrefix(r, ''))).count;
    return counts;
  });
  const audit = opts.audit ? new AuditLog(opts.audit) : undefined;
  const namespaces = opts.cacheNamespaces ? new NamespaceCache(store) : undefined;
  const server = new ApiServer({
    store, admission, auth, resources, resolver, audit, metrics,
    tls: { cert: pki.servingCertPem, key: pki.servingKeyPem, ca: pki.caCertPem },
    authorizer: new Authorizer(store),
    crdFor: (r) => crds.crdFor(r),
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    ready: () => crds.synced,
    kubeletClient: await ensureKubeletClientCert(opts.dataDir),
    serviceAccountTokens,
    namespaces,
  });
  auth.addBearerAuthenticator(serviceAccountTokenAuthenticator(serviceAccountTokens, store, resources));
  auth.addBearerAuthenticator(bootstrapTokenAuthenticator(store));
  // The store-fed caches and controllers inside the server, stopped before the store closes.
  const stopBackground = async () => {
    namespaces?.stop();
    priorityClasses.stop();
    serviceAccounts?.stop();
    await crds.stop();
  };
  await crds.start(server.parts);
  await namespaces?.start();
  await priorityClasses.start();
  await serviceAccounts?.start();
  let port: number;
  try {
    port = await server.listen(opts.port, opts.bindAddress);
    await ensureSystemObjects(server.parts, { serviceIp: allocator.apiServiceIp, address: host, port });
  } catch (e) {
    await stopBackground();
    await store.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`port ${opts.port} is already in use on ${opts.bindAddress}: stop whatever listens there or pass --port`);
    if (code === 'EACCES') throw new CliError(`not allowed to listen on ${opts.bindAddress}:${opts.port}: run as root or pick a port above 1023 with --port`);
    if (code === 'EADDRNOTAVAIL') throw new CliError(`${opts.bindAddress} is not an address of this machine: fix --bind-address`);
    throw e;
  }
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const kubeconfigPath = join(opts.dataDir, 'kubeconfig');
  await writeKubeconfig(kubeconfigPath, { server: url, caPem: pki.caCertPem, token: adminToken, user: 'skiff-admin', cluster: 'skiff', context: 'skiff' });
  // What a joining agent needs: the CA (anonymously, from cluster-info) and a bootstrap token (node-token).
  await ensureClusterInfo(server.parts, { server: url, caCertPem: pki.caCertPem });
  const nodeToken = await ensureNodeJoinToken(server.parts, { dataDir: opts.dataDir, caCertPem: pki.caCertPem });
  // The controllers talk to this server over HTTPS like any client, except that their watches
  // are handed over in memory (local-watch.ts); an external `skiff controller-manager`
  // replaces them when started with --disable-controllers.
  let controllerClient: RestClient | undefined;
  let controllerManager: ControllerManager | undefined;
  let closing = false;
  if (opts.controllers !== false) {
    controllerClient = new RestClient({ server: url, token: adminToken, ca: pki.caCertPem }, { userAgent: 'skiff-controller-manager',
      localWatch: localWatch(server.parts) });
    const client = controllerClient;
    const startManager = (): Promise<ControllerManager> => startControllerManager({
      client, controllers: opts.controllers === false ? [] : opts.controllers ?? SERVER_CONTROLLERS,
      leaderElect: opts.leaderElect,
      // Shorter than kube-controller-manager's 15 s so a dead leader's API server is replaced
      // within about 10 s; renewals are cheap single writes.
      leaseDurationSeconds: 8, renewDeadlineMs: 6000, retryPeriodMs: 1000,
      // The CSR signer issues node credentials with the cluster CA (--cluster-signing-{cert,key}-file).
      // Local-path volumes under the data dir, as k3s keeps them under its own.
      options: { clusterSigning: { certPem: pki.caCertPem, keyPem: pki.caKeyPem }, localPathDir: join(opts.dataDir, 'storage') },
      onLeadershipLost: () => void (async () => {
        const lost = controllerManager;
        if (closing) return;
        controllerManager = await startManager();
        await lost?.stop();
      })(),
    });
    try {
      controllerManager = await startManager();
    } catch (e) {
      await controllerClient.close();
      await server.close();
      await stopBackground();
      await store.close();
      throw new CliError(`controllers: ${(e as Error).message}`);
    }
    await controllerManager.waitForSync(5000);
  }
  return {
    url, port, adminToken, kubeconfigPath, caCertPem: pki.caCertPem, nodeToken, server, store,
    async close() {
      closing = true;
      await controllerManager?.stop();
      await controllerClient?.close();
      await server.close();
      await stopBackground();
      await audit?.close();
      await store.close();
    },
  };
}
