// `skiff up`'s preflight checks and flags: a port in use is one line and exit code 2, with nothing
// started; not being root is reported (checked through preflight() with another uid, since the
// tests run as root); `skiff up --help` documents every flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UP_FLAGS } from '../../src/cli/up.ts';
import { preflight } from '../../src/up/preflight.ts';
import { runSkiff } from '../helpers/skiff-server.ts';

const skiff = (args: string[]) => runSkiff(args, 60_000);

test('a port in use: one line saying so and how to fix it, exit code 2, nothing started', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const { port } = blocker.address() as { port: number };
  const dir = mkdtempSync(join(tmpdir(), 'skiff-up-preflight-'));
  try {
    const r = await skiff(['up', '--data-dir', dir, '--port', String(port)]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^skiff: port ${port} is already in use on 127\\.0\\.0\\.1 .*pass --port$`));
    assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(dir, 'db')), false, 'no store made');
    assert.equal(existsSync(join(dir, 'skiff-up.pid')), false);
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not root: the check says so and how to fix it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-up-preflight-'));
  try {
    const failures = await preflight({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', uid: 1000 });
    const root = failures.find((f) => f.check === 'root');
    assert.match(root?.message ?? '', /must run as root.*sudo/);
    // As root (this test's real uid), the same machine passes.
    assert.deepEqual(await preflight({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', uid: 0 }), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing binaries and an unwritable data dir are reported with their fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-up-preflight-'));
  try {
    // A data dir under a regular file cannot be made.
    writeFileSync(join(dir, 'file'), '');
    const dataDir = join(dir, 'file', 'data');
    const failures = await preflight({ dataDir, port: 0, bindAddress: '127.0.0.1', uid: 0, runc: '/nonexistent/runc' });
    assert.deepEqual(failures.map((f) => f.check), ['binaries', 'data-dir']);
    assert.match(failures[0].message, /missing \/nonexistent\/runc \(package runc\).*setup\.sh/);
    assert.equal(failures[1].message, `data directory ${dataDir} is not writable (ENOTDIR): pick another with --data-dir or fix its permissions`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('skiff up --help documents every flag', async () => {
  const r = await skiff(['up', '--help']);
  assert.equal(r.code, 0, r.stderr);
  const help = r.stdout + r.stderr;
  assert.match(help, /Usage: skiff up/);
  for (const [flag, spec] of Object.entries(UP_FLAGS)) {
    assert.match(help, new RegExp(`--${flag}\\b[^\\n]*${spec.help.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `--${flag} documented`);
  }
  assert.match(help, /--help/);
});
