// The controller manager: runs the selected controllers (index.ts) against an
// API server with one shared client, informer factory and event recorders, like
// kube-controller-manager. With leader election only the holder of the Lease
// kube-system/kube-controller-manager runs them, so several managers can be
// started for availability.
// https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventRecorder, LeaderElector, RestClient, SharedInformerFactory } from '../client/index.ts';
import { type ControllerContext, type ControllerDefinition, type ControllerOptions, DEFAULT_CONTROLLER_OPTIONS, type RunningController } from './context.ts';
import { CONTROLLERS } from './index.ts';

export const LEASE_NAMESPACE = 'kube-system';
export const LEASE_NAME = 'kube-controller-manager';

export interface ControllerManagerOptions {
  /** Where to connect: a kubeconfig file, or a ready client (which stays open after stop()). */
  kubeconfig?: string;
  client?: RestClient;
  /** Names as kube-controller-manager's --controllers: '*' (all), 'name', '-name' (all but). Default '*'. */
  controllers?: readonly string[] | '*';
  leaderElect?: boolean;
  /** Lease timing (kube-controller-manager's --leader-elect-lease-duration etc.); defaults 15 s / 10 s / 2 s. */
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Leader election identity; default host name + random suffix. */
  identity?: string;
  options?: Partial<ControllerOptions>;
  /** Defaults to every controller in index.ts. */
  definitions?: readonly ControllerDefinition[];
  log?: (message: string) => void;
  /** Called when leadership is lost other than by stop() (kube-controller-manager exits then). */
  onLeadershipLost?: () => void;
}

export interface ControllerManager {
  /** Names of the controllers this manager runs (while leading, with leader election). */
  readonly controllers: string[];
  isLeader(): boolean;
  /** true once this manager runs its controllers and their informers hold their first lists; false after timeoutMs. */
  waitForSync(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** A context sharing one client, informer factory and a recorder per component; close() stops the informers. */
export function createControllerContext(client: RestClient, options: Partial<ControllerOptions> = {}, log: (m: string) => void = console.error):
  { ctx: ControllerContext; close(): Promise<void> } {
  const opts = { ...DEFAULT_CONTROLLER_OPTIONS, ...options };
  const informers = new SharedInformerFactory(client, { resyncPeriodMs: opts.resyncPeriodMs, log });
  const recorders = new Map<string, EventRecorder>();
  const ctx: ControllerContext = {
    client, informers, options: opts, log,
    recorder(component) {
      let r = recorders.get(component);
      if (!r) recorders.set(component, (r = new EventRecorder(client, { component, log })));
      return r;
    },
  };
  return {
    ctx,
    async close() {
      await informers.stop();
      await Promise.all([...recorders.values()].map((r) => r.flush()));
    },
  };
}

/** The definitions a --controllers value selects; unknown names are an error naming the known ones. */
export function selectControllers(all: readonly ControllerDefinition[], selection: readonly string[] | '*'): ControllerDefinition[] {
  const names = selection === '*' ? ['*'] : selection.map((s) => s.trim()).filter(Boolean);
  const known = new Set(all.map((d) => d.name));
  for (const n of names) {
    const bare = n.startsWith('-') ? n.slice(1) : n;
    if (bare !== '*' && !known.has(bare)) throw new Error(`unknown controller "${bare}" (known: ${[...known].join(', ')})`);
  }
  const star = names.includes('*');
  return all.filter((d) => !names.includes(`-${d.name}`) && (star || names.includes(d.name)));
}

/** Starts the manager; with leaderElect, controllers start once this process holds the Lease. */
export async function startControllerManager(opts: ControllerManagerOptions): Promise<ControllerManager> {
  const log = opts.log ?? ((m: string) => console.error(`controller-manager: ${m}`));
  const ownClient = !opts.client;
  const client = opts.client ?? RestClient.fromKubeconfig(opts.kubeconfig, { userAgent: 'skiff-controller-manager' });
  const selected = selectControllers(opts.definitions ?? CONTROLLERS, opts.controllers ?? '*');

  let running: { ctx: ControllerContext; controllers: RunningController[]; done: Promise<void>[]; close(): Promise<void> } | undefined;
  const startAll = () => {
    if (running) return;
    const { ctx, close } = createControllerContext(client, opts.options, log);
    const controllers: RunningController[] = [];
    const done: Promise<void>[] = [];
    for (const def of selected) {
      let c: RunningController;
      try {
        c = def.start(ctx);
      } catch (e) {
        log(`controller ${def.name} could not start: ${(e as Error).stack ?? e}`); // the others still run
        continue;
      }
      controllers.push(c);
      done.push(c.run().catch((e) => log(`controller ${def.name} failed: ${(e as Error).stack ?? e}`)));
    }
    ctx.informers.start();
    running = { ctx, controllers, done, close };
    log(`started controllers: ${selected.map((d) => d.name).join(', ') || '(none)'}`);
  };
  const stopAll = async () => {
    const r = running;
    running = undefined;
    if (!r) return;
    await Promise.all(r.controllers.map((c) => c.stop()));
    await Promise.all(r.done);
    await r.close();
  };

  let stopping = false;
  let finished: Promise<void> | undefined;
  let stoppedAll: Promise<void> = Promise.resolve();
  let elector: LeaderElector | undefined;
  if (opts.leaderElect) {
    elector = new LeaderElector({
      client, namespace: LEASE_NAMESPACE, name: LEASE_NAME,
      identity: opts.identity ?? `${hostname()}_${randomUUID()}`,
      ...(opts.leaseDurationSeconds ? { leaseDurationSeconds: opts.leaseDurationSeconds } : {}),
      ...(opts.renewDeadlineMs ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      onStartedLeading: () => startAll(),
      onStoppedLeading: () => {
        stoppedAll = stopAll();
        if (!stopping) {
          log('leader election lost');
          opts.onLeadershipLost?.();
        }
      },
      onNewLeader: (id) => log(`leader is ${id}`),
      log,
    });
    void elector.run();
  } else {
    startAll();
  }

  return {
    controllers: selected.map((d) => d.name),
    isLeader: () => (elector ? elector.isLeader() : true),
    async waitForSync(timeoutMs) {
      return running ? running.ctx.informers.waitForSync(timeoutMs) : false;
    },
    stop() {
      stopping = true;
      finished ??= (async () => {
        await elector?.stop();
        await stoppedAll;
        await stopAll();
        if (ownClient) await client.close();
      })();
      return finished;
    },
  };
}
