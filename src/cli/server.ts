// `skiff server`: the API server on the embedded SQLite store.
import { SERVER_CONTROLLERS, startApiServer } from '../apiserver/start.ts';
import { OPTIONAL_ADMISSION_PLUGINS } from '../apiserver/admission/index.ts';
import { CONTROLLERS } from '../controllers/index.ts';
import { selectControllers } from '../controllers/manager.ts';
import { CliError } from './errors.ts';
import { durationFlag, intFlag, parseFlags } from './flags.ts';
import { openStoreFromFlags, STORE_FLAGS } from './store-flags.ts';

export const SERVER_FLAGS = {
  'data-dir': { type: 'string', default: '/var/lib/skiff', help: 'where the store, certificates, tokens and kubeconfig live' },
  port: { type: 'string', default: '6443', help: 'HTTPS port to serve on (0 picks a free one)' },
  'bind-address': { type: 'string', default: '127.0.0.1', help: 'address to serve on' },
  'etcd-compaction-interval': { type: 'string', default: '5m', help: 'how often history is compacted, as kube-apiserver\'s flag (e.g. 30s, 5m; 0 turns it off)' },
  'audit-log-path': { type: 'string', default: '', help: "write audit.k8s.io/v1 events as JSON lines to this file ('-' for stdout)" },
  'audit-log-maxage': { type: 'string', default: '0', help: 'days to keep rotated audit files (0: no limit)' },
  'audit-log-maxbackup': { type: 'string', default: '0', help: 'rotated audit files to keep (0: no limit)' },
  'audit-log-maxsize': { type: 'string', default: '0', help: 'megabytes an audit file may reach before it is rotated (0: never)' },
  controllers: { type: 'string', default: SERVER_CONTROLLERS.join(','), help: "controllers to run in-process: '*' for all, NAME to add one, -NAME to leave one out (comma-separated)" },
  'disable-controllers': { type: 'boolean', default: false, help: 'run no controllers in-process (when a separate `skiff controller-manager` runs them)' },
  'disable-admission-plugins': { type: 'string', default: '', help: `admission plugins to turn off, as kube-apiserver's flag (comma-separated: ${OPTIONAL_ADMISSION_PLUGINS.join(', ')})` },
  ...STORE_FLAGS,
} as const;

export async function runServer(args: string[]): Promise<void> {
  const f = parseFlags('server', 'Runs the Skiff API server on the embedded SQLite store.', SERVER_FLAGS, args);
  const controllers = f.controllers.split(',').map((c) => c.trim()).filter(Boolean);
  try {
    selectControllers(CONTROLLERS, controllers);
  } catch (e) {
    throw new CliError(`--controllers: ${(e as Error).message}`);
  }
  const disableAdmissionPlugins = f['disable-admission-plugins'].split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of disableAdmissionPlugins) {
    if (!(OPTIONAL_ADMISSION_PLUGINS as readonly string[]).includes(p)) {
      throw new CliError(`--disable-admission-plugins: unknown plugin "${p}" (known: ${OPTIONAL_ADMISSION_PLUGINS.join(', ')})`);
    }
  }
  const compactionIntervalMs = durationFlag('etcd-compaction-interval', f['etcd-compaction-interval']);
  const store = await openStoreFromFlags(f, compactionIntervalMs);
  const handle = await startApiServer({
    store,
    dataDir: f['data-dir'],
    port: intFlag('port', f.port, 0, 65535),
    bindAddress: f['bind-address'],
    controllers: f['disable-controllers'] ? false : controllers,
    disableAdmissionPlugins,
    // API servers sharing an etcd take turns running the controllers and the scheduler.
    leaderElect: f.store === 'etcd',
    // Each etcd read is a round trip; creates check their namespace in a watch-fed cache instead.
    cacheNamespaces: f.store === 'etcd',
    compactionIntervalMs,
    audit: f['audit-log-path'] ? {
      path: f['audit-log-path'],
      maxAgeDays: intFlag('audit-log-maxage', f['audit-log-maxage'], 0, 1e6),
      maxBackups: intFlag('audit-log-maxbackup', f['audit-log-maxbackup'], 0, 1e6),
      maxSizeMB: Number(f['audit-log-maxsize']),
    } : undefined,
  });
  console.log(`skiff: API server listening on ${handle.url}`);
  console.log(`skiff: admin kubeconfig: ${handle.kubeconfigPath} (export KUBECONFIG=${handle.kubeconfigPath})`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff: ${signal}: stopping`);
    await handle.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
