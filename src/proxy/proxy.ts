// `startProxy`: Services and EndpointSlices from the API server (shared informers) →
// ProxyState → nft transactions in this (or the given) network namespace.
// - Start-up: one full sync that replaces the table atomically.
// - Then every change is an incremental transaction of the changed Services' elements,
//   batched: while one transaction runs, further changes queue up and go in the next.
// - Every resyncIntervalMs a full sync rewrites the chains and static maps in place
//   (repairing whatever drifted), and purges stale affinity entries. A failed incremental
//   transaction triggers a full sync at once.
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { SharedInformerFactory } from '../client/informer-factory.ts';
import type { SharedInformer } from '../client/informer.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { isProxied, type NodeConfig, servicePorts, sliceServiceKey } from './model.ts';
import { NftSession, runNft } from './nft.ts';
import { FAMILY, TABLE } from './rules.ts';
import { affinityPurgeScript, type Plan, ProxyState } from './state.ts';

export interface ProxyOptions extends NodeConfig {
  client: RestClient;
  /** Run nft in this named network namespace (ip netns exec); default: the proxy's own. */
  netns?: string;
  /** Full resync period; default 60 s; 0 turns it off. */
  resyncIntervalMs?: number;
  log?: (message: string) => void;
  /** Share the process's informer factory (the node agent's); default: a new one, stopped with the proxy. */
  informers?: SharedInformerFactory;
}

export interface ProxyStats {
  fullSyncs: number;
  incrementalSyncs: number;
  failedSyncs: number;
  /** How long the last sync took to apply (ms). */
  lastSyncDurationMs: number;
  services: number;
}

export interface Proxy {
  stop(): Promise<void>;
  /** Resolves once the first full sync is in the kernel. */
  synced(): Promise<void>;
  /** Date.now() when the table last matched the cache (0 before the first sync): the proxy's health. */
  readonly lastSyncMs: number;
  readonly stats: ProxyStats;
}

const SERVICE_INDEX = 'skiff-proxy/service';

export function startProxy(opts: ProxyOptions): Proxy {
  const log = opts.log ?? ((m: string) => console.log(`skiff-proxy: ${m}`));
  const cfg: NodeConfig = { nodeName: opts.nodeName, nodeAddresses: opts.nodeAddresses, clusterCidr: opts.clusterCidr };
  const state = new ProxyState(cfg);
  const ownFactory = !opts.informers;
  const factory = opts.informers ?? new SharedInformerFactory(opts.client, { log });
  const services = factory.informerFor<Service>(R.services);
  const slices = factory.informerFor<EndpointSlice>(R.endpointslices);
  // SharedInformer has no hasIndexer; a second proxy on a shared factory reuses the first one's index.
  try {
    slices.addIndexer(SERVICE_INDEX, (s) => {
      const key = sliceServiceKey(s);
      return key ? [key] : [];
    });
  } catch (e) {
    if (!/already exists/.test((e as Error).message)) throw e;
  }
  const session = new NftSession(opts.netns);
  const stats: ProxyStats = { fullSyncs: 0, incrementalSyncs: 0, failedSyncs: 0, lastSyncDurationMs: 0, services: 0 };
  let lastSyncMs = 0;
  let stopped = false;
  let initialDone = false;
  let needFull = true;
  let fresh = true;
  let running: Promise<void> | undefined;
  let again = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  let resolveSynced!: () => void;
  const syncedPromise = new Promise<void>((r) => (resolveSynced = r));

  const refresh = (serviceKey: string) => {
    const svc = services.get(serviceKey);
    const ports = svc && isProxied(svc) ? servicePorts(svc, slices.byIndex(SERVICE_INDEX, serviceKey)) : [];
    state.setService(serviceKey, ports);
    kick();
  };
  const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  services.addEventHandler({
    onAdd: (s) => refresh(keyOf(s)),
    onUpdate: (_, s) => refresh(keyOf(s)),
    onDelete: (s) => refresh(keyOf(s)),
  });
  const onSlice = (s: EndpointSlice) => {
    const key = sliceServiceKey(s);
    if (key) refresh(key);
  };
  slices.addEventHandler({ onAdd: onSlice, onUpdate: (old, s) => {
    // A slice relabelled to another Service changes both.
    const before = sliceServiceKey(old);
    if (before && before !== sliceServiceKey(s)) refresh(before);
    onSlice(s);
  }, onDelete: onSlice });

  async function apply(plan: Plan, full: boolean): Promise<void> {
    const t = performance.now();
    // Big batches (a burst of changes) go through `nft -f`: the session reads one line per transaction.
    if (full || plan.script.length > 256 * 1024) await runNft(opts.netns, ['-f', '-'], plan.script);
    else await session.apply(plan.script);
    plan.commit();
    stats.lastSyncDurationMs = performance.now() - t;
    lastSyncMs = Date.now();
    stats.services = state.serviceCount;
    if (full) stats.fullSyncs++;
    else stats.incrementalSyncs++;
    if (plan.affinityPurge.size || full) await purgeAffinity(plan, full);
  }

  async function purgeAffinity(plan: Plan, all: boolean): Promise<void> {
    const listing = JSON.parse(await runNft(opts.netns, ['-j', 'list', 'map', FAMILY, TABLE, 'affinity'])) as { nftables: { map?: { elem?: unknown[] } }[] };
    const entries: { client: string; id: number; endpoint: string }[] = [];
    for (const item of listing.nftables) {
      for (const el of item.map?.elem ?? []) {
        // [key, value]; a key with a timeout comes wrapped as {elem: {val, timeout, expires}}.
        const [k, v] = el as [unknown, { concat: [string, number] }];
        const key = (k as { elem?: { val: { concat: [number, string] } } }).elem?.val ?? (k as { concat: [number, string] });
        entries.push({ id: key.concat[0], client: key.concat[1], endpoint: `${v.concat[0]} . ${v.concat[1]}` });
      }
    }
    const script = affinityPurgeScript(entries, plan.affinityPurge, all);
    // An entry that expired since the listing makes the delete fail; the next full sync retries.
    if (script) await runNft(opts.netns, ['-f', '-'], script).catch((e: Error) => log(`affinity purge: ${e.message}`));
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      if (stopped || !initialDone) return;
      const full = needFull;
      try {
        if (full) {
          needFull = false;
          const plan = state.planFull(fresh);
          await apply(plan, true);
          if (fresh) log(`programmed ${plan.services} services (table ${FAMILY} ${TABLE}${opts.netns ? ` in netns ${opts.netns}` : ''}) in ${stats.lastSyncDurationMs.toFixed(0)} ms`);
          fresh = false;
          resolveSynced();
        } else if (state.pendingCount > 0) {
          const plan = state.planIncremental();
          if (plan.script) await apply(plan, false);
          else plan.commit();
        }
      } catch (e) {
        stats.failedSyncs++;
        log(`${full ? 'full' : 'incremental'} sync failed, ${full ? 'retrying in 1 s' : 'doing a full sync'}: ${(e as Error).message}`);
        needFull = true;
        if (full) {
          await new Promise((r) => setTimeout(r, 1000));
        }
        again = true;
      }
    } while (again || (!stopped && (needFull || state.pendingCount > 0)));
  }

  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = loop().finally(() => {
      running = undefined;
      if (again && !stopped) kick();
    });
  }

  factory.start();
  void (async () => {
    while (!stopped && !(await factory.waitForSync(10_000))) log('waiting for the Service and EndpointSlice caches to fill');
    if (stopped) return;
    // Informer handlers already fed every object; the first sync writes them all at once.
    initialDone = true;
    kick();
    const period = opts.resyncIntervalMs ?? 60_000;
    if (period > 0) {
      resyncTimer = setInterval(() => {
        needFull = true;
        kick();
      }, period);
      resyncTimer.unref();
    }
  })();

  return {
    async stop() {
      stopped = true;
      clearInterval(resyncTimer);
      await running;
      await session.close();
      if (ownFactory) await factory.stop();
    },
    synced: () => syncedPromise,
    get lastSyncMs() {
      return lastSyncMs;
    },
    stats,
  };
}

/** Removes the proxy's table (the proxy leaves it in place on stop, like kube-proxy, so traffic keeps flowing across restarts). */
export async function deleteProxyTable(netns?: string): Promise<void> {
  await runNft(netns, ['-f', '-'], `add table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n`);
}
