// `skiff scheduler`: the scheduler as its own process (kube-scheduler), talking to the API
// server through a kubeconfig; with --leader-elect only the holder of the kube-system/kube-scheduler
// Lease schedules, so several can run for availability.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { EventRecorder } from '../client/events.ts';
import { SharedInformerFactory } from '../client/informer-factory.ts';
import { LeaderElector } from '../client/leader.ts';
import { RestClient } from '../client/rest.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { DEFAULT_SCHEDULER_NAME } from '../scheduler/wiring-events.ts';
import { CliError } from './errors.ts';
import { parseFlags } from './flags.ts';

export const SCHEDULER_FLAGS = {
  kubeconfig: { type: 'string', default: '', help: 'kubeconfig of the API server (default $KUBECONFIG, then ~/.kube/config)' },
  'leader-elect': { type: 'boolean', default: false, help: 'schedule only while holding the kube-system/kube-scheduler Lease' },
} as const;

export async function runScheduler(args: string[]): Promise<void> {
  const f = parseFlags('scheduler', 'Runs the Skiff scheduler: binds pending pods to nodes.', SCHEDULER_FLAGS, args);
  let client: RestClient;
  try {
    client = RestClient.fromKubeconfig(f.kubeconfig || undefined, { userAgent: 'skiff-scheduler' });
  } catch (e) {
    throw new CliError(`cannot load the kubeconfig: ${(e as Error).message}`);
  }
  // The scheduler never changes cached objects, so it skips freezing them (it is on the hot path).
  const informers = new SharedInformerFactory(client, { freeze: false });
  const scheduler = new Scheduler({ client, informers, recorder: new EventRecorder(client, { component: DEFAULT_SCHEDULER_NAME }) });
  const identity = `${hostname()}_${randomUUID()}`;
  const elector = f['leader-elect'] ? new LeaderElector({
    client, namespace: 'kube-system', name: 'kube-scheduler', identity,
    onStartedLeading: () => {
      console.log(`skiff: scheduler ${identity} is the leader: scheduling`);
      void scheduler.run();
    },
    onStoppedLeading: () => {
      // As kube-scheduler: a scheduler that lost its lease exits rather than race the new leader.
      if (!stopping) {
        console.error('skiff: scheduler lost its leader lease, exiting');
        process.exit(1);
      }
    },
    onNewLeader: (who) => console.log(`skiff: scheduler leader is ${who}`),
  }) : undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`skiff: ${signal}: stopping the scheduler`);
    await scheduler.stop();
    await elector?.stop();
    await informers.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.log(`skiff: scheduler connecting to ${client.config.server}`);
  if (elector) void elector.run();
  else void scheduler.run();
  setInterval(() => {
    const s = scheduler.stats;
    if (s.attempts > 0) console.log(`skiff: scheduler: ${s.bound} bound, ${s.unschedulable} unschedulable attempts, queue ${JSON.stringify(scheduler.queue.counts())}`);
  }, 60_000).unref();
}
