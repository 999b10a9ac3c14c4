// Bad storage flags and an unreachable etcd: `skiff server`, `skiff store migrate` and
// `skiff etcd-snapshot` answer with one line saying what to fix, exit code 2, no stack trace.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSkiff } from '../helpers/skiff-server.ts';
import { freePort } from '../helpers/wait.ts';

const skiff = (args: string[]) => runSkiff(args, 60_000);

const deadPort = freePort;

function assertOneLineError(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(lines[0], message);
}

it('refuses bad storage flags with one line each', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-flags-'));
  try {
    const server = (...args: string[]) => skiff(['server', '--data-dir', dir, '--port', '0', ...args]);
    assertOneLineError(await server('--store', 'etcd'), /--store etcd needs --etcd-endpoints/);
    assertOneLineError(await server('--store', 'foo'), /--store must be sqlite or etcd, got "foo"/);
    assertOneLineError(await server('--etcd-endpoints', 'http://127.0.0.1:2379'), /--etcd-endpoints needs --store etcd/);
    assertOneLineError(await server('--store', 'etcd', '--etcd-endpoints', '127.0.0.1:2379'), /not a URL like http:\/\/127\.0\.0\.1:2379/);
    assertOneLineError(await server('--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379', '--etcd-prefix', 'skiff'), /--etcd-prefix must start with "\/"/);
    assertOneLineError(await server('--store', 'etcd', '--etcd-endpoints', 'https://127.0.0.1:2379', '--etcd-cafile', join(dir, 'missing.pem')),
      /--etcd-cafile: cannot read .*missing\.pem \(ENOENT\)/);
    writeFileSync(join(dir, 'client.crt'), 'not a certificate');
    assertOneLineError(await server('--store', 'etcd', '--etcd-endpoints', 'https://127.0.0.1:2379', '--etcd-certfile', join(dir, 'client.crt')),
      /--etcd-certfile and --etcd-keyfile go together/);

    assertOneLineError(await skiff(['store', 'migrate', '--data-dir', dir, '--etcd-endpoints', 'http://127.0.0.1:2379']), /state\.db does not exist/);
    assertOneLineError(await skiff(['etcd-snapshot', 'restore', join(dir, 'nothing.db'), '--data-dir', join(dir, 'new')]), /nothing\.db does not exist/);
    assertOneLineError(await skiff(['etcd-snapshot', 'restore', join(dir, 'nothing.db')]), /--data-dir is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('says which etcd it cannot reach, and exits', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-dead-'));
  try {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const t = Date.now();
    const r = await skiff(['server', '--data-dir', dir, '--port', '0', '--store', 'etcd', '--etcd-endpoints', url]);
    assertOneLineError(r, new RegExp(`cannot reach etcd at ${url.replaceAll('.', '\\.')}: .*start etcd or fix --etcd-endpoints`));
    assert.ok(Date.now() - t < 40_000, 'gives up within the dial timeout');
    const snap = await skiff(['etcd-snapshot', 'save', join(dir, 'x.db'), '--etcd-endpoints', url]);
    assertOneLineError(snap, new RegExp(`snapshot from ${url.replaceAll('.', '\\.')} failed`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
