// The pod annotation skiff.io/init: "tini" puts Debian's tini in front of every container of the
// pod as PID 1: it reaps orphaned zombies and forwards StopContainer's SIGTERM to the command.
// Without it, PID 1 is the command itself (which, as PID 1, ignores SIGTERM it has no handler for).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INIT_ANNOTATION } from '../../src/runtime/oci-spec.ts';
import { containerConfig, eventually, podConfig, startHarness, type Harness } from './harness.ts';

let h: Harness;
const withTini = () => podConfig('tini', h.dir, { annotations: { [INIT_ANNOTATION]: 'tini' } });
const without = () => podConfig('plain', h.dir);
let tiniPod: string;
let plainPod: string;

before(async () => {
  h = await startHarness();
  ({ pod_sandbox_id: tiniPod } = await h.client.runPodSandbox({ config: withTini(), runtime_handler: '' }));
  ({ pod_sandbox_id: plainPod } = await h.client.runPodSandbox({ config: without(), runtime_handler: '' }));
});

after(async () => { await h?.cleanup(); });

async function start(podId: string, config: ReturnType<typeof podConfig>, name: string, command: string[]): Promise<string> {
  const { container_id: id } = await h.client.createContainer({ pod_sandbox_id: podId, config: containerConfig(name, command), sandbox_config: config });
  await h.client.startContainer({ container_id: id });
  return id;
}

async function sh(id: string, script: string): Promise<string> {
  const r = await h.client.execSync({ container_id: id, cmd: ['sh', '-c', script], timeout: 20 });
  assert.equal(r.exit_code, 0, `${script}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** PID 1's command line, as the container sees it. */
async function pid1(id: string): Promise<string[]> {
  return (await sh(id, 'cat /proc/1/cmdline')).split('\0').filter(Boolean);
}

/** The container's processes in zombie (Z) state, from /proc/<pid>/stat. */
async function zombies(id: string): Promise<string[]> {
  const stat = await sh(id, 'for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; echo; done');
  return stat.split('\n').filter((l) => /^\d+ \(.*\) Z /.test(l));
}

// The subshell forks a short sleep and exits at once: the sleep is orphaned, reparented to PID 1,
// and becomes a zombie when it ends unless PID 1 waits for it. `exec sleep` never waits.
const ORPHAN = ['sh', '-c', '(sleep 0.2 &); exec sleep 600'];

test('with skiff.io/init: tini, PID 1 is tini and the orphan is reaped', { timeout: 120_000 }, async () => {
  const id = await start(tiniPod, withTini(), 'reaper', ORPHAN);
  const cmd = await pid1(id);
  assert.equal(cmd[0], '/.skiff/tini');
  assert.deepEqual(cmd.slice(cmd.indexOf('--') + 1), ORPHAN);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await zombies(id), [], 'tini reaps the orphaned sleep');
  // tini is mounted read-only: the container cannot replace its init.
  const r = await h.client.execSync({ container_id: id, cmd: ['sh', '-c', 'echo x > /.skiff/tini'], timeout: 20 });
  assert.notEqual(r.exit_code, 0);
});

test('without the annotation, PID 1 is the command and the orphan stays a zombie', { timeout: 120_000 }, async () => {
  const id = await start(plainPod, without(), 'noreaper', ORPHAN);
  assert.deepEqual(await pid1(id), ['sleep', '600']);
  const z = await eventually('the orphan to become a zombie', async () => {
    const list = await zombies(id);
    return list.length ? list : undefined;
  }, 20_000);
  assert.match(z[0], /\(sleep\) Z /);
});

test('StopContainer\'s SIGTERM reaches the command through tini', { timeout: 120_000 }, async () => {
  const id = await start(tiniPod, withTini(), 'graceful', ['sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done']);
  const log = join(h.dir, 'logs', 'tini', 'graceful', '0.log');
  await eventually('the trap to be set', async () => (await readFile(log, 'utf8').catch(() => '')).includes('ready') || undefined, 20_000);
  const t0 = Date.now();
  await h.client.stopContainer({ container_id: id, timeout: 30 });
  assert.ok(Date.now() - t0 < 15_000, 'the command handled SIGTERM well before the timeout');
  const { status } = await h.client.containerStatus({ container_id: id });
  assert.equal(status?.state, 'CONTAINER_EXITED');
  assert.equal(status?.exit_code, 7, 'tini exits with the command\'s exit code');
  assert.match(await readFile(log, 'utf8'), / stdout F got TERM$/m);
});

test('a command without a SIGTERM handler stops at once under tini, and only after the timeout as PID 1', { timeout: 120_000 }, async () => {
  const under = await start(tiniPod, withTini(), 'sleeper', ['sleep', '600']);
  let t0 = Date.now();
  await h.client.stopContainer({ container_id: under, timeout: 30 });
  assert.ok(Date.now() - t0 < 15_000, 'tini forwarded SIGTERM to sleep, which died of it');
  assert.equal((await h.client.containerStatus({ container_id: under })).status?.exit_code, 143);

  const bare = await start(plainPod, without(), 'sleeper', ['sleep', '600']);
  t0 = Date.now();
  await h.client.stopContainer({ container_id: bare, timeout: 2 });
  assert.ok(Date.now() - t0 >= 2000, 'as PID 1, sleep ignores SIGTERM until SIGKILL');
  assert.equal((await h.client.containerStatus({ container_id: bare })).status?.exit_code, 137);
});

test('an unknown init is refused at CreateContainer', async () => {
  const config = podConfig('badinit', h.dir, { annotations: { [INIT_ANNOTATION]: 'systemd' } });
  const { pod_sandbox_id: podId } = await h.client.runPodSandbox({ config, runtime_handler: '' });
  await assert.rejects(h.client.createContainer({ pod_sandbox_id: podId, config: containerConfig('x', ['true']), sandbox_config: config }),
    /skiff\.io\/init: "systemd" is not a known init/);
});
