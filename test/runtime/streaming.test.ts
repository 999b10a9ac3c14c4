// CRI streaming against real containers: Exec/Attach/PortForward hand out one-time URLs on the
// runtime's streaming server, and the streaming client (src/cri/streaming-client.ts) drives
// them over the kubelet WebSocket protocols: stdout/stderr/exit codes, stdin, tty and resize,
// attach to running containers, port-forward into the pod's network namespace, tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Code, CriError } from '../../src/cri/errors.ts';
import {
  connectRemoteCommand, openPortForward, runRemoteCommand, StreamingError, type RemoteCommandSession,
} from '../../src/cri/streaming-client.ts';
import { RequestCache } from '../../src/runtime/streaming/request-cache.ts';
import { StreamingServer } from '../../src/runtime/streaming/server.ts';
import { within } from '../helpers/wait.ts';
import { containerConfig, eventually, podConfig, startHarness, type Harness } from './harness.ts';

let h: Harness;
let podId: string;
let sleeper: string;
const pod = () => podConfig('stream', h.dir);

before(async () => {
  h = await startHarness();
  ({ pod_sandbox_id: podId } = await h.client.runPodSandbox({ config: pod(), runtime_handler: '' }));
  sleeper = await run('sleeper', ['sleep', '300']);
});

after(async () => {
  await h?.runtime.stop();
  await h?.cleanup();
});

async function run(name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const { container_id: id } = await h.client.createContainer({ pod_sandbox_id: podId, config: containerConfig(name, command, extra), sandbox_config: pod() });
  await h.client.startContainer({ container_id: id });
  return id;
}

const isCode = (code: number) => (e: unknown) => e instanceof CriError && e.code === code;

function collect(s: RemoteCommandSession): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  s.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  s.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return { out: () => out, err: () => err };
}

async function execUrl(cmd: string[], o: { stdin?: boolean; tty?: boolean; stderr?: boolean } = {}): Promise<string> {
  const { url } = await h.client.exec({
    container_id: sleeper, cmd, stdin: !!o.stdin, stdout: true, stderr: o.stderr ?? !o.tty, tty: !!o.tty,
  });
  return url;
}

test('Exec answers a loopback URL and streams stdout, stderr and the exit code (v5 by default)', async () => {
  const url = await execUrl(['sh', '-c', 'echo out; echo err >&2']);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
  const ok = await within('exec to finish', runRemoteCommand(url), 20_000);
  assert.deepEqual(ok, { stdout: 'out\n', stderr: 'err\n', exitCode: 0, protocol: 'v5.channel.k8s.io' });

  const s = await connectRemoteCommand(await execUrl(['sh', '-c', 'echo bad >&2; exit 3']));
  const io = collect(s);
  const exit = await within('exec to fail', s.exit, 20_000);
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.status?.status, 'Failure');
  assert.equal(exit.status?.reason, 'NonZeroExitCode');
  assert.deepEqual(exit.status?.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
  assert.equal(io.err(), 'bad\n');
});

test('older and base64 protocols give the same output and exit code', async () => {
  for (const protocol of ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'base64.channel.k8s.io', 'channel.k8s.io']) {
    const r = await within(`exec over ${protocol}`, runRemoteCommand(await execUrl(['sh', '-c', 'echo hi; echo ho >&2; exit 5']), undefined, { protocols: [protocol] }), 20_000);
    assert.deepEqual(r, { stdout: 'hi\n', stderr: 'ho\n', exitCode: 5, protocol }, protocol);
  }
  await assert.rejects(connectRemoteCommand(await execUrl(['true']), { protocols: ['v9.channel.k8s.io'] }),
    (e: unknown) => e instanceof StreamingError && e.statusCode === 400 && /not supported/.test(e.message));
});

test('exec with stdin: cat echoes what is sent and exits when stdin is closed', async () => {
  const r = await within('cat to finish', runRemoteCommand(await execUrl(['cat'], { stdin: true }), 'line one\nline two\n'), 20_000);
  assert.equal(r.stdout, 'line one\nline two\n');
  assert.equal(r.exitCode, 0);
  // Binary data goes through untouched.
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
  const s = await connectRemoteCommand(await execUrl(['sh', '-c', 'cat | od -An -tx1'], { stdin: true }));
  const io = collect(s);
  s.stdin.end(bytes);
  await within('od to finish', s.exit, 20_000);
  assert.equal(io.out().trim().replace(/\s+/g, ' '), '00 01 02 ff fe 0a 0d');
});

test('exec with a tty: output arrives on stdout and resizes reach the terminal', async () => {
  const url = await execUrl(['sh', '-c',
    '[ -t 0 ] && echo is-a-tty; for i in $(seq 1 100); do s=$(stty size); [ "$s" = "30 100" ] && break; sleep 0.1; done; echo "size $s"'],
  { tty: true, stdin: true });
  const s = await connectRemoteCommand(url);
  const io = collect(s);
  await s.resize(100, 30);
  const exit = await within('the tty exec to finish', s.exit, 30_000);
  assert.equal(exit.exitCode, 0);
  // A terminal ends lines with \r\n (runc's copy may add one more \r to the very first output).
  assert.match(io.out(), /is-a-tty\r+\n/);
  assert.match(io.out(), /size 30 100\r+\n/);
  assert.equal(io.err(), '');
});

test('an interactive shell over a tty: typed lines run, the exit code comes back', async () => {
  const s = await connectRemoteCommand(await execUrl(['sh'], { tty: true, stdin: true }));
  const io = collect(s);
  s.stdin.write('echo "sum $((40+2))"\n');
  await eventually('the shell to answer', () => io.out().includes('sum 42') || undefined, 20_000);
  s.stdin.write('exit 7\n');
  const exit = await within('the shell to exit', s.exit, 20_000);
  assert.equal(exit.exitCode, 7);
  // The terminal echoes what was typed once (the container's pty), not twice.
  assert.equal(io.out().split('echo "sum $((40+2))"').length - 1, 1, JSON.stringify(io.out()));
});

test('exec of a missing command fails with the runtime\'s reason, not an exit code', async () => {
  await assert.rejects(within('the exec', runRemoteCommand(await execUrl(['/no/such/binary'])), 20_000), /no such file|not found/i);
});

test('a client that goes away takes its exec\'d process with it', async () => {
  for (const tty of [false, true]) {
    const s = await connectRemoteCommand(await execUrl(['sh', '-c', `echo started; exec sleep 99${tty ? 8 : 7}`], { tty }));
    const io = collect(s);
    await eventually('the exec to start', () => io.out().includes('started') || undefined, 20_000);
    s.close();
    await eventually(`the ${tty ? 'tty ' : ''}exec'd sleep to be killed`, async () => {
      const ps = await h.client.execSync({ container_id: sleeper, cmd: ['ps', '-o', 'args'], timeout: 10 });
      return !ps.stdout.toString().includes(`sleep 99${tty ? 8 : 7}`) || undefined;
    }, 20_000);
  }
});

test('attach receives a running container\'s output from then on', async () => {
  const id = await run('ticker', ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']);
  // A started container may not have printed anything yet: attach once its first line is out.
  await eventually('the first tick in the log', async () => (await readFile(join(h.dir, 'logs', 'stream', 'ticker', '0.log'), 'utf8').catch(() => '')).includes('tick 0') || undefined, 20_000);
  const { url } = await h.client.attach({ container_id: id, stdout: true, stderr: true });
  assert.match(url, /\/attach\//);
  const s = await connectRemoteCommand(url);
  const io = collect(s);
  const seen = await eventually('two ticks over attach', () => (io.out().match(/tick \d+\n/g)?.length ?? 0) >= 2 ? io.out() : undefined, 20_000);
  assert.doesNotMatch(seen, /^tick 0\n/, 'output from before the attach is not replayed');
  s.close();
  await within('the attach to end', s.exit.catch(() => undefined), 10_000);
  const { status } = await h.client.containerStatus({ container_id: id });
  assert.equal(status?.state, 'CONTAINER_RUNNING', 'detaching leaves the container running');
});

test('attach with stdin: cat in the container echoes, and closing stdin (stdinOnce) ends it', async () => {
  const id = await run('echo', ['cat'], { stdin: true, stdin_once: true });
  const s = await connectRemoteCommand((await h.client.attach({ container_id: id, stdin: true, stdout: true, stderr: true })).url);
  const io = collect(s);
  s.stdin.write('ping\n');
  await eventually('the echo', () => io.out().includes('ping\n') || undefined, 20_000);
  s.stdin.end();
  const exit = await within('the attach to end with the container', s.exit, 20_000);
  assert.equal(exit.exitCode, 0);
  assert.equal(exit.status?.status, 'Success');
  await eventually('cat to exit', async () => (await h.client.containerStatus({ container_id: id })).status?.state === 'CONTAINER_EXITED' || undefined, 20_000);
});

test('a streaming URL works once: a reused token is 404, and tokens expire', async () => {
  const url = await execUrl(['true']);
  assert.equal((await runRemoteCommand(url)).exitCode, 0);
  await assert.rejects(connectRemoteCommand(url), (e: unknown) => e instanceof StreamingError && e.statusCode === 404);

  let now = 0;
  const cache = new RequestCache(60_000, () => now);
  const token = cache.insert({ kind: 'exec', request: { container_id: 'x' } });
  now = 60_001;
  assert.equal(cache.consume(token), undefined, 'expired after a minute');

  // The same through a server with a short lifetime.
  const server = await StreamingServer.start({
    exec: () => Promise.resolve(), attach: () => Promise.resolve(), portForward: () => { throw new Error('unused'); },
  }, { tokenTtlMs: 100 });
  try {
    const { url: stale } = server.getExec({ container_id: 'x', cmd: ['true'], stdout: true });
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(connectRemoteCommand(stale), (e: unknown) => e instanceof StreamingError && e.statusCode === 404);
    // SPDY is refused with a message rather than half-spoken.
    const { url: spdy } = server.getExec({ container_id: 'x', cmd: ['true'], stdout: true });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(spdy, { headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1' } });
      req.on('upgrade', () => reject(new Error('upgraded to SPDY')));
      req.on('response', (r) => { let b = ''; r.on('data', (d: Buffer) => { b += d; }); r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b })); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 400);
    assert.match(res.body, /WebSocket only/);
  } finally {
    await server.close();
  }
});

test('Exec, Attach and PortForward validate their requests', async () => {
  await assert.rejects(h.client.exec({ container_id: 'f'.repeat(64), cmd: ['true'], stdout: true }), isCode(Code.NOT_FOUND));
  await assert.rejects(h.client.attach({ container_id: 'f'.repeat(64), stdout: true }), isCode(Code.NOT_FOUND));
  await assert.rejects(h.client.portForward({ pod_sandbox_id: 'f'.repeat(64), port: [80] }), isCode(Code.NOT_FOUND));
  await assert.rejects(h.client.exec({ container_id: sleeper, cmd: ['sh'], tty: true, stdout: true, stderr: true }), isCode(Code.INVALID_ARGUMENT));
  await assert.rejects(h.client.exec({ container_id: sleeper, cmd: ['true'] }), isCode(Code.INVALID_ARGUMENT));
  await assert.rejects(h.client.exec({ container_id: sleeper, cmd: [], stdout: true }), isCode(Code.INVALID_ARGUMENT));
  await assert.rejects(h.client.attach({ container_id: sleeper, tty: true, stdout: true, stderr: true }), isCode(Code.INVALID_ARGUMENT));
  await assert.rejects(h.client.portForward({ pod_sandbox_id: podId, port: [70000] }), isCode(Code.INVALID_ARGUMENT));
  const done = await run('done', ['true']);
  await eventually('the container to exit', async () => (await h.client.containerStatus({ container_id: done })).status?.state === 'CONTAINER_EXITED' || undefined, 20_000);
  await assert.rejects(h.client.exec({ container_id: done, cmd: ['true'], stdout: true }), isCode(Code.FAILED_PRECONDITION));
  await assert.rejects(h.client.attach({ container_id: done, stdout: true }), isCode(Code.FAILED_PRECONDITION));
});

function readAll(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer) => { text += d.toString(); });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

test('port-forward reaches a server listening on the pod\'s loopback', async () => {
  await run('httpd', ['sh', '-c', 'mkdir -p /tmp/www && echo hello-from-the-pod > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www']);
  const { url } = await h.client.portForward({ pod_sandbox_id: podId, port: [8080] });
  assert.match(url, /\/portforward\//);
  // The first URL is spent on waiting for httpd to listen; each attempt asks for a fresh one.
  const answer = await eventually('an HTTP answer through the tunnel', async () => {
    const { url: u } = await h.client.portForward({ pod_sandbox_id: podId, port: [8080] });
    const stream = await openPortForward(u, 8080);
    stream.write('GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n');
    return await within('the HTTP response', readAll(stream), 10_000);
  }, 30_000, 300);
  assert.match(answer, /^HTTP\/1\.[01] 200 OK/);
  assert.match(answer, /hello-from-the-pod/);

  // Nothing listens on 8081 in the pod: the error channel says so and the stream fails with it.
  const { url: closed } = await h.client.portForward({ pod_sandbox_id: podId, port: [8081] });
  const stream = await openPortForward(closed, 8081);
  await assert.rejects(within('the port-forward error', readAll(stream), 10_000), /error forwarding port 8081 to pod .*refused/i);
});
