// A restarted runtime daemon loses nothing, on every backend: a container still running under its
// monitor (conmon, containerd's shim) is RUNNING, one that exited while the daemon was down is
// EXITED with its code, a created one is still CREATED, and the sandbox is still READY.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { selectedBackends, type Backend } from './backends.ts';

for (const spec of selectedBackends()) {
  describe(spec.name, () => {
    let b: Backend | undefined;
    after(async () => { await b?.cleanup(); });

    test('after a restart, running containers stay RUNNING and exits are picked up', async () => {
      b = await spec.start();
      const backend = b;
      const pod = backend.podConfig('survivor');
      const { pod_sandbox_id: podId } = await backend.client.runPodSandbox({ config: pod });
      const start = async (name: string, command: string[]) => {
        const { container_id: id } = await backend.client.createContainer({ pod_sandbox_id: podId, config: backend.containerConfig(name, command), sandbox_config: pod });
        await backend.client.startContainer({ container_id: id });
        return id;
      };
      const longId = await start('long', ['sleep', '60']);
      const shortId = await start('short', ['sh', '-c', 'sleep 1; exit 4']);
      const createdOnly = (await backend.client.createContainer({ pod_sandbox_id: podId, config: backend.containerConfig('later', ['true']), sandbox_config: pod })).container_id;

      // The daemon goes away; the short container ends while nobody is listening.
      await backend.restart(() => sleep(2500));
      const list = await backend.client.listContainers({});
      const states = Object.fromEntries(list.containers.map((c) => [c.id, c.state]));
      assert.deepEqual(states, { [longId]: 'CONTAINER_RUNNING', [shortId]: 'CONTAINER_EXITED', [createdOnly]: 'CONTAINER_CREATED' });
      const short = await backend.client.containerStatus({ container_id: shortId });
      assert.equal(short.status?.exit_code, 4);
      assert.equal(short.status?.reason, 'Error');
      const sandbox = await backend.client.podSandboxStatus({ pod_sandbox_id: podId });
      assert.equal(sandbox.status?.state, 'SANDBOX_READY');

      // The restarted daemon still drives the old container.
      const exec = await backend.client.execSync({ container_id: longId, cmd: ['echo', 'still here'], timeout: 10 });
      assert.equal(exec.stdout.toString(), 'still here\n');
      await backend.client.stopContainer({ container_id: longId, timeout: 1 });
      const long = await backend.client.containerStatus({ container_id: longId });
      assert.equal(long.status?.state, 'CONTAINER_EXITED');
      // sleep is PID 1 without a TERM handler, so the kernel ignores TERM: SIGKILL after the timeout.
      assert.equal(long.status?.exit_code, 137);
      // The created container can still be started.
      await backend.client.startContainer({ container_id: createdOnly });

      await backend.client.stopPodSandbox({ pod_sandbox_id: podId });
      assert.equal((await backend.client.podSandboxStatus({ pod_sandbox_id: podId })).status?.state, 'SANDBOX_NOTREADY');
      await backend.client.removePodSandbox({ pod_sandbox_id: podId });
      assert.deepEqual((await backend.client.listPodSandbox({})).items, []);
      assert.deepEqual((await backend.client.listContainers({})).containers, []);
      if (spec.name === 'skiff') await assert.rejects(access(`/run/netns/skiff-${podId.slice(0, 12)}`), 'the network namespace is deleted');
    });
  });
}
