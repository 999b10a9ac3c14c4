// The node goes Ready as soon as the agent's own reason for NotReady (no pod network yet) goes
// away, not at the next 10 s status tick: a poke() that arrives while the status loop is busy
// (here: while start() runs, which is when a fresh node's podCIDR arrives) must not be lost.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { NodeStatusManager } from '../../src/agent/node-status.ts';
import { createCriClient, type CriClient } from '../../src/cri/client.ts';
import { serveCri, type CriServer } from '../../src/cri/server.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

let server: TestServer;
let dir: string;
let cri: CriServer;
let criClient: CriClient;
let client: RestClient;

before(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'skiff-node-ready-'));
  // The runtime is not what is tested: a CRI endpoint that answers Version and Status, ready.
  cri = await serveCri(`unix://${join(dir, 'cri.sock')}`, {
    version: async () => ({ version: '0.1.0', runtime_name: 'test', runtime_version: '0.1.0', runtime_api_version: 'v1' }),
    status: async () => ({
      status: { conditions: [{ type: 'RuntimeReady', status: true, reason: '', message: '' }, { type: 'NetworkReady', status: true, reason: '', message: '' }] },
      info: {},
    }),
  } as never, { log: () => undefined });
  criClient = createCriClient(cri.endpoint);
  client = RestClient.fromKubeconfig(server.kubeconfig);
});

after(async () => {
  await client?.close();
  criClient?.close();
  await cri?.close();
  await server?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const readyCondition = (n: Node | undefined) => n?.status?.conditions?.find((c) => c.type === 'Ready');

test('a poke while an update runs is not lost: Ready within seconds, not at the 10 s tick', async () => {
  let networkReady = false;
  let computed = 0;
  const name = `ready-${process.pid}`;
  const mgr: NodeStatusManager = new NodeStatusManager({
    client, cri: criClient, nodeName: name, nodeIp: '127.0.0.1', dataDir: dir, kubeletPort: () => 0, log: () => undefined,
    // The pod network becomes ready (and pokes) while start()'s last status post is in flight:
    // start() posts after registering and again after its informer synced; the second post's
    // status is computed NotReady and the poke comes while it is being sent, as a fresh node's
    // podCIDR does. The default 10 s interval: only a kept poke makes the node Ready in time.
    notReady: () => {
      if (!networkReady && ++computed === 2) {
        setImmediate(() => {
          networkReady = true;
          mgr.poke();
        });
      }
      return networkReady ? undefined : 'waiting for the pod network';
    },
  });
  try {
    await mgr.start();
    const started = Date.now();
    assert.equal(computed, 2, 'start() computes the status twice (register, then after the informer synced)');
    assert.equal(readyCondition(await client.get<Node>(R.nodes, name))?.status, 'False', 'start() posted NotReady');
    const node = await waitFor('node Ready', async () => {
      const n = await client.get<Node>(R.nodes, name);
      return readyCondition(n)?.status === 'True' ? n : undefined;
    }, 8000, 50);
    const tookMs = Date.now() - started;
    assert.ok(tookMs < 3000, `Ready ${tookMs} ms after start() returned`);
    assert.equal(readyCondition(node)?.reason, 'KubeletReady');
  } finally {
    await mgr.stop();
    await client.delete(R.nodes, name).catch(() => undefined);
  }
});

test('pokes that come while sleeping still wake the loop at once', async () => {
  let reason: string | undefined = 'not yet';
  const name = `ready2-${process.pid}`;
  const mgr = new NodeStatusManager({
    client, cri: criClient, nodeName: name, nodeIp: '127.0.0.1', dataDir: dir, kubeletPort: () => 0, log: () => undefined,
    notReady: () => reason,
  });
  try {
    await mgr.start();
    assert.equal(readyCondition(await client.get<Node>(R.nodes, name))?.status, 'False');
    // Let the loop fall asleep, then clear the reason and poke.
    await new Promise((r) => setTimeout(r, 300));
    reason = undefined;
    const poked = Date.now();
    mgr.poke();
    await waitFor('node Ready after the poke', async () => readyCondition(await client.get<Node>(R.nodes, name))?.status === 'True', 5000, 50);
    assert.ok(Date.now() - poked < 5000);
  } finally {
    await mgr.stop();
    await client.delete(R.nodes, name).catch(() => undefined);
  }
});
