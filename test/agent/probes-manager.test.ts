// ProbeManager's kubelet semantics, driven by HTTP servers on loopback whose answers the tests
// change: readiness thresholds, liveness restarts (once), startup gating, initial delay,
// onChange only on flips, Events, and workers that stop and never keep the process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../src/cri/client.ts';
import { ProbeManager, type ProbeEvent, type ProbeKind, type UnhealthyDetails } from '../../src/agent/probes/index.ts';
import { until, within } from '../helpers/wait.ts';

type TestContext = { after: (fn: () => void) => void };

/** An HTTP server on 127.0.0.1 answering each path with a status the test can change; records hit times by path. */
async function statusServer(t: TestContext, statuses: Record<string, number | number[]>) {
  const hits: Record<string, number[]> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '';
    (hits[path] ??= []).push(Date.now());
    const planned = statuses[path];
    // A list is answered in order, its last status repeating.
    const status = Array.isArray(planned) ? (planned.length > 1 ? planned.shift()! : planned[0]) : planned ?? 404;
    res.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const port = (server.address() as { port: number }).port;
  return { port, statuses, hits: (path: string) => hits[path]?.length ?? 0, times: (path: string) => hits[path] ?? [] };
}

function newManager(t: TestContext) {
  const changes: string[] = [];
  const unhealthy: { podUid: string; containerId: string; kind: ProbeKind; message: string; details: UnhealthyDetails }[] = [];
  const events: ProbeEvent[] = [];
  const m = new ProbeManager({
    cri: {} as CriClient, // HTTP probes only: CRI is not involved
    onChange: (podUid) => changes.push(podUid),
    onUnhealthy: (podUid, containerId, kind, message, details) => unhealthy.push({ podUid, containerId, kind, message, details }),
    onEvent: (e) => events.push(e),
  });
  t.after(() => m.stop());
  return { m, changes, unhealthy, events };
}

function podWith(container: Container, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return { metadata: { name: 'p', namespace: 'default', uid: 'uid-p' }, spec: { containers: [container], ...spec } };
}

const http = (port: number, path: string, more: Partial<Probe> = {}): Probe =>
  ({ httpGet: { port, path }, periodSeconds: 1, timeoutSeconds: 1, ...more });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('without probes a container is started and ready at once; unknown containers are neither', (t) => {
  const { m, changes } = newManager(t);
  m.addContainer(podWith({ name: 'web' }), { name: 'web' }, 'c1', '127.0.0.1', Date.now());
  assert.equal(m.isStarted('c1'), true);
  assert.equal(m.isReady('c1'), true);
  assert.equal(m.isReady('nope'), false);
  assert.equal(m.isStarted('nope'), false);
  m.removeContainer('c1');
  assert.equal(m.isReady('c1'), false);
  assert.deepEqual(changes, []);
});

test('readiness: false until successThreshold successes, false again after failureThreshold failures; onChange on each flip', async (t) => {
  const s = await statusServer(t, { '/ready': 200 });
  const { m, changes, events } = newManager(t);
  const container: Container = { name: 'web', readinessProbe: http(s.port, '/ready', { successThreshold: 2, failureThreshold: 2 }) };
  m.addContainer(podWith(container), container, 'c1', '127.0.0.1', Date.now());
  assert.equal(m.isStarted('c1'), true);
  assert.equal(m.isReady('c1'), false);
  await until('ready', () => m.isReady('c1'), 15_000);
  assert.ok(s.hits('/ready') >= 2, `ready after ${s.hits('/ready')} successful probes`);
  assert.deepEqual(changes, ['uid-p']);

  s.statuses['/ready'] = 500;
  const before = s.hits('/ready');
  await until('not ready', () => !m.isReady('c1'), 15_000);
  assert.ok(s.hits('/ready') - before >= 2, `not ready after ${s.hits('/ready') - before} failed probes`);
  assert.deepEqual(changes, ['uid-p', 'uid-p']);
  const failed = events.filter((e) => e.reason === 'Unhealthy');
  assert.ok(failed.length >= 2);
  assert.deepEqual({ ...failed[0], pod: undefined }, {
    pod: undefined, containerId: 'c1', containerName: 'web', kind: 'readiness', type: 'Warning', reason: 'Unhealthy',
    message: 'Readiness probe failed: HTTP probe failed with statuscode: 500',
  });
  assert.equal(m.lastFailure('c1', 'readiness'), 'Readiness probe failed: HTTP probe failed with statuscode: 500');
  assert.equal(m.lastFailure('c1', 'liveness'), undefined);
});

test('liveness: failureThreshold failures in a row call onUnhealthy once, then the container is no longer probed', async (t) => {
  // A success in between restarts the count: the restart comes with the 6th answer, not the 3rd.
  const s = await statusServer(t, { '/live': [500, 500, 200, 500, 500, 500] });
  const { m, changes, unhealthy, events } = newManager(t);
  const container: Container = { name: 'web', livenessProbe: http(s.port, '/live', { failureThreshold: 3, terminationGracePeriodSeconds: 5 }) };
  m.addContainer(podWith(container, { terminationGracePeriodSeconds: 30 }), container, 'c1', '127.0.0.1', Date.now());
  await until('onUnhealthy', () => unhealthy.length > 0, 20_000);
  assert.equal(s.hits('/live'), 6);
  assert.deepEqual(unhealthy, [{
    podUid: 'uid-p', containerId: 'c1', kind: 'liveness', message: 'Container web failed liveness probe, will be restarted',
    details: { containerName: 'web', gracePeriodSeconds: 5 },
  }]);
  assert.deepEqual(events.map((e) => e.message), Array(5).fill('Liveness probe failed: HTTP probe failed with statuscode: 500'));
  await sleep(2500);
  assert.equal(unhealthy.length, 1, 'onUnhealthy is called once per container');
  assert.equal(s.hits('/live'), 6, 'no probing after the verdict');
  assert.equal(m.isReady('c1'), true, 'liveness does not change readiness');
  assert.deepEqual(changes, []);

  // The agent restarts the container: a new id replaces the old one's probes.
  s.statuses['/live'] = 200;
  m.addContainer(podWith(container), container, 'c2', '127.0.0.1', Date.now());
  assert.equal(m.isReady('c1'), false);
  await until('the new container to be probed', () => s.hits('/live') >= 8, 15_000);
  assert.equal(unhealthy.length, 1);
});

test('a startup probe holds back liveness and readiness until it succeeds', async (t) => {
  const s = await statusServer(t, { '/startup': 500, '/live': 200, '/ready': 200 });
  const { m, changes } = newManager(t);
  const container: Container = {
    name: 'web',
    startupProbe: http(s.port, '/startup', { failureThreshold: 30 }),
    livenessProbe: http(s.port, '/live'),
    readinessProbe: http(s.port, '/ready', { periodSeconds: 3 }),
  };
  // Past its first period the manager no longer jitters first runs: the readiness ticker then
  // runs at 0, 3, 6 s, so a readiness run right after startup can only be the immediate trigger.
  await sleep(3100);
  m.addContainer(podWith(container), container, 'c1', '127.0.0.1', Date.now());
  await until('two startup probes', () => s.hits('/startup') >= 2, 15_000);
  assert.equal(s.hits('/live') + s.hits('/ready'), 0, 'liveness and readiness wait for startup');
  assert.equal(m.isStarted('c1'), false);
  assert.equal(m.isReady('c1'), false);

  s.statuses['/startup'] = 200;
  await until('started', () => m.isStarted('c1'), 15_000);
  const startedAt = Date.now();
  await until('ready', () => m.isReady('c1'), 15_000);
  // Readiness runs as soon as the container has started, not a period later.
  assert.ok(s.times('/ready')[0] - startedAt < 600, `readiness ran ${s.times('/ready')[0] - startedAt} ms after start`);
  const startupHits = s.hits('/startup');
  await until('liveness probes', () => s.hits('/live') >= 2, 15_000);
  assert.equal(s.hits('/startup'), startupHits, 'the startup probe stops once it has succeeded');
  assert.deepEqual(changes, ['uid-p', 'uid-p'], 'started, then ready');
});

test('a startup probe that keeps failing asks for a restart with the pod\'s grace period', async (t) => {
  const s = await statusServer(t, { '/startup': 500, '/ready': 200 });
  const { m, unhealthy } = newManager(t);
  const container: Container = { name: 'slow', startupProbe: http(s.port, '/startup', { failureThreshold: 2 }), readinessProbe: http(s.port, '/ready') };
  m.addContainer(podWith(container, { terminationGracePeriodSeconds: 7, restartPolicy: 'Never' }), container, 'c1', '127.0.0.1', Date.now());
  await until('onUnhealthy', () => unhealthy.length > 0, 15_000);
  assert.deepEqual(unhealthy.map((u) => [u.kind, u.message, u.details.gracePeriodSeconds]),
    [['startup', 'Container slow failed startup probe', 7]]);
  assert.equal(s.hits('/startup'), 2);
  assert.equal(s.hits('/ready'), 0);
  assert.equal(m.isStarted('c1'), false);
});

test('initialDelaySeconds counts from the container\'s start', async (t) => {
  const s = await statusServer(t, { '/fresh': 200, '/old': 200 });
  const { m } = newManager(t);
  const fresh: Container = { name: 'fresh', readinessProbe: http(s.port, '/fresh', { initialDelaySeconds: 2 }) };
  const old: Container = { name: 'old', readinessProbe: http(s.port, '/old', { initialDelaySeconds: 2 }) };
  const startedAt = Date.now();
  m.addContainer(podWith(fresh), fresh, 'c-fresh', '127.0.0.1', startedAt);
  // A container adopted after running a while is past its delay already.
  m.addContainer(podWith(old), old, 'c-old', '127.0.0.1', startedAt - 10_000);
  await until('the old container ready', () => m.isReady('c-old'), 15_000);
  assert.equal(m.isReady('c-fresh'), false);
  await until('the fresh container ready', () => m.isReady('c-fresh'), 15_000);
  assert.ok(s.times('/fresh')[0] - startedAt >= 2000, `first probe ${s.times('/fresh')[0] - startedAt} ms after start`);
});

test('a redirect to another host is a warning Event and counts as success; host-network pods are probed on hostIP', async (t) => {
  const redirect = createServer((_req, res) => res.writeHead(302, { location: 'http://127.0.0.2:1/' }).end('see there'));
  await new Promise<void>((resolve) => redirect.listen(0, '127.0.0.1', resolve));
  t.after(() => redirect.close());
  const { m, events } = newManager(t);
  const container: Container = { name: 'web', readinessProbe: http((redirect.address() as { port: number }).port, '/') };
  m.addContainer(podWith(container, { hostNetwork: true }), container, 'c1', '', Date.now());
  await until('ready', () => m.isReady('c1'), 15_000);
  assert.deepEqual(events.map((e) => [e.reason, e.message]), [['ProbeWarning', 'Readiness probe warning: Probe terminated redirects, Response body: see there']]);
});

test('podTerminating: liveness stops and passes, readiness goes on', async (t) => {
  const s = await statusServer(t, { '/live': 500, '/ready': 200 });
  const { m, unhealthy } = newManager(t);
  const container: Container = { name: 'web', livenessProbe: http(s.port, '/live', { failureThreshold: 3 }), readinessProbe: http(s.port, '/ready') };
  m.addContainer(podWith(container), container, 'c1', '127.0.0.1', Date.now());
  await until('a failed liveness probe', () => s.hits('/live') >= 1, 15_000);
  m.podTerminating('uid-p');
  const live = s.hits('/live');
  const ready = s.hits('/ready');
  await sleep(3500);
  assert.deepEqual(unhealthy, []);
  assert.equal(s.hits('/live'), live);
  assert.ok(s.hits('/ready') >= ready + 2, 'readiness is still probed');
});

test('stop() and removePod end every worker', async (t) => {
  const s = await statusServer(t, { '/a': 200, '/b': 200 });
  const { m } = newManager(t);
  const a: Container = { name: 'a', readinessProbe: http(s.port, '/a'), livenessProbe: http(s.port, '/a') };
  const b: Container = { name: 'b', readinessProbe: http(s.port, '/b') };
  const other: Pod = { metadata: { uid: 'uid-q' }, spec: { containers: [b] } };
  m.addContainer(podWith(a), a, 'ca', '127.0.0.1', Date.now());
  m.addContainer(other, b, 'cb', '127.0.0.1', Date.now());
  await until('both probed', () => m.isReady('ca') && m.isReady('cb'), 15_000);
  m.removePod('uid-q');
  assert.equal(m.isReady('cb'), false);
  const hitsB = s.hits('/b');
  m.stop();
  assert.equal(m.isReady('ca'), false);
  const hitsA = s.hits('/a');
  await sleep(2500);
  assert.equal(s.hits('/b'), hitsB);
  assert.equal(s.hits('/a'), hitsA);
});

// A child process probing this process's server: its probe timers must not keep it alive, and
// after stop() none of the timers the probes made may be left.
const CHILD = `
import { createHook } from 'node:async_hooks';
const { ProbeManager } = await import(process.argv[1]);
const port = Number(process.argv[2]);
const live = new Set();
createHook({ init(id, type) { if (type === 'Timeout') live.add(id); }, destroy(id) { live.delete(id); } }).enable();
const m = new ProbeManager({ cri: {}, onChange() {}, onUnhealthy() {} });
const probe = (more) => ({ periodSeconds: 1, timeoutSeconds: 1, ...more });
const container = { name: 'web',
  startupProbe: probe({ tcpSocket: { port } }),
  livenessProbe: probe({ httpGet: { port, path: '/live' } }),
  readinessProbe: probe({ httpGet: { port, path: '/slow' }, timeoutSeconds: 5 }) };
m.addContainer({ metadata: { uid: 'u' }, spec: { containers: [container] } }, container, 'c1', '127.0.0.1', Date.now());
await new Promise((resolve) => setTimeout(resolve, 2500));
if (process.argv[3] === 'stop') {
  m.stop();
  await new Promise((resolve) => setImmediate(resolve));
  console.log(JSON.stringify({ timersAfterStop: live.size }));
} else {
  console.log(JSON.stringify({ scriptEnd: Date.now() }));
}
`;

async function runChild(port: number, mode: string): Promise<{ code: number | null; stdout: string; exitedAt: number }> {
  const index = fileURLToPath(new URL('../../src/agent/probes/index.ts', import.meta.url));
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, index, String(port), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d; });
  const code = await within('the probing child process to exit on its own', new Promise<number | null>((resolve) => child.once('exit', resolve)), 20_000)
    .finally(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return { code, stdout, exitedAt: Date.now() };
}

test('probe workers never keep the process alive, and stop() leaves no timers behind', async (t) => {
  // /slow never answers (a readiness probe with a 5 s timeout is in flight when the script ends).
  let liveHits = 0;
  const server = createServer((req, res) => { if (req.url === '/live') { liveHits++; res.writeHead(200).end(); } });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const port = (server.address() as { port: number }).port;

  const running = await runChild(port, 'keep');
  assert.equal(running.code, 0);
  const { scriptEnd } = JSON.parse(running.stdout) as { scriptEnd: number };
  assert.ok(running.exitedAt - scriptEnd < 1500, `the process lingered ${running.exitedAt - scriptEnd} ms after its script ended`);
  assert.ok(liveHits >= 1, 'the child was probing');

  const stopped = await runChild(port, 'stop');
  assert.equal(stopped.code, 0);
  assert.deepEqual(JSON.parse(stopped.stdout), { timersAfterStop: 0 });
});
