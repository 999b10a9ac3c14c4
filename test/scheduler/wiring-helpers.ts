// Shared by the scheduler wiring tests: a real server, Node objects as a kubelet would register
// them, pods, and the scheduler started through its ControllerDefinition.
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.d.ts';
import { EventRecorder } from '../../src/client/events.ts';
import { SharedInformerFactory } from '../../src/client/informer-factory.ts';
import { R } from '../../src/client/resources.ts';
import type { RestClient } from '../../src/client/rest.ts';
import { type ControllerContext, DEFAULT_CONTROLLER_OPTIONS, type RunningController } from '../../src/controllers/context.ts';
import { definition } from '../../src/controllers/scheduler.ts';

export { until } from '../helpers/wait.ts';

export interface NodeSpec {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
}

export function nodeObject(name: string, o: NodeSpec = {}): Node {
  const resources = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...o.labels } },
    spec: { taints: o.taints },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status',
        lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    },
  };
}

/** Registers a node with its status (allocatable, Ready), as a kubelet does. */
export async function createNode(c: RestClient, name: string, o: NodeSpec = {}): Promise<Node> {
  const want = nodeObject(name, o);
  const created = await c.create<Node>(R.nodes, want);
  if (created.status?.allocatable?.cpu === want.status!.allocatable!.cpu) return created;
  return c.updateStatus<Node>(R.nodes, { ...created, status: want.status });
}

export function podObject(name: string, namespace: string, o: { cpu?: string; memory?: string; spec?: Partial<Pod['spec']> } = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests } }],
      ...o.spec,
    },
  };
}

/** The scheduler as the controller manager runs it: definition.start(ctx). */
/** Starts the scheduler on `informers` (its own by default; the benchmark counts bindings on the scheduler's, as scheduler_perf does). */
export function startScheduler(client: RestClient, informers = new SharedInformerFactory(client)): { scheduler: RunningController; stop: () => Promise<void> } {
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: (component) => new EventRecorder(client, { component }),
    options: DEFAULT_CONTROLLER_OPTIONS,
    log: (m) => console.error(m),
  };
  const scheduler = definition.start(ctx);
  return {
    scheduler,
    stop: async () => {
      await scheduler.stop();
      await informers.stop();
    },
  };
}

export function condition(pod: Pod, type: string) {
  return pod.status?.conditions?.find((c) => c.type === type);
}
