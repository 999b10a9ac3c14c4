// `./bin/skiff agent` as a process: flags and errors, registration with the admin kubeconfig, a
// static pod from --pod-manifest-path mirrored into the API, and SIGTERM leaving containers running.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { SKIFF, runSkiff, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { BUSYBOX, cleanupAgentDataDir } from './helpers.ts';

let server: TestServer;
let client: RestClient;
let dataDir: string;
let manifests: string;
let agent: ChildProcess | undefined;
let output = '';
const nodeName = `cli-node-${process.pid}`;

const skiff = (args: string[]) => runSkiff(args, 30_000);

async function stopAgent(): Promise<number | null> {
  if (!agent || agent.exitCode !== null) return agent?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => agent!.once('exit', (code) => r(code)));
  agent.kill('SIGTERM');
  const timer = setTimeout(() => agent?.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

before(async () => {
  server = await startServer();
  client = RestClient.fromKubeconfig(server.kubeconfig);
  dataDir = await mkdtemp(join(tmpdir(), 'skiff-agent-cli-'));
  manifests = await mkdtemp(join(tmpdir(), 'skiff-manifests-'));
});

after(async () => {
  await stopAgent();
  await client?.close();
  await server?.cleanup();
  if (dataDir) await cleanupAgentDataDir(dataDir);
  if (manifests) await rm(manifests, { recursive: true, force: true });
});

test('skiff agent --help lists its flags; bad flags are one line', async () => {
  const [help, bad, none] = await Promise.all([
    skiff(['agent', '--help']),
    skiff(['agent', '--kubeconfig', server.kubeconfig, '--node-ip', 'nope']),
    skiff(['agent']),
  ]);
  assert.equal(help.code, 0);
  for (const flag of ['--server', '--token', '--kubeconfig', '--node-name', '--node-ip', '--data-dir', '--container-runtime-endpoint', '--kubelet-port', '--cni-conf-dir', '--pod-manifest-path']) {
    assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
  }
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), 'skiff: --node-ip must be an IP address, got "nope"');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^skiff: give --kubeconfig, or --server and --token\n$/);
});

test('the agent binary registers its node and runs a static pod mirrored into the API', async () => {
  await writeFile(join(manifests, 'static.yaml'), [
    'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: static-web', '  namespace: default', 'spec:',
    '  terminationGracePeriodSeconds: 2', '  containers:', '  - name: web', `    image: ${BUSYBOX}`,
    '    command: ["sh", "-c", "trap \\"exit 0\\" TERM; while true; do sleep 1; done"]', '',
  ].join('\n'));
  agent = spawn(SKIFF, ['agent', '--kubeconfig', server.kubeconfig, '--node-name', nodeName, '--data-dir', dataDir,
    '--kubelet-port', '0', '--pod-manifest-path', manifests, '--disable-proxy', '--disable-dns'], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.on('data', (d) => (output += d));
  agent.stderr!.on('data', (d) => (output += d));
  const mirrorName = `static-web-${nodeName}`;
  const pod = await waitFor('static pod mirror Running', async () => {
    const p = await client.get<Pod>(R.pods, mirrorName, { namespace: 'default' }).catch(() => undefined);
    return p?.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready ? p : undefined;
  }, 60_000, 250).catch((e: Error) => { throw new Error(`${e.message}\nagent output:\n${output}`); });
  assert.equal(pod.spec?.nodeName, nodeName);
  assert.ok(pod.metadata?.annotations?.['kubernetes.io/config.mirror']);
  assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'Node');
  assert.match(output, new RegExp(`agent for node ${nodeName} running`));
  const nodes = await server.k(['get', 'nodes']);
  assert.match(nodes, new RegExp(`${nodeName}\\s+Ready`));
});

test('SIGTERM stops the agent cleanly; restarted with the join token, it deletes the mirror pod of a removed manifest', async () => {
  assert.equal(await stopAgent(), 0);
  assert.match(output, /stopping the agent \(containers keep running\)/);
  await rm(join(manifests, 'static.yaml'));
  output = '';
  const joinToken = (await readFile(join(server.dataDir, 'node-token'), 'utf8')).trim();
  agent = spawn(SKIFF, ['agent', '--server', server.url, '--token', joinToken, '--node-name', nodeName, '--data-dir', dataDir,
    '--kubelet-port', '0', '--pod-manifest-path', manifests, '--disable-proxy', '--disable-dns'], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.on('data', (d) => (output += d));
  agent.stderr!.on('data', (d) => (output += d));
  await waitFor('mirror pod deleted', async () => {
    const p = await client.get<Pod>(R.pods, `static-web-${nodeName}`, { namespace: 'default' }).catch((e: { code?: number }) => (e.code === 404 ? null : undefined));
    return p === null;
  }, 60_000, 250).catch((e: Error) => { throw new Error(`${e.message}\nagent output:\n${output}`); });
  // It now acts with its own node credentials.
  assert.match(await readFile(join(dataDir, 'kubelet.kubeconfig'), 'utf8'), new RegExp(`system:node:${nodeName}`));
  const nodes = await server.k(['get', 'nodes']);
  assert.match(nodes, new RegExp(`${nodeName}\\s+Ready`));
});
