// serveCri's plumbing: status-code mapping, Unimplemented, deadlines, socket file hygiene, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCriClient } from '../../src/cri/client.ts';
import { serveCri, type CriHandlers } from '../../src/cri/server.ts';
import { Code, CriError } from '../../src/cri/errors.ts';
import { renderTypes } from '../../src/cri/gen-types.ts';

async function withServer(
  impl: CriHandlers,
  fn: (ctx: { client: ReturnType<typeof createCriClient>; logs: string[]; dir: string }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-cri-'));
  const logs: string[] = [];
  const server = await serveCri(`unix://${dir}/cri.sock`, impl, { log: (l) => logs.push(l) });
  const client = createCriClient(server.endpoint, { timeoutMs: 5000 });
  try {
    await fn({ client, logs, dir });
  } finally {
    client.close();
    await server.close(100);
    await rm(dir, { recursive: true, force: true });
  }
}

test('a thrown CriError keeps its code; any other error is Internal and logged', async () => {
  await withServer({
    podSandboxStatus: () => { throw new CriError(Code.NOT_FOUND, 'pod sandbox "x" not found'); },
    listPodSandbox: async () => { throw new TypeError('cannot read properties of undefined'); },
  }, async ({ client, logs }) => {
    await assert.rejects(client.podSandboxStatus({ pod_sandbox_id: 'x' }),
      { name: 'CriError', code: Code.NOT_FOUND, message: 'pod sandbox "x" not found', rpc: 'PodSandboxStatus' });
    await assert.rejects(client.listPodSandbox(),
      { code: Code.INTERNAL, message: 'cannot read properties of undefined', rpc: 'ListPodSandbox' });
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /RuntimeService\/ListPodSandbox failed unexpectedly \(answering INTERNAL\): TypeError: cannot read/);
  });
});

test('methods without a handler answer Unimplemented, unary and streaming alike', async () => {
  await withServer({}, async ({ client }) => {
    await assert.rejects(client.checkpointContainer({ container_id: 'c', location: '/tmp/x.tar' }),
      { code: Code.UNIMPLEMENTED, message: /RuntimeService\/CheckpointContainer is not implemented/ });
    await assert.rejects(client.pullImage({ image: { image: 'busybox' } }),
      { code: Code.UNIMPLEMENTED, message: /ImageService\/PullImage/ });
    await assert.rejects(async () => { for await (const _ of client.getContainerEvents()) { /* none expected */ } },
      { code: Code.UNIMPLEMENTED, message: /GetContainerEvents/ });
  });
});

test('a call past its deadline fails DeadlineExceeded and the handler sees the abort', async () => {
  let aborted: Promise<void> | undefined;
  await withServer({
    stopContainer: (_req, { signal }) => {
      aborted = new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return new Promise(() => {}); // never answers
    },
  }, async ({ client }) => {
    const started = Date.now();
    await assert.rejects(client.stopContainer({ container_id: 'c', timeout: 10 }, { timeoutMs: 200 }),
      { code: Code.DEADLINE_EXCEEDED, rpc: 'StopContainer' });
    assert.ok(Date.now() - started < 3000);
    await aborted;
  });
});

test('an AbortSignal cancels a call', async () => {
  await withServer({ startContainer: () => new Promise(() => {}) }, async ({ client }) => {
    const controller = new AbortController();
    const call = client.startContainer({ container_id: 'c' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(call, { code: Code.CANCELLED });
  });
});

test('the socket is created in a new directory with mode 0660 and removed on close', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-cri-'));
  const sock = join(dir, 'nested', 'dir', 'cri.sock');
  const server = await serveCri(`unix://${sock}`, {});
  try {
    const st = await stat(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
  } finally {
    await server.close();
  }
  await assert.rejects(stat(sock), { code: 'ENOENT' });
  await rm(dir, { recursive: true, force: true });
});

async function leaveStaleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('listening'))`]);
  await once(child.stdout, 'data');
  child.kill('SIGKILL');
  await once(child, 'exit');
}

test('a stale socket is replaced; a live one or a regular file is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-cri-'));
  const sock = join(dir, 'cri.sock');
  try {
    // A live listener holds the path: refuse to steal it.
    const live = createServer();
    await new Promise<void>((resolve) => live.listen(sock, resolve));
    await assert.rejects(serveCri(`unix://${sock}`, {}), /in use by another running server/);
    await new Promise<void>((resolve) => live.close(() => resolve()));
    // A runtime killed with SIGKILL leaves its socket file behind with nobody listening.
    await leaveStaleSocket(sock);
    assert.ok((await stat(sock)).isSocket(), 'the stale socket file must exist for this test');

    const server = await serveCri(`unix://${sock}`, { version: () => ({ runtime_name: 'second' }) });
    const client = createCriClient(server.endpoint);
    assert.equal((await client.version()).runtime_name, 'second');
    client.close();
    await server.close();

    await writeFile(sock, 'not a socket');
    await assert.rejects(serveCri(`unix://${sock}`, {}), /exists and is not a socket; refusing/);
    assert.equal(await readFile(sock, 'utf8'), 'not a socket');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('endpoints must be unix sockets with absolute paths', async () => {
  await assert.rejects(serveCri('unix://relative.sock', {}), /must be unix:\/\/\/absolute/);
  assert.throws(() => createCriClient('tcp://127.0.0.1:1234'), /must be unix:\/\/\/absolute/);
});

test('close() ends a still-open event stream after the grace period', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-cri-'));
  const server = await serveCri(`unix://${dir}/cri.sock`, {
    async *getContainerEvents(_req, { signal }) {
      yield { container_id: 'a', container_event_type: 'CONTAINER_STARTED_EVENT' };
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
  });
  const client = createCriClient(server.endpoint);
  const ids: string[] = [];
  const consumer = (async () => {
    for await (const ev of client.getContainerEvents()) {
      ids.push(ev.container_id);
      void server.close(100);
    }
  })();
  await assert.rejects(consumer, (err: unknown) => err instanceof CriError);
  assert.deepEqual(ids, ['a']);
  client.close();
  await rm(dir, { recursive: true, force: true });
});

test('types.ts is what gen-types renders from api.proto (regenerate after editing the proto)', async () => {
  const current = await readFile(new URL('../../src/cri/types.ts', import.meta.url), 'utf8');
  assert.equal(current, renderTypes(), 'run: node src/cri/gen-types.ts > src/cri/types.ts');
});
