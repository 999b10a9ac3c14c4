// Wire compatibility with an independent CRI implementation: our client against the CRI plugin
// of a real containerd (Debian's `containerd` package), run privately on a socket in a temp dir.
// crictl is not packaged for Debian bookworm, so this is the interop check we can run; it is
// skipped where containerd is not installed or we are not root. Nothing here pulls images, so
// containerd sends no network traffic.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { Code } from '../../src/cri/errors.ts';

const CONTAINERD = '/usr/bin/containerd';
const skip = !existsSync(CONTAINERD) ? `${CONTAINERD} not installed (apt-get install containerd)`
  : process.getuid?.() !== 0 ? 'containerd needs root' : false;

let dir: string;
let containerd: ChildProcess | undefined;
let client: CriClient;
let log = '';

function config(d: string): string {
  // Only what the CRI plugin needs to start: private root/state/socket, the portable native
  // snapshotter, and an empty CNI directory (so NetworkReady is false, which we assert).
  return `version = 2
root = "${d}/root"
state = "${d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${d}/containerd.sock"
[ttrpc]
  address = "${d}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${d}/cni-bin"
    conf_dir = "${d}/cni-conf"
`;
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'skiff-containerd-'));
  await writeFile(join(dir, 'config.toml'), config(dir));
  containerd = spawn(CONTAINERD, ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  containerd.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString(); });
  client = createCriClient(`unix://${dir}/containerd.sock`, { timeoutMs: 10_000 });
  await client.waitForReady(15_000).catch((err: Error) => {
    throw new Error(`containerd did not come up: ${err.message}\n${log.slice(-2000)}`);
  });
});

after(async () => {
  if (skip) return;
  client?.close();
  if (containerd && containerd.exitCode === null) {
    containerd.kill('SIGTERM');
    await once(containerd, 'exit');
  }
  await rm(dir, { recursive: true, force: true });
});

test('containerd CRI: Version identifies containerd speaking v1', { skip }, async () => {
  const v = await client.version();
  assert.equal(v.runtime_name, 'containerd');
  assert.equal(v.runtime_api_version, 'v1');
  assert.match(v.runtime_version, /^\d+\.\d+/);
});

test('containerd CRI: Status reports RuntimeReady and (without CNI config) NetworkReady=false', { skip }, async () => {
  const s = await client.status({ verbose: false });
  const conditions = Object.fromEntries((s.status?.conditions ?? []).map((c) => [c.type, c]));
  assert.equal(conditions.RuntimeReady?.status, true);
  assert.equal(conditions.NetworkReady?.status, false);
  assert.equal(conditions.NetworkReady?.reason, 'NetworkPluginNotReady');
});

test('containerd CRI: empty lists and image filesystem usage decode', { skip }, async () => {
  assert.deepEqual((await client.listPodSandbox({ filter: { label_selector: { app: 'x' } } })).items, []);
  assert.deepEqual((await client.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers, []);
  assert.deepEqual((await client.listImages()).images, []);
  assert.deepEqual((await client.listContainerStats()).stats, []);
  const fs = await client.imageFsInfo();
  assert.equal(fs.image_filesystems.length, 1);
  assert.match(fs.image_filesystems[0]?.fs_id?.mountpoint ?? '', /io\.containerd\.snapshotter\.v1\.native$/);
  assert.equal(typeof fs.image_filesystems[0]?.used_bytes?.value, 'number');
  assert.ok((fs.image_filesystems[0]?.timestamp ?? 0) > 1e18, 'nanosecond timestamp');
  await client.updateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '10.244.0.0/24' } } });
});

test('containerd CRI: unknown ids answer NotFound; an absent image answers a null image', { skip }, async () => {
  await assert.rejects(client.podSandboxStatus({ pod_sandbox_id: 'nope' }), { code: Code.NOT_FOUND });
  await assert.rejects(client.containerStatus({ container_id: 'nope' }), { code: Code.NOT_FOUND });
  assert.equal((await client.imageStatus({ image: { image: 'docker.io/library/busybox:1.36' } })).image, null);
  // containerd 1.6 predates RuntimeConfig: a missing method surfaces as Unimplemented.
  await assert.rejects(client.runtimeConfig(), { code: Code.UNIMPLEMENTED });
});
