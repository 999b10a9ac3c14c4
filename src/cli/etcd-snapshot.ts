// `skiff etcd-snapshot save|restore`: backups of an etcd-backed cluster. save streams a member's
// snapshot (etcd's Maintenance.Snapshot, what `etcdctl snapshot save` does) into a file; restore
// turns a snapshot into a fresh member data dir with Debian's etcdctl (etcd-client package), to
// start a new etcd on, as etcd's disaster-recovery guide describes:
// https://etcd.io/docs/v3.4/op-guide/recovery/
import { createWriteStream, existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Etcd3 } from 'etcd3';
import { run } from '../runtime/command.ts';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';

const USAGE = `Usage:
  skiff etcd-snapshot save FILE --etcd-endpoints URL
  skiff etcd-snapshot restore FILE --data-dir DIR [--name NAME] [--initial-cluster NAME=PEER_URL] [--initial-advertise-peer-urls URL]`;

export const SAVE_FLAGS = {
  'etcd-endpoints': { type: 'string', default: 'http://127.0.0.1:2379', help: 'the member to take the snapshot from' },
} as const;

export const RESTORE_FLAGS = {
  'data-dir': { type: 'string', default: '', help: 'new etcd data directory to create (must not exist)' },
  name: { type: 'string', default: 'default', help: 'the restored member\'s name (etcd --name)' },
  'initial-cluster': { type: 'string', default: '', help: 'etcd --initial-cluster of the restored cluster (default: NAME=http://localhost:2380)' },
  'initial-advertise-peer-urls': { type: 'string', default: 'http://localhost:2380', help: 'the restored member\'s peer URL' },
  etcdctl: { type: 'string', default: '/usr/bin/etcdctl', help: 'etcdctl binary (Debian package etcd-client)' },
} as const;

async function save(file: string, args: string[]): Promise<void> {
  const f = parseFlags('etcd-snapshot save', 'Saves a snapshot of etcd into FILE.', SAVE_FLAGS, args);
  const client = new Etcd3({ hosts: f['etcd-endpoints'].split(','), dialTimeout: 10_000 });
  const partial = `${file}.part`;
  try {
    const stream = await client.maintenance.snapshot();
    const out = createWriteStream(partial, { mode: 0o600 });
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      // A member's snapshot is its whole database; file writes keep up with a gRPC stream.
      stream.on('data', (res: { blob: Buffer }) => {
        bytes += res.blob.length;
        out.write(res.blob);
      });
      stream.on('error', reject);
      out.on('error', reject);
      stream.on('end', () => out.end(() => resolve()));
    });
    await rename(partial, file);
    console.log(`skiff: saved a snapshot of ${bytes} bytes to ${file}`);
  } catch (e) {
    await rm(partial, { force: true });
    throw new CliError(`snapshot from ${f['etcd-endpoints']} failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    client.close();
  }
}

async function restore(file: string, args: string[]): Promise<void> {
  const f = parseFlags('etcd-snapshot restore', 'Restores a snapshot into a new etcd data directory.', RESTORE_FLAGS, args);
  if (!f['data-dir']) throw new CliError('--data-dir is required: the new etcd data directory to create');
  if (existsSync(f['data-dir'])) throw new CliError(`${f['data-dir']} already exists: restore into a new directory`);
  if (!existsSync(file)) throw new CliError(`${file} does not exist`);
  if (!existsSync(f.etcdctl)) throw new CliError(`${f.etcdctl} not found: install Debian's etcd-client package (./scripts/setup.sh does)`);
  const cluster = f['initial-cluster'] || `${f.name}=${f['initial-advertise-peer-urls']}`;
  const r = await run(f.etcdctl, [
    'snapshot', 'restore', file, '--data-dir', f['data-dir'], '--name', f.name,
    '--initial-cluster', cluster, '--initial-advertise-peer-urls', f['initial-advertise-peer-urls'],
  ], { env: { ...process.env, ETCDCTL_API: '3' }, allowFailure: true, timeoutMs: 120_000 });
  if (r.code !== 0) throw new CliError(`etcdctl snapshot restore failed: ${r.stderr.toString().trim().split('\n').pop()}`);
  console.log(`skiff: restored ${file} into ${f['data-dir']}; start etcd with --data-dir ${f['data-dir']} --name ${f.name} --initial-cluster ${cluster}`);
}

export async function runEtcdSnapshot(args: string[]): Promise<void> {
  const [sub, file, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return;
  }
  if (sub !== 'save' && sub !== 'restore') throw new CliError(`unknown etcd-snapshot command "${sub}"\n${USAGE}`);
  if (!file || file.startsWith('-')) throw new CliError(`etcd-snapshot ${sub} needs a FILE\n${USAGE}`);
  await (sub === 'save' ? save(file, rest) : restore(file, rest));
}
