// The probe handlers against real servers on loopback: httpGet (statuses, headers, redirects,
// timeouts, HTTPS, named ports), tcpSocket and grpc (a grpc-js server implementing
// grpc.health.v1.Health). Outcomes carry the texts kubelet puts in its Events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Container, Probe } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../../src/cri/client.ts';
import { runProbe } from '../../src/agent/probes/run.ts';
import { ProbeError } from '../../src/agent/probes/outcome.ts';
import { freePort } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-probes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// HTTP/TCP/gRPC probes never touch CRI.
const noCri = {} as CriClient;
const container: Container = { name: 'web', ports: [{ name: 'http', containerPort: 0 }] };
const run = (probe: Probe, c: Container = container) => runProbe(probe, { cri: noCri, container: c, containerId: 'c1', podIP: '127.0.0.1' });

interface Seen { method: string; url: string; headers: IncomingHttpHeaders }

/** An HTTP(S) server on 127.0.0.1 answering with handler and recording every request. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: { key: Buffer; cert: Buffer }) {
  const seen: Seen[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  };
  const server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  after(() => { server.closeAllConnections(); server.close(); });
  return { port, seen };
}

const answer = (status: number, body = '', headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, res: ServerResponse) => { res.writeHead(status, headers); res.end(body); };

test('httpGet: 200 is success; kubelet\'s request line and headers', async () => {
  const s = await serve(answer(200, 'fine'));
  const outcome = await run({ httpGet: { port: s.port, path: 'healthz?full=1', httpHeaders: [{ name: 'X-Custom', value: 'a' }, { name: 'X-Custom', value: 'b' }] } });
  assert.deepEqual(outcome, { result: 'success', output: 'fine' });
  assert.equal(s.seen.length, 1);
  const [req] = s.seen;
  assert.equal(req.method, 'GET');
  assert.equal(req.url, '/healthz?full=1');
  assert.equal(req.headers['user-agent'], 'kube-probe/1.32');
  assert.equal(req.headers.accept, '*/*');
  assert.equal(req.headers['x-custom'], 'a, b');
  assert.equal(req.headers.host, `127.0.0.1:${s.port}`);
  assert.equal(req.headers.connection, 'close');
});

test('httpGet: httpHeaders replace Host, User-Agent and Accept; an empty Accept sends none', async () => {
  const s = await serve(answer(204));
  await run({ httpGet: { port: s.port, httpHeaders: [{ name: 'Host', value: 'example.test' }, { name: 'User-Agent', value: 'mine' }, { name: 'Accept', value: '' }] } });
  assert.equal(s.seen[0].url, '/');
  assert.equal(s.seen[0].headers.host, 'example.test');
  assert.equal(s.seen[0].headers['user-agent'], 'mine');
  assert.equal(s.seen[0].headers.accept, undefined);
});

test('httpGet: statuses 200-399 pass (3xx with a warning), others fail without the body in the message', async () => {
  // 3xx not followed (no Location here) pass with a warning, as kubelet's Probe terminated redirects.
  for (const [status, result] of [[200, 'success'], [299, 'success'], [304, 'warning'], [399, 'warning'], [400, 'failure'], [500, 'failure'], [503, 'failure']] as const) {
    const s = await serve(answer(status, 'secret body'));
    const outcome = await run({ httpGet: { port: s.port, path: '/' } });
    assert.equal(outcome.result, result, `status ${status}`);
    if (result === 'failure') assert.equal(outcome.output, `HTTP probe failed with statuscode: ${status}`);
  }
});

test('httpGet: redirects on the same host are followed, to another host they are a warning', async () => {
  const target = await serve(answer(200, 'should not be asked'));
  const s = await serve((req, res) => {
    if (req.url === '/start') res.writeHead(302, { location: '/middle' }).end();
    else if (req.url === '/middle') res.writeHead(301, { location: `http://127.0.0.1:${target.port}/elsewhere-port` }).end();
    else if (req.url === '/away') res.writeHead(307, { location: `http://127.0.0.2:${target.port}/x` }).end('moved away');
    else res.writeHead(500).end();
  });
  // Another port on the same host is still the same host for kubelet.
  assert.deepEqual(await run({ httpGet: { port: s.port, path: '/start' } }), { result: 'success', output: 'should not be asked' });
  assert.deepEqual(s.seen.map((r) => r.url), ['/start', '/middle']);
  assert.deepEqual(target.seen.map((r) => [r.url, r.headers['user-agent']]), [['/elsewhere-port', 'kube-probe/1.32']]);

  assert.deepEqual(await run({ httpGet: { port: s.port, path: '/away' } }),
    { result: 'warning', output: 'Probe terminated redirects, Response body: moved away' });
  assert.equal(target.seen.length, 1, 'the other host was not contacted');
});

test('httpGet: a redirect loop stops after 10 requests', async () => {
  const s = await serve((req, res) => res.writeHead(302, { location: '/again' }).end());
  const outcome = await run({ httpGet: { port: s.port, path: '/loop' } });
  assert.equal(outcome.result, 'failure');
  assert.equal(outcome.output, `Get "http://127.0.0.1:${s.port}/again": stopped after 10 redirects`);
  assert.equal(s.seen.length, 10);
});

test('httpGet: no answer within timeoutSeconds fails like Go\'s client timeout', async () => {
  const s = await serve(() => { /* never answers */ });
  const t0 = Date.now();
  const outcome = await run({ httpGet: { port: s.port, path: '/slow' }, timeoutSeconds: 1 });
  const elapsed = Date.now() - t0;
  assert.equal(outcome.result, 'failure');
  assert.equal(outcome.output, `Get "http://127.0.0.1:${s.port}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
  assert.ok(elapsed >= 900 && elapsed < 4000, `timed out after ${elapsed} ms`);
});

test('httpGet: a closed port is a failure naming the dial error', async () => {
  const port = await freePort();
  assert.deepEqual(await run({ httpGet: { port, path: '/' } }), {
    result: 'failure', output: `Get "http://127.0.0.1:${port}/": dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test('httpGet: HTTPS without verifying the certificate', async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=skiff-probe-test'], { stdio: 'ignore' });
  const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  const s = await serve(answer(200, 'secure'), tls);
  assert.deepEqual(await run({ httpGet: { port: s.port, path: '/tls', scheme: 'HTTPS' } }), { result: 'success', output: 'secure' });
  // The same port over plain HTTP is not an HTTP answer at all.
  assert.equal((await run({ httpGet: { port: s.port, path: '/tls', scheme: 'HTTP' } })).result, 'failure');
});

test('httpGet and tcpSocket: ports by the container\'s port name; unknown names cannot run', async () => {
  const s = await serve(answer(200));
  const named: Container = { name: 'web', ports: [{ name: 'metrics', containerPort: 1 }, { name: 'http', containerPort: s.port }] };
  assert.equal((await run({ httpGet: { port: 'http', path: '/' } }, named)).result, 'success');
  assert.equal((await run({ tcpSocket: { port: 'http' } }, named)).result, 'success');
  assert.equal((await run({ httpGet: { port: String(s.port), path: '/' } }, named)).result, 'success', 'a number written as a string');
  await assert.rejects(run({ httpGet: { port: 'nope', path: '/' } }, named),
    (err: Error) => err instanceof ProbeError && err.message === 'strconv.Atoi: parsing "nope": invalid syntax');
  await assert.rejects(run({ tcpSocket: { port: 70000 } }, named), /invalid port number: 70000/);
  await assert.rejects(run({}, named), /missing probe handler/);
});

test('tcpSocket: an open port passes, a closed one fails', async () => {
  const server: NetServer = createTcpServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  const open = (server.address() as { port: number }).port;
  assert.deepEqual(await run({ tcpSocket: { port: open } }), { result: 'success', output: '' });
  const closed = await freePort();
  assert.deepEqual(await run({ tcpSocket: { port: closed } }),
    { result: 'failure', output: `dial tcp 127.0.0.1:${closed}: connect: connection refused` });
});

// grpc.health.v1 as published by gRPC (https://github.com/grpc/grpc/blob/master/doc/health-checking.md).
const HEALTH_PROTO = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

let grpcPort: number;
let plainGrpcPort: number;
const grpcServers: grpc.Server[] = [];
after(() => { for (const server of grpcServers) server.forceShutdown(); });
const grpcUserAgents: string[] = [];

before(async () => {
  writeFileSync(join(dir, 'health.proto'), HEALTH_PROTO);
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'health.proto'), { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } };
  };
  const statuses: Record<string, string> = { '': 'SERVING', web: 'SERVING', db: 'NOT_SERVING' };
  const server = new grpc.Server();
  grpcServers.push(server);
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      grpcUserAgents.push(String(call.metadata.get('user-agent')[0]));
      const status = statuses[call.request.service ?? ''];
      if (status) callback(null, { status });
      else callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
    },
  });
  grpcPort = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
    (err, port) => err ? reject(err) : resolve(port)));
  // A gRPC server without the health service.
  const plain = new grpc.Server();
  grpcServers.push(plain);
  plainGrpcPort = await new Promise((resolve, reject) => plain.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
    (err, port) => err ? reject(err) : resolve(port)));
});

test('grpc: SERVING passes; NOT_SERVING and unknown services fail', async () => {
  assert.deepEqual(await run({ grpc: { port: grpcPort } }), { result: 'success', output: 'service healthy' });
  assert.deepEqual(await run({ grpc: { port: grpcPort, service: 'web' } }), { result: 'success', output: 'service healthy' });
  assert.deepEqual(await run({ grpc: { port: grpcPort, service: 'db' } }),
    { result: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' });
  assert.deepEqual(await run({ grpc: { port: grpcPort, service: 'nope' } }),
    { result: 'failure', output: 'error: health rpc probe failed: rpc error: code = NotFound desc = unknown service' });
  assert.match(grpcUserAgents[0], /^kube-probe\/1\.32 /);
});

test('grpc: a server without the health service, and nothing listening', async () => {
  const unimplemented = await run({ grpc: { port: plainGrpcPort } });
  assert.equal(unimplemented.result, 'failure');
  assert.match(unimplemented.output, /^error: this server does not implement the grpc health protocol \(grpc\.health\.v1\.Health\): /);
  const port = await freePort();
  const t0 = Date.now();
  assert.deepEqual(await run({ grpc: { port }, timeoutSeconds: 1 }), {
    result: 'failure', output: `timeout: failed to connect service "127.0.0.1:${port}" within 1s: context deadline exceeded`,
  });
  assert.ok(Date.now() - t0 < 5000);
});
