// A restarted runtime (a new Runtime on the same root) loses nothing: a container still running
// under its conmon is RUNNING, one that exited while the runtime was down is EXITED with its code.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { containerConfig, eventually, podConfig, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
after(async () => { await h?.cleanup(); });

test('after a restart, running containers stay RUNNING and exits are picked up', async () => {
  h = await startHarness();
  const harness = h;
  const pod = podConfig('survivor', harness.dir);
  const { pod_sandbox_id: podId } = await harness.client.runPodSandbox({ config: pod });
  const start = async (name: string, command: string[]) => {
    const { container_id: id } = await harness.client.createContainer({ pod_sandbox_id: podId, config: containerConfig(name, command), sandbox_config: pod });
    await harness.client.startContainer({ container_id: id });
    return id;
  };
  const longId = await start('long', ['sleep', '60']);
  const shortId = await start('short', ['sh', '-c', 'sleep 1; exit 4']);
  const createdOnly = (await harness.client.createContainer({ pod_sandbox_id: podId, config: containerConfig('later', ['true']), sandbox_config: pod })).container_id;

  // The "daemon" goes away; the short container ends while nobody is listening.
  harness.client.close();
  await harness.server.close(1000);
  await eventually('conmon to record the exit', () => access(join(harness.root, 'exits', shortId)).then(() => true), 10_000);

  await harness.restart();
  const list = await harness.client.listContainers({});
  const states = Object.fromEntries(list.containers.map((c) => [c.id, c.state]));
  assert.deepEqual(states, { [longId]: 'CONTAINER_RUNNING', [shortId]: 'CONTAINER_EXITED', [createdOnly]: 'CONTAINER_CREATED' });
  const short = await harness.client.containerStatus({ container_id: shortId });
  assert.equal(short.status?.exit_code, 4);
  assert.equal(short.status?.reason, 'Error');
  const sandbox = await harness.client.podSandboxStatus({ pod_sandbox_id: podId });
  assert.equal(sandbox.status?.state, 'SANDBOX_READY');

  // The restarted runtime still drives the old container.
  const exec = await harness.client.execSync({ container_id: longId, cmd: ['echo', 'still here'], timeout: 10 });
  assert.equal(exec.stdout.toString(), 'still here\n');
  await harness.client.stopContainer({ container_id: longId, timeout: 1 });
  const long = await harness.client.containerStatus({ container_id: longId });
  assert.equal(long.status?.state, 'CONTAINER_EXITED');
  // sleep is PID 1 without a TERM handler, so the kernel ignores TERM: SIGKILL after the timeout.
  assert.equal(long.status?.exit_code, 137);

  await harness.client.stopPodSandbox({ pod_sandbox_id: podId });
  assert.equal((await harness.client.podSandboxStatus({ pod_sandbox_id: podId })).status?.state, 'SANDBOX_NOTREADY');
  await harness.client.removePodSandbox({ pod_sandbox_id: podId });
  assert.deepEqual((await harness.client.listPodSandbox({})).items, []);
  assert.deepEqual((await harness.client.listContainers({})).containers, []);
  await assert.rejects(access(`/run/netns/skiff-${podId.slice(0, 12)}`), 'the network namespace is deleted');
});
