// `skiff hollow-nodes`: registers N simulated nodes and keeps them alive (Lease
// heartbeats, pods played Running → Succeeded) until SIGINT/SIGTERM, for
// exercising the scheduler and controllers at scale without containers.
import { startHollowNodes } from '../hollow/index.ts';
import { CliError } from './errors.ts';
import { durationFlag, intFlag, parseFlags } from './flags.ts';

export const HOLLOW_NODES_FLAGS = {
  count: { type: 'string', default: '1', help: 'how many nodes to register' },
  prefix: { type: 'string', default: 'hollow-node', help: 'node names are PREFIX-0, PREFIX-1, ...' },
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the cluster (default $KUBECONFIG)' },
  'ready-delay': { type: 'string', default: '1s', help: 'a bound pod becomes Running and Ready after this long' },
  'job-run-time': { type: 'string', default: '5s', help: "a Job's pod succeeds after running this long (annotation skiff.io/hollow-run-time overrides)" },
  cpu: { type: 'string', default: '8', help: 'CPU capacity of each node' },
  memory: { type: 'string', default: '32Gi', help: 'memory capacity of each node' },
  pods: { type: 'string', default: '110', help: 'pod capacity of each node' },
  labels: { type: 'string', default: '', help: 'extra node labels, k=v,k2=v2' },
  'heartbeat-interval': { type: 'string', default: '10s', help: "how often each node renews its Lease (kubelet's 10s)" },
} as const;

export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--labels: "${pair}" is not key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export async function runHollowNodes(args: string[]): Promise<void> {
  const f = parseFlags('hollow-nodes', 'Registers simulated nodes that heartbeat and play the pods bound to them.', HOLLOW_NODES_FLAGS, args);
  const count = intFlag('count', f.count, 1, 100_000);
  const kubeconfig = f.kubeconfig || process.env.KUBECONFIG?.split(':')[0];
  if (!kubeconfig) throw new CliError('no kubeconfig: pass --kubeconfig FILE or set $KUBECONFIG');
  let hollow;
  try {
    hollow = await startHollowNodes({
      kubeconfig, count, prefix: f.prefix,
      readyDelayMs: durationFlag('ready-delay', f['ready-delay']), jobRunTimeMs: durationFlag('job-run-time', f['job-run-time']),
      leaseRenewIntervalMs: Math.max(100, durationFlag('heartbeat-interval', f['heartbeat-interval'])),
      cpu: f.cpu, memory: f.memory, pods: f.pods, labels: parseLabels(f.labels),
    });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`starting hollow nodes: ${(e as Error).message}`);
  }
  console.log(`skiff: ${count} hollow node(s) ${f.prefix}-0..${count - 1} registered in ${hollow.registeredInMs} ms; heartbeating`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // The Node objects stay: without heartbeats the node lifecycle controller marks them NotReady.
    console.log(`skiff: ${signal}: stopping heartbeats of ${count} hollow node(s)`);
    await hollow.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
