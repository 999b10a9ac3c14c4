// The streaming path end to end with the real kubectl: kubectl → `skiff server` (pods/log,
// exec, attach, portforward) → the agent's HTTPS server → the Skiff CRI runtime. The pod is
// made by hand (API objects + CRI sandbox and containers) so no agent core is needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { freePort, waitFor, within } from '../helpers/wait.ts';
import { startHarness, type Harness } from '../runtime/harness.ts';
import { BUSYBOX_IMAGE } from '../runtime/busybox-image.ts';
import { startKubeletServer, type KubeletServer } from '../../src/agent/server/index.ts';
import { selfSignedServingCert } from '../../src/agent/server/tls.ts';
import { containerLogPath, podLogDir } from '../../src/agent/log-paths.ts';

const NODE = 'skiff-stream-node';
let s: TestServer;
let h: Harness;
let kubelet: KubeletServer;
let work: string;
let logRoot: string;
const pods = new Map<string, { pod: Pod; logDir: string; containers: { name: string; id: string }[] }>();
const children = new Set<ChildProcess>();

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await s.fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A pod bound to NODE, its sandbox and containers run through CRI, its status Running. */
async function makePod(name: string, containers: { name: string; script: string; runs?: string[] }[], annotations: Record<string, string> = {}) {
  const pod: Pod = await api('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, annotations },
    spec: { nodeName: NODE, containers: containers.map((c) => ({ name: c.name, image: BUSYBOX_IMAGE })) },
  });
  const identity = { namespace: 'default', name, uid: pod.metadata!.uid! };
  const logDir = podLogDir(logRoot, identity);
  const labels = { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': identity.uid };
  const sandboxConfig = { metadata: { ...identity, attempt: 0 }, hostname: name, log_directory: logDir, labels };
  const { pod_sandbox_id: sandboxId } = await h.client.runPodSandbox({ config: sandboxConfig, runtime_handler: '' });
  const ids: { name: string; id: string }[] = [];
  for (const c of containers) {
    // Earlier runs (restarts) first: each writes <container>/<n>.log and exits.
    const runs = [...(c.runs ?? []), c.script];
    for (let n = 0; n < runs.length; n++) {
      const { container_id: id } = await h.client.createContainer({
        pod_sandbox_id: sandboxId, sandbox_config: sandboxConfig,
        config: {
          metadata: { name: c.name, attempt: n }, image: { image: BUSYBOX_IMAGE }, command: ['sh', '-c', runs[n]],
          log_path: containerLogPath(c.name, n), labels: { ...labels, 'io.kubernetes.container.name': c.name },
          annotations: { 'io.kubernetes.container.restartCount': String(n) },
        },
      });
      await h.client.startContainer({ container_id: id });
      if (n < runs.length - 1) {
        await waitFor(`run ${n} of ${c.name} to exit`, async () =>
          (await h.client.containerStatus({ container_id: id })).status?.state === 'CONTAINER_EXITED', 20_000);
      } else ids.push({ name: c.name, id });
    }
  }
  const now = new Date().toISOString();
  const withStatus: Pod = await api('PUT', `/api/v1/namespaces/default/pods/${name}/status`, {
    ...pod,
    status: {
      phase: 'Running', hostIP: '127.0.0.1', podIP: '127.0.0.1', startTime: now,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
      containerStatuses: containers.map((c) => ({ name: c.name, ready: true, restartCount: (c.runs ?? []).length, image: BUSYBOX_IMAGE, imageID: '',
        state: { running: { startedAt: now } } })),
    },
  });
  pods.set(name, { pod: withStatus, logDir, containers: ids });
  return { pod: withStatus, logDir, ids, sandboxId };
}

const WEB_SCRIPT = [
  'mkdir -p /www && echo hello-from-pod > /www/index.html && httpd -p 8080 -h /www',
  'for i in 1 2 3 4 5; do echo line $i; done',
  'echo oops >&2',
  // A line written in two pieces: the runtime logs a P piece, then the F rest.
  'printf "abc"; sleep 0.5; echo def',
  'exec sleep 100000',
].join('; ');

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'skiff-kubelet-'));
  logRoot = join(work, 'logs');
  s = await startServer({ extraArgs: ['--disable-controllers'] });
  h = await startHarness();
  kubelet = await startKubeletServer({
    address: '127.0.0.1', port: 0, tls: await selfSignedServingCert([]), clientCa: s.ca, cri: h.client,
    pods: { lookup: (ns, name) => (ns === 'default' ? pods.get(name) : undefined) },
    log: (l) => console.error(l),
  });
  await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
  const node = await api('GET', `/api/v1/nodes/${NODE}`);
  await api('PUT', `/api/v1/nodes/${NODE}/status`, {
    ...node,
    status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: NODE }],
      daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } } },
  });
  await makePod('web', [{ name: 'app', script: WEB_SCRIPT, runs: ['echo first run'] }]);
  await waitFor('the web pod to have logged its split line', async () =>
    (await s.kubectl(['logs', 'web'])).stdout.includes('abcdef') || undefined, 20_000);
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await kubelet?.close();
  await h?.cleanup();
  await s?.cleanup();
  await rm(work, { recursive: true, force: true });
});

test('kubectl logs shows stdout and stderr, joins split lines, and --tail/--timestamps/--since-time/--limit-bytes work', async () => {
  const all = await s.k(['logs', 'web']);
  assert.equal(all, 'line 1\nline 2\nline 3\nline 4\nline 5\noops\nabcdef\n');
  assert.equal(await s.k(['logs', 'web', '--tail=2']), 'oops\nabcdef\n');
  assert.equal(await s.k(['logs', 'web', '--tail=0']), '');
  assert.equal(await s.k(['logs', 'web', '-c', 'app', '--tail=100']), all);
  const stamped = await s.k(['logs', 'web', '--timestamps', '--tail=1']);
  assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) abcdef\n$/);
  assert.equal(await s.k(['logs', 'web', '--since-time', new Date(Date.now() + 3_600_000).toISOString()]), '');
  assert.equal(await s.k(['logs', 'web', '--since=1h']), all);
  assert.equal(await s.k(['logs', 'web', '--limit-bytes=9']), 'line 1\nli');
});

test('kubectl logs --previous shows the run before the current one', async () => {
  assert.equal(await s.k(['logs', 'web', '--previous']), 'first run\n');
});

test('kubectl logs -f streams what the container writes next', async () => {
  const child = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'logs', '-f', '--tail=1', 'web'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  try {
    await waitFor('the tail line', () => out.includes('abcdef') || undefined, 20_000);
    // Write to the container's stdout from inside it: PID 1's stdout is the log pipe.
    await h.client.execSync({ container_id: pods.get('web')!.containers[0].id, cmd: ['sh', '-c', 'echo followed-1 > /proc/1/fd/1; echo followed-2 > /proc/1/fd/2'], timeout: 10 });
    await waitFor('the followed lines', () => (out.includes('followed-1\n') && out.includes('followed-2\n')) || undefined, 20_000);
    assert.equal(child.exitCode, null, 'kubectl logs -f keeps streaming');
    assert.equal(out, 'abcdef\nfollowed-1\nfollowed-2\n');
  } finally {
    child.kill('SIGKILL');
    children.delete(child);
  }
});

test('logs -f ends when the container exits', async () => {
  await makePod('short', [{ name: 'main', script: 'echo begin; sleep 3; echo end' }]);
  const r = await within('kubectl logs -f of a container that exits', s.kubectl(['logs', '-f', 'short'], { timeoutMs: 30_000 }), 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'begin\nend\n');
});

test('errors are worded as kube-apiserver words them', async () => {
  const bad = await s.kubectl(['logs', 'web', '-c', 'nope']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /container nope is not valid for pod web/);
  const missing = await s.kubectl(['logs', 'ghost']);
  assert.match(missing.stderr, /pods "ghost" not found/);
  await api('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unbound' },
    spec: { containers: [{ name: 'a', image: BUSYBOX_IMAGE }, { name: 'b', image: BUSYBOX_IMAGE }] } });
  const unbound = await s.fetch('/api/v1/namespaces/default/pods/unbound/log?container=a');
  assert.equal(unbound.status, 400);
  assert.match(((await unbound.json()) as { message: string }).message, /pod unbound does not have a host assigned/);
  const which = await s.fetch('/api/v1/namespaces/default/pods/unbound/log');
  assert.equal(which.status, 400);
  assert.equal(((await which.json()) as { message: string }).message, 'a container name must be specified for pod unbound, choose one of: [a b]');
  const noPrevious = await s.kubectl(['logs', 'short', '--previous']);
  assert.match(noPrevious.stderr, /previous terminated container "main" in pod "short" not found/);
});

test('the agent server refuses clients without a certificate from the cluster CA', async () => {
  const status = (cert?: { cert: string; key: string }) => new Promise<number>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: kubelet.port, path: '/containerLogs/default/web/app', rejectUnauthorized: false, ...cert }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(await status(), 401);
  // Self-signed: not from the cluster CA.
  const stranger = await selfSignedServingCert([]);
  assert.equal(await status(stranger), 401);
  const apiClient = { cert: await readFile(join(s.dataDir, 'tls', 'kubelet-client.crt'), 'utf8'), key: await readFile(join(s.dataDir, 'tls', 'kubelet-client.key'), 'utf8') };
  assert.equal(await status(apiClient), 200);
});

test('kubectl exec runs a command, passes stdin and propagates the exit code', async () => {
  assert.equal(await s.k(['exec', 'web', '--', 'echo', 'hi']), 'hi\n');
  const three = await s.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo bad >&2; exit 3']);
  assert.equal(three.code, 3);
  assert.match(three.stderr, /bad/);
  assert.equal(await s.k(['exec', '-i', 'web', '--', 'cat'], { input: 'x\ny\n' }), 'x\ny\n');
});

test('kubectl cp copies a file into the container and back out', async () => {
  const src = join(work, 'in.txt');
  const content = `copied ${'z'.repeat(100_000)}\n`;
  await writeFile(src, content);
  await s.k(['cp', src, 'web:/tmp/in.txt']);
  assert.equal((await s.k(['exec', 'web', '--', 'wc', '-c', '/tmp/in.txt'])).trim(), `${content.length} /tmp/in.txt`);
  const back = join(work, 'out.txt');
  await s.k(['cp', 'web:/tmp/in.txt', back]);
  assert.equal(await readFile(back, 'utf8'), content);
});

async function portForward(env: Record<string, string>) {
  const port = await freePort();
  const child = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'port-forward', 'pod/web', `${port}:8080`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  try {
    await waitFor('kubectl port-forward to listen', () => out.includes(`Forwarding from 127.0.0.1:${port}`) || undefined, 30_000);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/index.html`).catch((e: Error) => {
        throw new Error(`request ${i} through port-forward failed: ${e.message} (${(e.cause as Error)?.message}); kubectl said:\n${out}`);
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello-from-pod\n');
    }
    assert.equal(child.exitCode, null, `port-forward is still running:\n${out}`);
  } finally {
    child.kill('SIGKILL');
    children.delete(child);
  }
}

test('kubectl port-forward (SPDY tunneled in a WebSocket) reaches a port inside the pod, connection after connection', async () => {
  await portForward({});
});

test('kubectl port-forward falls back to a plain SPDY upgrade', async () => {
  await portForward({ KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
});

test('a port nothing listens on in the pod: kubectl reports the error and keeps forwarding', async () => {
  const port = await freePort();
  const child = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'port-forward', 'pod/web', `${port}:9999`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  try {
    await waitFor('kubectl port-forward to listen', () => out.includes(`Forwarding from 127.0.0.1:${port}`) || undefined, 30_000);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
    await waitFor('the forwarding error', () => /error forwarding port 9999 to pod web/.test(out) || undefined, 20_000);
  } finally {
    child.kill('SIGKILL');
    children.delete(child);
  }
});
