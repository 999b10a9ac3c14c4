// Drives a pod sandbox + container lifecycle through the CRI client against serveCri with an
// in-memory runtime, over a real unix socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { serveCri, type CriServer } from '../../src/cri/server.ts';
import { Code, CriError, isNotFound } from '../../src/cri/errors.ts';
import { fakeRuntime } from './fake-runtime.ts';

let dir: string;
let server: CriServer;
let client: CriClient;
const runtime = fakeRuntime();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-cri-'));
  server = await serveCri(`unix://${dir}/run/cri.sock`, runtime, { log: () => {} });
  client = createCriClient(server.endpoint, { timeoutMs: 5000 });
});

after(async () => {
  client.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const podConfig = {
  metadata: { name: 'web-0', namespace: 'default', uid: 'uid-1', attempt: 0 },
  labels: { app: 'web', 'io.kubernetes.pod.name': 'web-0' },
  annotations: { note: 'x' },
  log_directory: '/var/log/pods/default_web-0_uid-1',
  dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'] },
  port_mappings: [{ protocol: 'TCP' as const, container_port: 80, host_port: 8080 }],
};

async function expectCode(promise: Promise<unknown>, code: number, match: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CriError, `expected CriError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, match);
    return true;
  });
}

test('Version and Status answer with the runtime identity and conditions', async () => {
  const v = await client.version();
  assert.deepEqual(v, { version: '0.1.0', runtime_name: 'fake', runtime_version: '0.0.1', runtime_api_version: 'v1' });
  const s = await client.status({ verbose: false });
  assert.deepEqual(s.status?.conditions.map((c) => [c.type, c.status]), [['RuntimeReady', true], ['NetworkReady', true]]);
  // Unset message fields decode as null and maps as {}: every field is present.
  assert.equal(s.features, null);
  assert.deepEqual(s.info, {});
});

test('a pod sandbox and its container go through their states and disappear', async () => {
  const { pod_sandbox_id: podId } = await client.runPodSandbox({ config: podConfig, runtime_handler: 'runc' });
  assert.match(podId, /^[0-9a-f]{64}$/);

  const pod = await client.podSandboxStatus({ pod_sandbox_id: podId, verbose: true });
  assert.equal(pod.status?.state, 'SANDBOX_READY');
  assert.equal(pod.status?.metadata?.name, 'web-0');
  assert.equal(pod.status?.network?.ip, '10.88.0.2');
  assert.equal(pod.status?.runtime_handler, 'runc');
  assert.deepEqual(pod.info, { pid: '4242' });
  // 64-bit nanosecond timestamps come back as numbers close to now.
  assert.ok(Math.abs((pod.status?.created_at ?? 0) / 1e6 - Date.now()) < 60_000);

  const { container_id: ctrId } = await client.createContainer({
    pod_sandbox_id: podId,
    config: {
      metadata: { name: 'nginx', attempt: 0 },
      image: { image: 'docker.io/library/nginx:1.27' },
      command: ['nginx'], args: ['-g', 'daemon off;'],
      envs: [{ key: 'A', value: Buffer.from('b') }],
      labels: { 'io.kubernetes.container.name': 'nginx' },
      log_path: 'nginx/0.log',
      stop_signal: 'SIGNAL_SIGQUIT',
    },
    sandbox_config: podConfig,
  });
  assert.equal((await client.containerStatus({ container_id: ctrId })).status?.state, 'CONTAINER_CREATED');

  await client.startContainer({ container_id: ctrId });
  const running = await client.containerStatus({ container_id: ctrId });
  assert.equal(running.status?.state, 'CONTAINER_RUNNING');
  assert.equal(running.status?.image?.image, 'docker.io/library/nginx:1.27');
  assert.ok((running.status?.started_at ?? 0) >= (running.status?.created_at ?? 0));

  const exec = await client.execSync({ container_id: ctrId, cmd: ['echo', 'hi'], timeout: 5 });
  assert.equal(exec.stdout.toString(), 'echo hi\n');
  assert.equal(exec.exit_code, 0);

  const listed = await client.listContainers({ filter: { pod_sandbox_id: podId, state: { state: 'CONTAINER_RUNNING' } } });
  assert.deepEqual(listed.containers.map((c) => [c.id, c.metadata?.name, c.state]), [[ctrId, 'nginx', 'CONTAINER_RUNNING']]);

  await client.stopContainer({ container_id: ctrId, timeout: 30 });
  const exited = await client.containerStatus({ container_id: ctrId });
  assert.equal(exited.status?.state, 'CONTAINER_EXITED');
  assert.equal(exited.status?.reason, 'Completed');
  await expectCode(client.startContainer({ container_id: ctrId }), Code.FAILED_PRECONDITION, /not created/);

  await client.removeContainer({ container_id: ctrId });
  await assert.rejects(client.containerStatus({ container_id: ctrId }), (err: unknown) => isNotFound(err));

  await expectCode(client.removePodSandbox({ pod_sandbox_id: podId }), Code.FAILED_PRECONDITION, /stop it first/);
  await client.stopPodSandbox({ pod_sandbox_id: podId });
  const notReady = await client.listPodSandbox({ filter: { state: { state: 'SANDBOX_NOTREADY' }, label_selector: { app: 'web' } } });
  assert.deepEqual(notReady.items.map((p) => p.id), [podId]);
  assert.deepEqual((await client.listPodSandbox({ filter: { state: { state: 'SANDBOX_READY' } } })).items, []);

  await client.removePodSandbox({ pod_sandbox_id: podId });
  await client.removePodSandbox({ pod_sandbox_id: podId }); // idempotent
  assert.deepEqual((await client.listPodSandbox()).items, []);
});

test('unknown ids answer NotFound with the id in the message', async () => {
  await expectCode(client.podSandboxStatus({ pod_sandbox_id: 'nope' }), Code.NOT_FOUND, /pod sandbox "nope" not found/);
  await expectCode(client.createContainer({ pod_sandbox_id: 'nope', config: {} }), Code.NOT_FOUND, /"nope"/);
  await expectCode(client.containerStatus({ container_id: 'gone' }), Code.NOT_FOUND, /container "gone" not found/);
  await expectCode(client.runPodSandbox({ config: {} }), Code.INVALID_ARGUMENT, /metadata.name is required/);
});

test('image service: ListImages and ImageFsInfo carry 64-bit sizes', async () => {
  const images = await client.listImages();
  assert.equal(images.images[0]?.repo_tags[0], 'docker.io/library/busybox:1.36');
  assert.equal(images.images[0]?.size, 4_300_000);
  assert.equal(images.images[0]?.uid, null);
  const fs = await client.imageFsInfo();
  assert.equal(fs.image_filesystems[0]?.fs_id?.mountpoint, '/var/lib/fake');
  assert.equal(fs.image_filesystems[0]?.used_bytes?.value, 4_300_000);
  assert.deepEqual(fs.container_filesystems, []);
});

test('GetContainerEvents streams lifecycle events until the caller stops', async () => {
  const { pod_sandbox_id: podId } = await client.runPodSandbox({ config: podConfig });
  const controller = new AbortController();
  const seen: string[] = [];
  const consumer = (async () => {
    for await (const ev of client.getContainerEvents({}, { signal: controller.signal })) {
      seen.push(ev.container_event_type);
      assert.equal(ev.containers_statuses.length, 1);
      if (seen.length === runtime.events.length && ev.container_event_type === 'CONTAINER_DELETED_EVENT') controller.abort();
    }
  })();
  const { container_id: id } = await client.createContainer({ pod_sandbox_id: podId, config: { metadata: { name: 'c' } } });
  await client.startContainer({ container_id: id });
  await client.stopContainer({ container_id: id });
  await client.removeContainer({ container_id: id });
  await consumer;
  assert.deepEqual(seen.slice(-4), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
});
