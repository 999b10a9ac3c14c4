// "The same suite passes with the agent on containerd" (issue 5 §3): the real `skiff server`, then
// containerd 1.6 (test/runtime/containerd.ts, its own root, socket and a skiff-named bridge on the
// node's podCIDR) and the real `skiff agent --container-runtime-endpoint` joined with the node
// token; the core of the acceptance suite runs through the real kubectl.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { run } from '../../src/runtime/command.ts';
import { SKIFF, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { buildTestArchives, PAUSE_IMAGE, TEST_IMAGE } from '../runtime/backends.ts';
import { unmountAllUnder } from '../runtime/busybox-image.ts';
import { CONTAINERD, CTR, removeBridgeNetwork, startContainerd, writeBridgeNetwork, type Containerd } from '../runtime/containerd.ts';
import { kubectlRunner, nodeIsReady, type Cluster } from '../agent/up-cluster.ts';
import {
  deploymentOfHttpd, execWgetBetweenPods, jobCompletes, livenessRestarts, logsFollow, neverRestartFails, portForward, restartKeepsContainers,
} from '../agent/up-suite.ts';

const skip = existsSync(CONTAINERD) ? false : `${CONTAINERD} is not installed (Debian package containerd)`;
const IMAGE = 'test.local/busybox:v1';
const NETWORK = `skiff-ctrd-${process.pid % 100000}`;
const BRIDGE = `skiffc${process.pid % 100000}`;

let server: TestServer;
let dir: string;
let ctrd: Containerd | undefined;
let agent: ChildProcess | undefined;
let agentOut = '';
let c: Cluster;
let runner: ReturnType<typeof kubectlRunner>;
const cris: CriClient[] = [];
const nodeName = `ctrd-${process.pid}`;

async function startAgent(): Promise<void> {
  const token = readFileSync(join(server.dataDir, 'node-token'), 'utf8').trim();
  agent = spawn(SKIFF, ['agent', '--server', server.url, '--token', token, '--certificate-authority', join(server.dataDir, 'tls', 'ca.crt'),
    '--node-name', nodeName, '--data-dir', join(dir, 'agent'), '--kubelet-port', '0', '--container-runtime-endpoint', ctrd!.endpoint,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.on('data', (d) => (agentOut += d));
  agent.stderr!.on('data', (d) => (agentOut += d));
}

async function stopAgent(): Promise<void> {
  const a = agent;
  if (!a || a.exitCode !== null || a.signalCode !== null) return;
  const exited = new Promise((r) => a.once('exit', r));
  a.kill('SIGTERM');
  const timer = setTimeout(() => a.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

before(async () => {
  if (skip) return;
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-ctrd-'));
  const archives = await buildTestArchives(join(dir, 'images'));
  // containerd watches its CNI conf dir: the conflist comes once the node has its podCIDR.
  const cniConfDir = join(dir, 'net', 'cni');
  ctrd = await startContainerd({ dir: join(dir, 'containerd'), sandboxImage: PAUSE_IMAGE, cniConfDir, handlers: {} });
  await ctrd.importImage(archives.busybox);
  await ctrd.importImage(archives.pause);
  // A tag other than :latest, so the pods' default imagePullPolicy is IfNotPresent (nothing here
  // reaches a registry; the image is only what was imported).
  await run(CTR, ['--address', join(dir, 'containerd', 'containerd.sock'), '-n', 'k8s.io', 'images', 'tag', TEST_IMAGE, IMAGE]);
  await startAgent();
  const admin = RestClient.fromKubeconfig(server.kubeconfig);
  const cidr = await waitFor('the node registered with a podCIDR', async () => (await admin.get<Node>(R.nodes, nodeName)).spec?.podCIDR, 60_000, 200)
    .catch((e: Error) => { throw new Error(`${e.message}\nagent:\n${agentOut}`); });
  // No gateway on the bridge, no host routes: pods reach each other on it; the host reaches them
  // through port-forward, which containerd runs inside the pod's network namespace.
  assert.equal(await writeBridgeNetwork(join(dir, 'net'), NETWORK, BRIDGE, cidr), cniConfDir);
  await waitFor('the node Ready on containerd', async () => nodeIsReady(await admin.get<Node>(R.nodes, nodeName)), 60_000, 200)
    .catch((e: Error) => { throw new Error(`${e.message}\nagent:\n${agentOut}`); });
  runner = kubectlRunner(server.kubeconfig);
  c = {
    kubeconfig: server.kubeconfig, nodeName, image: IMAGE, criEndpoint: ctrd.endpoint, client: admin,
    kubectl: runner.kubectl, k: runner.k, spawnKubectl: runner.spawnKubectl,
    cri() {
      const cri = createCriClient(ctrd!.endpoint);
      cris.push(cri);
      return cri;
    },
    async restartNode() {
      await stopAgent();
      await startAgent();
    },
    output: () => agentOut,
    cleanup: async () => undefined,
  };
});

after(async () => {
  if (skip) return;
  for (const cri of cris) cri.close();
  await stopAgent();
  await c?.client.close();
  runner?.cleanup();
  await ctrd?.cleanup().catch((e: Error) => console.error(`containerd cleanup: ${e.message}`));
  await removeBridgeNetwork(NETWORK, BRIDGE);
  await server?.cleanup();
  // The agent's volume mounts (e.g. the service-account token tmpfs) outlive it, as kubelet's do.
  if (dir) await unmountAllUnder(dir);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let pods: Pod[];

test('a Deployment of 3 busybox httpd replicas reaches Running with pod IPs on containerd', { skip }, async () => {
  const node = await c.client.get<Node>(R.nodes, nodeName);
  assert.match(node.status?.nodeInfo?.containerRuntimeVersion ?? '', /^containerd:\/\/1\.6\./);
  pods = await deploymentOfHttpd(c, 'web');
});

test('kubectl exec (wget to another pod, the exit code, stdin) through containerd\'s streaming server', { skip }, async () => {
  await execWgetBetweenPods(c, pods);
});

test('kubectl port-forward through containerd', { skip }, async () => {
  await portForward(c, pods[0]);
});

test('kubectl logs -f streams from containerd\'s log files', { skip }, async () => {
  await logsFollow(c);
});

test('probes, Jobs and failures on containerd', { skip, concurrency: true }, async (t) => {
  await Promise.all([
    t.test('a failing liveness probe restarts the container', () => livenessRestarts(c)),
    t.test('a Job runs to completion', () => jobCompletes(c)),
    t.test('restartPolicy Never and a non-zero exit: Failed with the code', () => neverRestartFails(c)),
  ]);
});

test('restarting the agent leaves containerd\'s containers and their start times alone', { skip }, async () => {
  await restartKeepsContainers(c);
});
