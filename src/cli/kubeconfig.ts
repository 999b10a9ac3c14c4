// `skiff kubeconfig`: prints the admin kubeconfig of a server's (or `skiff up` cluster's) data dir.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';

export const KUBECONFIG_FLAGS = {
  'data-dir': { type: 'string', default: '/var/lib/skiff', help: 'the data directory of `skiff server` or `skiff up`' },
} as const;

export async function runKubeconfig(args: string[]): Promise<void> {
  const f = parseFlags('kubeconfig', 'Prints the admin kubeconfig (save it or point KUBECONFIG at the file).', KUBECONFIG_FLAGS, args);
  const path = join(f['data-dir'], 'kubeconfig');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT'
      ? `${path} does not exist: start a cluster first (skiff up --data-dir ${f['data-dir']})`
      : `cannot read ${path} (${code}): run as root or fix its permissions`);
  }
  process.stdout.write(text);
}
