// The spawner shell (src/runtime/spawner.ts) that runs the runtime's host commands: what a caller
// of command.ts' run() relies on (output, exit codes, stdin, env, timeouts, errors, concurrency),
// and background commands (conmon's way) that are reaped when they end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '../../src/runtime/command.ts';
import { hostLaunch, hostRun } from '../../src/runtime/spawner.ts';
import { within } from '../helpers/wait.ts';

test('stdout, stderr, stdin and the exit code come back as with run()', async () => {
  const r = await hostRun('sh', ['-c', 'cat; echo "to err" >&2; exit 3'], { input: 'from stdin\n', allowFailure: true });
  assert.equal(r.code, 3);
  assert.equal(r.stdout.toString(), 'from stdin\n');
  assert.equal(r.stderr.toString(), 'to err\n');
  assert.equal(r.timedOut, false);
});

test('arguments reach the command unchanged, quotes and newlines included', async () => {
  const args = ["it's", 'a "b"', 'two\nlines', '$HOME', '*', ''];
  const r = await hostRun('sh', ['-c', 'for a in "$@"; do printf "[%s]" "$a"; done', 'sh', ...args]);
  assert.equal(r.stdout.toString(), args.map((a) => `[${a}]`).join(''));
});

test('env replaces the environment', async () => {
  const r = await hostRun('/usr/bin/env', [], { env: { ONLY: "x'y z" } });
  assert.equal(r.stdout.toString(), "ONLY=x'y z\n");
});

test('a failing command rejects with a CommandError that says what it printed', async () => {
  await assert.rejects(hostRun('sh', ['-c', 'echo bad thing >&2; exit 2']), (err: unknown) => {
    assert.ok(err instanceof CommandError);
    assert.equal(err.result.code, 2);
    assert.match(err.message, /exited with 2: bad thing/);
    return true;
  });
  await assert.rejects(hostRun('/no/such/binary', []), /cannot run \/no\/such\/binary/);
});

test('a command past its timeout is killed (code -1)', async () => {
  const t = performance.now();
  const r = await hostRun('sleep', ['30'], { timeoutMs: 300, allowFailure: true });
  assert.equal(r.timedOut, true);
  assert.equal(r.code, -1);
  assert.ok(performance.now() - t < 10_000);
});

test('commands run side by side: a slow one does not hold up the others', async () => {
  const slow = hostRun('sleep', ['3']);
  const t = performance.now();
  const quick = await Promise.all(Array.from({ length: 20 }, (_, i) => hostRun('echo', [String(i)])));
  assert.ok(performance.now() - t < 2500, 'quick commands waited for the slow one');
  assert.deepEqual(quick.map((r) => r.stdout.toString().trim()), Array.from({ length: 20 }, (_, i) => String(i)));
  await slow;
});

test('a launched command runs in its dir with its log, reports its exit and is reaped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-spawner-'));
  try {
    const log = join(dir, 'out.log');
    const l = await hostLaunch('sh', ['-c', 'echo "$$ $(pwd)"; echo err >&2; sleep 0.3; exit 7'], { logFile: log, cwd: dir, newSession: true });
    assert.equal(await within('the launched command to exit', l.exited, 20_000), 7);
    assert.equal(await readFile(log, 'utf8'), `${l.pid} ${dir}\nerr\n`);
    // Gone for good, not a zombie left to its parent.
    const state = await readFile(`/proc/${l.pid}/stat`, 'utf8').catch(() => '');
    assert.ok(state === '' || !/\) Z /.test(state), `pid ${l.pid} is a zombie: ${state}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
