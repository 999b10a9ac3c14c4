// A real `skiff server` holding the Nodes, and one NetworkAgent per node namespace of a
// multi-node harness, in this process (each agent's commands run inside its node's namespace).
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { RestClient } from '../../src/client/rest.ts';
import { type Backend, startNetworkAgent, type NetworkAgent } from '../../src/network/index.ts';
import { createMultiNode, type MultiNode } from '../helpers/multinode.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';

export const CLUSTER_CIDR = '10.42.0.0/16';

export interface NetCluster {
  server: TestServer;
  client: RestClient;
  mn: MultiNode;
  agents: NetworkAgent[];
  /** spec.podCIDR of each node, by index. */
  podCidrs: string[];
  logs: string[];
  startAgent(index: number, backend: Backend, resyncMs?: number): NetworkAgent;
  cleanup(): Promise<void>;
}

export async function startNetCluster(backend: Backend, opts: { nodes?: number; resyncMs?: number } = {}): Promise<NetCluster> {
  const server = await startServer();
  const client = RestClient.fromKubeconfig(server.kubeconfig);
  let mn: MultiNode | undefined;
  const agents: NetworkAgent[] = [];
  const logs: string[] = [];
  const cleanup = async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await mn?.cleanup();
    await client.close();
    await server.cleanup();
  };
  try {
    mn = await createMultiNode({ nodes: opts.nodes ?? 3 });
    const m = mn;
    for (const n of m.nodes) await client.create<Node>(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: n.name } });
    const podCidrs = await Promise.all(m.nodes.map((n) => waitFor(`node-ipam to give ${n.name} a podCIDR`, async () =>
      (await client.get<Node>(R.nodes, n.name)).spec?.podCIDR, 30_000, 200)));
    const startAgent = (i: number, b: Backend, resyncMs = opts.resyncMs ?? 2000) => {
      const n = m.nodes[i];
      const agent = startNetworkAgent({
        client, nodeName: n.name, backend: b, underlayIp: n.underlayIp, clusterCidr: CLUSTER_CIDR, netns: n.netns, resyncMs,
        log: (line) => logs.push(line),
      });
      agents.push(agent);
      return agent;
    };
    for (let i = 0; i < m.nodes.length; i++) startAgent(i, backend);
    return { server, client, mn: m, agents, podCidrs, logs, startAgent, cleanup };
  } catch (e) {
    await cleanup().catch(() => undefined); // the setup error is the one to report
    throw e;
  }
}

/** Every agent ready and routing to all the others. */
export async function waitForMesh(c: NetCluster, agents = c.agents, timeoutMs = 60_000): Promise<void> {
  await waitFor('every network agent ready and routing to every other node', async () => {
    for (const a of agents) {
      const s = a.status();
      if (!s.lastSync || s.peers.length !== agents.length - 1) return false;
    }
    return true;
  }, timeoutMs, 100).catch((e: Error) => {
    throw new Error(`${e.message}\nagent log:\n${c.logs.join('\n')}`);
  });
}
