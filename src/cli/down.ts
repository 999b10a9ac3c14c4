// `skiff down`: stops the `skiff up` cluster of a data dir and removes what it made on the machine.
import { teardownCluster } from '../up/teardown.ts';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';

export const DOWN_FLAGS = {
  'data-dir': { type: 'string', default: '/var/lib/skiff', help: 'the data directory of the cluster `skiff up` started' },
  purge: { type: 'boolean', default: false, help: 'also delete the data directory (every object, image and certificate)' },
} as const;

export async function runDown(args: string[]): Promise<void> {
  const f = parseFlags('down', 'Stops a `skiff up` cluster and every container, network namespace, mount, nft table and route it made.', DOWN_FLAGS, args);
  if (process.getuid?.() !== 0) throw new CliError('skiff down must run as root (it removes network namespaces, mounts and cgroups): run it with sudo');
  await teardownCluster({ dataDir: f['data-dir'], purge: f.purge, log: (line) => console.log(`skiff down: ${line}`) });
  console.log(`skiff down: done${f.purge ? ` (${f['data-dir']} deleted)` : ''}`);
}
