// `skiff dns` as a process against a real `skiff server`, asked by busybox's nslookup (the
// resolver tool pods have) over loopback; other names go to a fake upstream the test starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import { R, RestClient } from '../../src/client/index.ts';
import { reverseName } from '../../src/dns/names.ts';
import { SKIFF, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { freePort, waitFor } from '../helpers/wait.ts';
import { type FakeUpstream, startFakeUpstream } from './dns-client.ts';

const run = promisify(execFile);
let s: TestServer;
let client: RestClient;
let upstream: FakeUpstream;
let dns: ChildProcess;
let port: number;
let out = '';
let web: Service;

/** busybox nslookup against the DNS server; stdout+stderr, and whether it succeeded. */
async function nslookup(...args: string[]): Promise<{ ok: boolean; text: string }> {
  const name = args.pop()!;
  try {
    const r = await run('busybox', ['nslookup', '-timeout=3', ...args, name, `127.0.0.1:${port}`], { timeout: 20_000 });
    return { ok: true, text: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, text: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

before(async () => {
  s = await startServer({ timeoutMs: 60_000 });
  client = RestClient.fromKubeconfig(s.kubeconfig);
  upstream = await startFakeUpstream({ 'example.com': [{ type: 'A', name: 'example.com', ttl: 60, data: '93.184.216.34' }] });
  port = await freePort();
  dns = spawn(SKIFF, ['dns', '--kubeconfig', s.kubeconfig, '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${upstream.port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  dns.stdout!.on('data', (d) => (out += d));
  dns.stderr!.on('data', (d) => (out += d));
  await waitFor('skiff dns to list the cluster', () => out.includes('answering cluster names'), 60_000);
  web = await client.create<Service>(R.services, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80 }] },
  });
  await client.create<Service>(R.services, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
  });
  await client.create(R.endpointslices, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.42.1.10'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['10.42.1.11'], hostname: 'db-1', conditions: { ready: true } }],
  });
});

after(async () => {
  if (dns && dns.exitCode === null && dns.signalCode === null) {
    const exited = new Promise((r) => dns.once('exit', r));
    dns.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (dns.exitCode === null && dns.signalCode === null) dns.kill('SIGKILL');
  }
  await upstream?.stop();
  await client?.close();
  await s?.cleanup();
});

test('skiff dns says where it listens and which upstreams it uses', () => {
  assert.match(out, new RegExp(`dns for cluster.local listening on 127\\.0\\.0\\.1:${port} \\(udp\\+tcp\\), upstreams 127\\.0\\.0\\.1:${upstream.port}`));
});

test('nslookup of a service, a headless service and a pod hostname', async () => {
  const svc = await waitFor('web in DNS', async () => {
    const r = await nslookup('web.default.svc.cluster.local');
    return r.ok && r.text.includes(web.spec!.clusterIP!) ? r : undefined;
  });
  assert.match(svc.text, /Name:\s+web\.default\.svc\.cluster\.local/);
  const headless = await waitFor('db in DNS', async () => {
    const r = await nslookup('db.default.svc.cluster.local');
    return r.ok && r.text.includes('10.42.1.11') ? r : undefined;
  });
  assert.match(headless.text, /Address: 10\.42\.1\.10/);
  assert.match(headless.text, /Address: 10\.42\.1\.11/);
  const host = await nslookup('db-0.db.default.svc.cluster.local');
  assert.ok(host.ok, host.text);
  assert.match(host.text, /Address: 10\.42\.1\.10/);
  assert.doesNotMatch(host.text, /10\.42\.1\.11/);
});

test('nslookup -type=srv and -type=ptr', async () => {
  const srv = await nslookup('-type=srv', '_pg._tcp.db.default.svc.cluster.local');
  assert.ok(srv.ok, srv.text);
  assert.match(srv.text, /service = 0 50 5432 db-0\.db\.default\.svc\.cluster\.local/);
  assert.match(srv.text, /service = 0 50 5432 db-1\.db\.default\.svc\.cluster\.local/);
  const ptr = await nslookup('-type=ptr', reverseName(web.spec!.clusterIP!));
  assert.ok(ptr.ok, ptr.text);
  assert.match(ptr.text, /name = web\.default\.svc\.cluster\.local/);
});

test('nslookup of a missing service fails with NXDOMAIN; other names are forwarded', async () => {
  const missing = await nslookup('nope.default.svc.cluster.local');
  assert.equal(missing.ok, false);
  assert.match(missing.text, /NXDOMAIN/);
  const external = await nslookup('example.com');
  assert.ok(external.ok, external.text);
  assert.match(external.text, /Address: 93\.184\.216\.34/);
  assert.ok(upstream.seen.includes('example.com A/udp'));
});

test('bad flags are one line naming the fix', async () => {
  const bad = await run(SKIFF, ['dns', '--listen', 'localhost'], { timeout: 30_000 }).catch((e) => e as { code: number; stderr: string });
  assert.equal((bad as { code: number }).code, 2);
  assert.match((bad as { stderr: string }).stderr, /^skiff: --listen: "localhost" is not ADDRESS:PORT/);
  const records = await run(SKIFF, ['dns', '--pod-records', 'maybe'], { timeout: 30_000 }).catch((e) => e as { code: number; stderr: string });
  assert.match((records as { stderr: string }).stderr, /--pod-records must be insecure, verified or disabled/);
});
