// `skiff controller-manager`: the controllers (namespace, garbage collector,
// service accounts, ...) as a process of their own against an API server.
import { startControllerManager } from '../controllers/manager.ts';
import { CliError } from './errors.ts';
import { durationFlag, parseFlags } from './flags.ts';

export const CONTROLLER_MANAGER_FLAGS = {
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the API server to manage (default $KUBECONFIG, then ~/.kube/config)' },
  controllers: { type: 'string', default: '*', help: "controllers to run: '*' for all, NAME to add one, -NAME to leave one out (comma-separated)" },
  'leader-elect': { type: 'boolean', default: false, help: 'run controllers only while holding the Lease kube-system/kube-controller-manager' },
  'node-monitor-grace-period': { type: 'string', default: '40s', help: 'a node whose Lease is not renewed for this long is marked Ready=Unknown and tainted unreachable' },
} as const;

export async function runControllerManager(args: string[]): Promise<void> {
  const f = parseFlags('controller-manager', 'Runs the Skiff controllers against an API server.', CONTROLLER_MANAGER_FLAGS, args);
  const controllers = f.controllers.split(',').map((s) => s.trim()).filter(Boolean);
  let manager;
  try {
    manager = await startControllerManager({
      kubeconfig: f.kubeconfig || undefined,
      controllers: controllers.length === 1 && controllers[0] === '*' ? '*' : controllers,
      leaderElect: f['leader-elect'],
      options: { nodeMonitorGracePeriodMs: Math.max(1000, durationFlag('node-monitor-grace-period', f['node-monitor-grace-period'])) },
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
