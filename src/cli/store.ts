// `skiff store migrate`: moves a cluster's objects from the embedded SQLite store to etcd.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { copyStore } from '../store/migrate.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';
import { openStoreFromFlags, STORE_FLAGS } from './store-flags.ts';

const { store: _store, ...ETCD_FLAGS } = STORE_FLAGS;
export const MIGRATE_FLAGS = {
  'data-dir': { type: 'string', default: '/var/lib/skiff', help: 'data directory of the `skiff server` whose SQLite store is copied (stop that server first)' },
  ...ETCD_FLAGS,
} as const;

const USAGE = 'Usage: skiff store migrate --data-dir DIR --etcd-endpoints URL[,URL...] [--etcd-prefix /skiff]';

export async function runStore(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(`${USAGE}\n\nCopies every object of the embedded SQLite store into etcd; then start \`skiff server --store etcd\` with the same data dir (its certificates and tokens stay there).`);
    return;
  }
  if (sub !== 'migrate') throw new CliError(`unknown store command "${sub}"\n${USAGE}`);
  const f = parseFlags('store migrate', 'Copies every object of the embedded SQLite store into an empty etcd prefix.', MIGRATE_FLAGS, rest);
  const db = join(f['data-dir'], 'db', 'state.db');
  if (!existsSync(db)) throw new CliError(`${db} does not exist: --data-dir must be a \`skiff server\` data directory`);
  if (!f['etcd-endpoints']) throw new CliError('--etcd-endpoints is required (e.g. http://127.0.0.1:2379)');
  const to = await openStoreFromFlags({ ...f, store: 'etcd' }, 0);
  const from = openSqliteStore(db, { compactIntervalMs: 0 });
  try {
    const result = await copyStore(from, to!, (n) => process.stderr.write(`\rskiff: copied ${n} keys`));
    process.stderr.write('\n');
    console.log(`skiff: migrated ${result.copied} keys (SQLite revision ${result.revision}) to ${f['etcd-endpoints']} under ${f['etcd-prefix']}`);
    console.log(`skiff: now run: skiff server --data-dir ${f['data-dir']} --store etcd --etcd-endpoints ${f['etcd-endpoints']} --etcd-prefix ${f['etcd-prefix']}`);
  } catch (e) {
    throw new CliError(`migration failed: ${(e as Error).message}`);
  } finally {
    await from.close();
    await to!.close();
  }
}
