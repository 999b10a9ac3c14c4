// `skiff controller-manager`: the controllers (namespace, garbage collector,
// service accounts, ...) as a process of their own against an API server.
import { isAbsolute } from 'node:path';
import { DEFAULT_LOCAL_PATH_DIR } from '../controllers/local-path-class.ts';
import { startControllerManager } from '../controllers/manager.ts';
import { CliError } from './errors.ts';
import { durationFlag, intFlag, parseFlags } from './flags.ts';

export const CONTROLLER_MANAGER_FLAGS = {
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the API server to manage (default $KUBECONFIG, then ~/.kube/config)' },
  controllers: { type: 'string', default: '*', help: "controllers to run: '*' for all, NAME to add one, -NAME to leave one out (comma-separated)" },
  'leader-elect': { type: 'boolean', default: false, help: 'run controllers only while holding the Lease kube-system/kube-controller-manager' },
  'node-monitor-grace-period': { type: 'string', default: '40s', help: 'a node whose Lease is not renewed for this long is marked Ready=Unknown and tainted unreachable' },
  'node-monitor-period': { type: 'string', default: '5s', help: 'how often node health and zone states are re-evaluated' },
  'node-eviction-rate': { type: 'string', default: '0.1', help: 'nodes per second tainted NoExecute (their pods evicted) in a healthy zone, or a fully disrupted one while others are not' },
  'secondary-node-eviction-rate': { type: 'string', default: '0.01', help: 'nodes per second tainted NoExecute in a partially disrupted zone larger than --large-cluster-size-threshold' },
  'unhealthy-zone-threshold': { type: 'string', default: '0.55', help: 'fraction of not-Ready nodes (at least 3) that makes a zone partially disrupted' },
  'large-cluster-size-threshold': { type: 'string', default: '50', help: 'a partially disrupted zone of at most this many nodes stops NoExecute tainting' },
  'default-local-storage-path': { type: 'string', default: DEFAULT_LOCAL_PATH_DIR, help: 'where local-path volumes go on nodes the ConfigMap kube-system/local-path-config does not name (an absolute path)' },
} as const;

function rateFlag(name: string, value: string, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) {
    throw new CliError(`--${name} must be ${max === Infinity ? 'a number >= 0' : `a number from 0 to ${max}`}, got "${value}"`);
  }
  return n;
}

export async function runControllerManager(args: string[]): Promise<void> {
  const f = parseFlags('controller-manager', 'Runs the Skiff controllers against an API server.', CONTROLLER_MANAGER_FLAGS, args);
  const controllers = f.controllers.split(',').map((s) => s.trim()).filter(Boolean);
  const options = {
    nodeMonitorGracePeriodMs: Math.max(1000, durationFlag('node-monitor-grace-period', f['node-monitor-grace-period'])),
    nodeMonitorPeriodMs: Math.max(100, durationFlag('node-monitor-period', f['node-monitor-period'])),
    nodeEvictionRate: rateFlag('node-eviction-rate', f['node-eviction-rate']),
    secondaryNodeEvictionRate: rateFlag('secondary-node-eviction-rate', f['secondary-node-eviction-rate']),
    unhealthyZoneThreshold: rateFlag('unhealthy-zone-threshold', f['unhealthy-zone-threshold'], 1),
    largeClusterSizeThreshold: intFlag('large-cluster-size-threshold', f['large-cluster-size-threshold'], 0, 1_000_000),
    localPathDir: f['default-local-storage-path'],
  };
  if (!isAbsolute(options.localPathDir)) throw new CliError(`--default-local-storage-path must be an absolute path, got "${options.localPathDir}"`);
  let manager;
  try {
    manager = await startControllerManager({
      kubeconfig: f.kubeconfig || undefined,
      controllers: controllers.length === 1 && controllers[0] === '*' ? '*' : controllers,
      leaderElect: f['leader-elect'],
      options,
      onLeadershipLost: () => {
        // As kube-controller-manager: a manager that lost the Lease exits, to be restarted as a fresh candidate.
        console.error('skiff: controller-manager lost leadership, exiting');
        process.exit(1);
      },
    });
  } catch (e) {
    throw new CliError(`controller-manager: ${(e as Error).message}`);
  }
  console.log(`skiff: controller-manager running ${manager.controllers.join(', ')}${f['leader-elect'] ? ' (once elected leader)' : ''}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff: ${signal}: stopping the controller-manager`);
    await manager.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
