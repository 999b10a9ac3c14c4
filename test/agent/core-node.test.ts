// The agent's Node: registration with the host's capacity and facts, Ready, the Lease heartbeat,
// re-registration after a delete, and the pod network config from the node's podCIDR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { run } from '../../src/runtime/command.ts';
import { waitFor } from '../helpers/wait.ts';
import { startAgentEnv, type AgentEnv } from './helpers.ts';

let env: AgentEnv;

before(async () => {
  env = await startAgentEnv({ agent: { leaseRenewMs: 1000, nodeStatusUpdateMs: 1000 } });
});

after(async () => {
  await env?.cleanup();
});

const ready = (n: Node | undefined) => n?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

test('the node registers with the host\'s capacity and goes Ready in kubectl get nodes', async () => {
  const node = await waitFor('node Ready', async () => {
    const n = await env.client.get<Node>(R.nodes, env.nodeName);
    return ready(n) ? n : undefined;
  }, 30_000, 200);
  const out = await env.server.k(['get', 'nodes', env.nodeName]);
  assert.match(out, new RegExp(`${env.nodeName}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.32\\.0-skiff`));
  const s = node.status!;
  assert.equal(s.capacity?.cpu, String(availableParallelism()));
  assert.equal(s.capacity?.pods, '110');
  const memTotalKi = Number(/MemTotal:\s+(\d+)/.exec(await readFile('/proc/meminfo', 'utf8'))![1]);
  assert.equal(s.capacity?.memory, `${memTotalKi}Ki`);
  // Allocatable is capacity minus the 100Mi memory eviction threshold.
  assert.equal(s.allocatable?.memory, `${memTotalKi - 100 * 1024}Ki`);
  assert.match(s.capacity?.['ephemeral-storage'] ?? '', /^\d+Ki$/);
  assert.deepEqual(s.addresses, [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: env.nodeName }]);
  assert.equal(s.daemonEndpoints?.kubeletEndpoint?.Port, env.agent.kubeletPort);
  assert.ok(env.agent.kubeletPort > 0);
  assert.equal(s.nodeInfo?.containerRuntimeVersion, 'skiff://0.1.0');
  assert.equal(s.nodeInfo?.operatingSystem, 'linux');
  assert.equal(s.nodeInfo?.kubeletVersion, 'v1.32.0-skiff');
  assert.ok(s.nodeInfo?.bootID && s.nodeInfo.kernelVersion && s.nodeInfo.osImage);
  const byType = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
  assert.equal(byType.MemoryPressure?.reason, 'KubeletHasSufficientMemory');
  assert.equal(byType.DiskPressure?.reason, 'KubeletHasNoDiskPressure');
  assert.equal(byType.PIDPressure?.reason, 'KubeletHasSufficientPID');
  assert.equal(byType.Ready?.reason, 'KubeletReady');
  assert.equal(byType.Ready?.message, 'kubelet is posting ready status');
  assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], env.nodeName);
});

test('the pod network: a conflist on the node\'s podCIDR and the unreachable safety routes', async () => {
  const node = await env.client.get<Node>(R.nodes, env.nodeName);
  const cidr = node.spec?.podCIDR;
  assert.match(cidr ?? '', /^10\.42\.\d+\.0\/24$/);
  const conf = JSON.parse(await readFile(join(env.dataDir, 'cni', 'net.d', '10-skiff.conflist'), 'utf8'));
  assert.deepEqual(conf.plugins.map((p: { type: string }) => p.type), ['bridge', 'portmap']);
  assert.equal(conf.plugins[0].bridge, 'skiff0');
  assert.equal(conf.plugins[0].isGateway, true);
  assert.equal(conf.plugins[0].ipMasq, false);
  assert.deepEqual(conf.plugins[0].ipam.ranges, [[{ subnet: cidr }]]);
  const routes = (await run('ip', ['-4', 'route', 'show', 'type', 'unreachable'])).stdout.toString();
  assert.match(routes, /unreachable 10\.42\.0\.0\/16/);
  assert.match(routes, /unreachable 10\.43\.0\.0\/16/);
});

test('the node Lease in kube-node-lease is renewed', async () => {
  const first = await waitFor('lease', () => env.client.get<Lease>(R.leases, env.nodeName, { namespace: 'kube-node-lease' }), 20_000, 200);
  assert.equal(first.spec?.holderIdentity, env.nodeName);
  assert.equal(first.spec?.leaseDurationSeconds, 40);
  assert.equal(first.metadata?.ownerReferences?.[0]?.kind, 'Node');
  await waitFor('lease renewal', async () => {
    const l = await env.client.get<Lease>(R.leases, env.nodeName, { namespace: 'kube-node-lease' });
    return l.spec?.renewTime !== first.spec?.renewTime ? l : undefined;
  }, 15_000, 200);
});

test('a deleted Node registers again', async () => {
  const before = await env.client.get<Node>(R.nodes, env.nodeName);
  await env.server.k(['delete', 'node', env.nodeName]);
  const again = await waitFor('node registered again', async () => {
    const n = await env.client.get<Node>(R.nodes, env.nodeName).catch(() => undefined);
    return n && n.metadata?.uid !== before.metadata?.uid && ready(n) ? n : undefined;
  }, 30_000, 200);
  assert.ok(again.status?.nodeInfo?.containerRuntimeVersion);
});
