// gVisor through the `runsc` runtime handler: a pod asking for it runs its containers in gVisor's
// kernel (uname -r says gVisor's version) while a runc pod sees the host's kernel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { run as runCommand } from '../../src/runtime/command.ts';
import { defaultHandlers, formatHandlers, parseHandlers } from '../../src/runtime/handlers.ts';
import { containerConfig, eventually, podConfig, startHarness, type Harness } from './harness.ts';

const RUNSC = '/usr/bin/runsc';
const skip = existsSync(RUNSC) ? false : `${RUNSC} is not installed (Debian package runsc)`;

let h: Harness;

before(async () => {
  if (skip) return;
  h = await startHarness({ handlers: defaultHandlers() });
});

after(async () => {
  if (!h) return;
  const stateRoot = join(h.root, 'runsc');
  // Whatever removal could not undo: runsc's sandboxes, by the ids it lists under our root.
  const listed = await runCommand(RUNSC, [`--root=${stateRoot}`, 'list', '-q'], { allowFailure: true });
  await h.cleanup();
  for (const id of listed.stdout.toString().split('\n').filter(Boolean)) {
    await runCommand(RUNSC, [`--root=${stateRoot}`, 'delete', '--force', id], { allowFailure: true });
  }
});

async function unameIn(handler: string, name: string): Promise<{ podId: string; kernel: string; logs: string }> {
  const config = podConfig(name, h.dir);
  const { pod_sandbox_id: podId } = await h.client.runPodSandbox({ config, runtime_handler: handler });
  const { container_id: id } = await h.client.createContainer({
    pod_sandbox_id: podId, config: containerConfig('main', ['sh', '-c', 'uname -r; echo up; exec sleep 600']), sandbox_config: config,
  });
  await h.client.startContainer({ container_id: id });
  const { status } = await h.client.containerStatus({ container_id: id });
  assert.equal(status?.state, 'CONTAINER_RUNNING');
  const out = await h.client.execSync({ container_id: id, cmd: ['uname', '-r'], timeout: 30 });
  assert.equal(out.exit_code, 0, `uname -r failed: ${out.stderr.toString()}`);
  const logs = await eventually(`the log of ${name}`, async () => {
    const r = await runCommand('cat', [join(h.dir, 'logs', name, 'main', '0.log')], { allowFailure: true });
    const text = r.stdout.toString();
    return text.includes('up') ? text : undefined;
  }, 30_000);
  await h.client.stopContainer({ container_id: id, timeout: 5 });
  return { podId, kernel: out.stdout.toString().trim(), logs };
}

test('a runsc pod reports gVisor\'s kernel, a runc pod the host\'s', { skip, timeout: 180_000 }, async () => {
  const gvisor = await unameIn('runsc', 'sandboxed');
  const host = await unameIn('runc', 'plain');
  assert.equal(host.kernel, release(), 'runc containers share the host kernel');
  assert.notEqual(gvisor.kernel, release(), 'the runsc container must not see the host kernel');
  // gVisor's sentry reports a fixed Linux version (4.4.0 in Debian's runsc).
  assert.match(gvisor.kernel, /^\d+\.\d+\.\d+/);
  // The container's own output went through conmon into the CRI log.
  assert.match(gvisor.logs, / stdout F up$/m);
  const { status } = await h.client.podSandboxStatus({ pod_sandbox_id: gvisor.podId });
  assert.equal(status?.runtime_handler, 'runsc');
  for (const podId of [gvisor.podId, host.podId]) await h.client.removePodSandbox({ pod_sandbox_id: podId });
  const left = await runCommand(RUNSC, [`--root=${join(h.root, 'runsc')}`, 'list', '-q'], { allowFailure: true });
  assert.equal(left.stdout.toString().trim(), '', 'RemovePodSandbox deletes the gVisor sandbox');
});

test('Status lists both handlers; --runtime-handlers carries per-handler flags', { skip }, async () => {
  const res = await h.client.status({ verbose: false });
  assert.deepEqual(res.runtime_handlers.map((r) => r.name).sort(), ['runc', 'runsc']);
  const parsed = parseHandlers('runc=/usr/sbin/runc, runsc=/usr/bin/runsc --network=host --platform=ptrace');
  assert.deepEqual(parsed, {
    runc: { binary: '/usr/sbin/runc' },
    runsc: { binary: '/usr/bin/runsc', args: ['--network=host', '--platform=ptrace'] },
  });
  assert.deepEqual(parseHandlers(formatHandlers(parsed)), parsed);
  assert.throws(() => parseHandlers('runsc='), /NAME=\/path\/to\/binary/);
});

test('a handler whose binary is missing fails RunPodSandbox with what to install', { skip }, async () => {
  const other = await startHarness({ handlers: { runc: { binary: '/usr/sbin/runc' }, runsc: { binary: '/nonexistent/runsc' } } });
  try {
    await assert.rejects(other.client.runPodSandbox({ config: podConfig('nope', other.dir), runtime_handler: 'runsc' }),
      /apt-get install runsc/);
  } finally {
    await other.cleanup();
  }
});
