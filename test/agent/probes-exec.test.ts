// exec probes through a real CRI runtime (Skiff's, on a temp root): a busybox container whose
// health is a file, probed with `test -f`, made unhealthy by removing the file; timeouts,
// $(VAR) expansion and a container that is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import { ProbeManager, type ProbeEvent, type ProbeKind } from '../../src/agent/probes/index.ts';
import { runProbe } from '../../src/agent/probes/run.ts';
import { containerConfig, podConfig, startHarness, type Harness } from '../runtime/harness.ts';
import { until } from '../helpers/wait.ts';

let h: Harness;
let podId: string;
let containerId: string;
const pod = () => podConfig('probed', h.dir);

before(async () => {
  h = await startHarness();
  ({ pod_sandbox_id: podId } = await h.client.runPodSandbox({ config: pod(), runtime_handler: '' }));
  const { container_id: id } = await h.client.createContainer({
    pod_sandbox_id: podId,
    config: containerConfig('app', ['sh', '-c', 'trap "exit 0" TERM; touch /tmp/healthy; while true; do sleep 0.2; done']),
    sandbox_config: pod(),
  });
  await h.client.startContainer({ container_id: id });
  containerId = id;
  await until('the health file', async () => (await h.client.execSync({ container_id: id, cmd: ['test', '-f', '/tmp/healthy'], timeout: 5 })).exit_code === 0, 20_000);
});

after(async () => { await h?.cleanup(); });

const target = (container: Container) => ({ cri: h.client, container, containerId, podIP: '' });

test('exec: exit 0 passes, other exit codes fail with the command\'s output', async () => {
  assert.deepEqual(await runProbe({ exec: { command: ['test', '-f', '/tmp/healthy'] } }, target({ name: 'app' })), { result: 'success', output: '' });
  assert.deepEqual(await runProbe({ exec: { command: ['sh', '-c', 'echo out; echo err >&2; exit 2'] } }, target({ name: 'app' })),
    { result: 'failure', output: 'out\nerr\n' });
});

test('exec: a command running past timeoutSeconds fails as timed out', async () => {
  const t0 = Date.now();
  const outcome = await runProbe({ exec: { command: ['sleep', '10'] }, timeoutSeconds: 1 }, target({ name: 'app' }));
  assert.deepEqual(outcome, { result: 'failure', output: 'command "sleep 10" timed out' });
  assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
});

test('exec: $(VAR) in the command expands from the container\'s literal env only', async () => {
  const container: Container = { name: 'app', env: [{ name: 'MARKER', value: '/tmp/healthy' }, { name: 'FROM_API', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] };
  const outcome = await runProbe({ exec: { command: ['sh', '-c', "test -f $(MARKER) && echo '$(FROM_API) $$(MARKER)'"] } }, target(container));
  assert.deepEqual(outcome, { result: 'success', output: '$(FROM_API) $(MARKER)\n' });
});

test('liveness and readiness exec probes through ProbeManager: removing the file makes the container unready and unhealthy', async (t) => {
  const changes: string[] = [];
  const unhealthy: [string, string, ProbeKind, string][] = [];
  const events: ProbeEvent[] = [];
  const m = new ProbeManager({
    cri: h.client,
    onChange: (uid) => changes.push(uid),
    onUnhealthy: (uid, id, kind, message) => unhealthy.push([uid, id, kind, message]),
    onEvent: (e) => events.push(e),
  });
  t.after(() => m.stop());
  const container: Container = {
    name: 'app',
    livenessProbe: { exec: { command: ['test', '-f', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 },
    readinessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 },
  };
  const p: Pod = { metadata: { name: 'probed', namespace: 'default', uid: 'uid-probed' }, spec: { containers: [container] } };
  m.addContainer(p, container, containerId, '', Date.now());
  await until('ready', () => m.isReady(containerId), 20_000);
  assert.deepEqual(changes, ['uid-probed']);
  assert.deepEqual(unhealthy, []);

  await h.client.execSync({ container_id: containerId, cmd: ['rm', '/tmp/healthy'], timeout: 5 });
  await until('not ready', () => !m.isReady(containerId), 20_000);
  await until('onUnhealthy', () => unhealthy.length > 0, 20_000);
  assert.deepEqual(unhealthy, [['uid-probed', containerId, 'liveness', 'Container app failed liveness probe, will be restarted']]);
  assert.deepEqual(changes, ['uid-probed', 'uid-probed']);
  const messages = new Set(events.map((e) => `${e.reason}: ${e.message}`));
  assert.ok(messages.has('Unhealthy: Liveness probe failed: '), [...messages].join('\n'));
  assert.ok(messages.has("Unhealthy: Readiness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n"), [...messages].join('\n'));

  // Healthy again: readiness comes back (liveness has given its verdict and waits for a new container).
  await h.client.execSync({ container_id: containerId, cmd: ['touch', '/tmp/healthy'], timeout: 5 });
  await until('ready again', () => m.isReady(containerId), 20_000);
  assert.equal(unhealthy.length, 1);
});

test('exec: a container that is gone cannot be probed: "probe errored", no result', async (t) => {
  const { container_id: gone } = await h.client.createContainer({
    pod_sandbox_id: podId, config: containerConfig('gone', ['sh', '-c', 'exit 0']), sandbox_config: pod(),
  });
  await h.client.removeContainer({ container_id: gone });
  const events: ProbeEvent[] = [];
  const changes: string[] = [];
  const m = new ProbeManager({ cri: h.client, onChange: (uid) => changes.push(uid), onUnhealthy: () => assert.fail('no verdict'), onEvent: (e) => events.push(e) });
  t.after(() => m.stop());
  const container: Container = { name: 'gone', livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 1 } };
  m.addContainer({ metadata: { uid: 'uid-gone' }, spec: { containers: [container] } }, container, gone, '', Date.now());
  await until('an errored probe', () => events.length > 0, 20_000);
  assert.match(events[0].message, /^Liveness probe errored: rpc error: code = NotFound desc = /);
  assert.equal(m.lastFailure(gone, 'liveness'), events[0].message);
  assert.deepEqual(changes, []);
});
