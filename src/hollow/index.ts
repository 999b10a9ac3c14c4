// Hollow nodes: thousands of simulated kubelets in one process, for testing the
// control plane at scale without running containers (kubemark's hollow nodes,
// kwok's fake nodes). Each node registers, keeps its Lease renewed, answers
// when marked unhealthy, and plays the life of the pods bound to it.
//
//   const h = await startHollowNodes({ kubeconfig, count: 1000 });
//   ... h.names, h.registeredInMs ...
//   await h.stop();   // heartbeats stop: the nodes go NotReady after the grace period
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { isAlreadyExists } from '../client/errors.ts';
import { SharedInformerFactory } from '../client/informer-factory.ts';
import { R } from '../client/resources.ts';
import { RestClient } from '../client/rest.ts';
import { Heartbeats } from './heartbeat.ts';
import { Limiter } from './limit.ts';
import { isReady, type NodeShape, nodeObject } from './node.ts';
import { type HollowNodeInfo, startPodPlayer } from './pods.ts';

export { RUN_TIME_ANNOTATION } from './pods.ts';
export { HOLLOW_LABEL, KUBELET_VERSION } from './node.ts';

export interface HollowNodesOptions {
  /** Path of the kubeconfig; default $KUBECONFIG (or ~/.kube/config). Ignored when client is given. */
  kubeconfig?: string;
  client?: RestClient;
  count: number;
  /** Nodes are named <prefix>-0 ... <prefix>-(count-1). */
  prefix?: string;
  /** Bound pod → Running and Ready after this long. */
  readyDelayMs?: number;
  /** A Job's pod → Succeeded after running this long. */
  jobRunTimeMs?: number;
  cpu?: string;
  memory?: string;
  pods?: string;
  ephemeralStorage?: string;
  labels?: Record<string, string>;
  /** Lease renewal period (kubelet: 10 s). */
  leaseRenewIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** Node status is re-posted this often even when healthy (kubelet's nodeStatusReportFrequency: 5 min). */
  statusReportIntervalMs?: number;
  /** API calls in flight at once, for the whole process: this many for heartbeats and registration, as many for pods. */
  concurrency?: number;
  log?: (message: string) => void;
}

export interface HollowNodes {
  names: string[];
  /** How long registering every node (Node, status, Lease) took. */
  registeredInMs: number;
  heartbeats: Heartbeats;
  client: RestClient;
  /** Stops heartbeats and pod handling; the Node objects stay (they go NotReady). */
  stop(): Promise<void>;
}

export async function startHollowNodes(o: HollowNodesOptions): Promise<HollowNodes> {
  if (!Number.isInteger(o.count) || o.count < 1) throw new Error(`count must be a positive whole number, got ${o.count}`);
  const log = o.log ?? ((m: string) => console.error(`hollow-nodes: ${m}`));
  const ownClient = !o.client;
  const client = o.client ?? RestClient.fromKubeconfig(o.kubeconfig, { userAgent: 'skiff-hollow-nodes/0.1' });
  const limiter = new Limiter(o.concurrency ?? 32);
  const prefix = o.prefix ?? 'hollow-node';
  const shape: NodeShape = {
    cpu: o.cpu ?? '8', memory: o.memory ?? '32Gi', pods: o.pods ?? '110', ephemeralStorage: o.ephemeralStorage ?? '100Gi', labels: o.labels ?? {},
  };
  const renewIntervalMs = o.leaseRenewIntervalMs ?? 10_000;
  const names = Array.from({ length: o.count }, (_, i) => `${prefix}-${i}`);
  const nodes = new Map<string, HollowNodeInfo>();
  names.forEach((name, index) => nodes.set(name, { index, hostIP: nodeObject(name, index, shape).status!.addresses![0].address }));

  const informers = new SharedInformerFactory(client, { log });
  const nodeInformer = informers.informerFor<Node>(R.nodes);
  const heartbeats = new Heartbeats({
    client, limiter, renewIntervalMs, leaseDurationSeconds: o.leaseDurationSeconds ?? 40,
    statusEveryRenewals: Math.max(1, Math.round((o.statusReportIntervalMs ?? 300_000) / renewIntervalMs)),
    cachedNode: (name) => nodeInformer.get(name), log,
  });
  const registered = new Set<string>();
  // The node lifecycle controller marks a silent node Unknown; a live kubelet answers by posting its status again.
  const answer = (node: Node) => {
    const name = node.metadata?.name ?? '';
    if (registered.has(name) && !isReady(node)) heartbeats.requestStatus(name);
  };
  nodeInformer.addEventHandler({ onAdd: answer, onUpdate: (_old, node) => answer(node) });
  // Pods get their own budget of calls: a thousand nodes' Lease renewals (100 a second) must not
  // queue every pod's status write behind them when the API server is slow.
  const player = startPodPlayer({
    client, informers, limiter: new Limiter(o.concurrency ?? 32), nodes, log,
    // As many workers as API calls may be in flight: a worker mostly waits on its status write.
    readyDelayMs: o.readyDelayMs ?? 1000, jobRunTimeMs: o.jobRunTimeMs ?? 5000, workers: o.concurrency ?? 32,
  });
  informers.start();
  const playing = player.run();

  const started = Date.now();
  try {
    await Promise.all(names.map(async (name, index) => {
      const node = await register(client, limiter, nodeObject(name, index, shape));
      registered.add(name);
      await heartbeats.add(node, (index / names.length) * renewIntervalMs + renewIntervalMs);
    }));
  } catch (e) {
    await heartbeats.stop();
    await player.stop();
    await informers.stop();
    throw e;
  }
  const registeredInMs = Date.now() - started;

  return {
    names, registeredInMs, heartbeats, client,
    async stop() {
      await heartbeats.stop();
      await player.stop();
      await playing;
      await informers.stop();
      if (ownClient) await client.close();
    },
  };
}

/** Creates the Node (or takes over an existing one of that name) and posts its full status, as kubelet registration does. */
async function register(client: RestClient, limiter: Limiter, node: Node): Promise<Node> {
  const name = node.metadata!.name!;
  try {
    await limiter.run(() => client.create(R.nodes, node));
  } catch (e) {
    if (!isAlreadyExists(e)) throw new Error(`registering node ${name}: ${(e as Error).message}`);
  }
  // Creation may drop status (it belongs to the status subresource): post it as the kubelet's first status update.
  return limiter.run(() => client.patch<Node>(R.nodes, name, { status: node.status }, { subresource: 'status', type: 'strategic' }));
}
