// The common shape of every Skiff controller (sample-controller's pattern):
//
//   informers (shared caches) ──handlers──> work queue of keys ──workers──> sync(key)
//
// One controller = one file that builds a Controller and defines one
// `sync(key)`. sync is level-triggered: it gets only a key ("namespace/name"),
// reads the object and whatever else it needs from informer caches (never from
// the event that caused it), computes what the world should look like and makes
// the API calls to get there. It must be idempotent; it runs again on every
// change, on every resync and after every failure, so "what changed" never
// matters. A thrown error retries the key with per-key exponential backoff; a
// key is never synced by two workers at once. Objects from the caches are
// shared and frozen: structuredClone before changing one.
//
//   const factory = new SharedInformerFactory(client, { resyncPeriodMs: 30_000 });
//   const rsInformer = factory.informerFor<ReplicaSet>(R.replicasets);
//   const podInformer = factory.informerFor<Pod>(R.pods);
//   const c = new Controller('replicaset', [rsInformer], async (key) => { ... }, 2);
//   c.watch(podInformer, ownerKeys('ReplicaSet'));   // pod changes wake their ReplicaSet
//   factory.start(); void c.run(); ... await c.stop(); await factory.stop();
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { keyOf } from './cache.ts';
import type { SharedInformer } from './informer.ts';
import { type RunWorkersOptions, runWorkers, WorkQueue } from './workqueue.ts';
import { sleep } from './wait.ts';

/** Maps a changed object to the keys of the objects to reconcile. */
export type KeysFor = (obj: KubeObject) => string[];

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly informers: SharedInformer<any>[];
  private readonly sync: (key: string) => Promise<void>;
  private readonly workers: number;
  private readonly opts: RunWorkersOptions;
  private readonly unregister: (() => void)[] = [];
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;

  /**
   * informers[0] is the primary resource: its objects' own keys are queued.
   * The others (and those given to watch()) are waited for before workers start.
   */
  constructor(name: string, informers: SharedInformer<any>[], sync: (key: string) => Promise<void>, workers = 1, opts: RunWorkersOptions = {}) {
    this.name = name;
    this.queue = new WorkQueue(name);
    this.informers = [...informers];
    this.sync = sync;
    this.workers = workers;
    this.opts = opts;
    if (informers[0]) this.watch(informers[0], (obj) => [keyOf(obj)]);
  }

  /** Queues keysFor(obj) for every add, update and delete in informer. */
  watch<T extends KubeObject>(informer: SharedInformer<T>, keysFor: KeysFor): void {
    if (!this.informers.includes(informer)) this.informers.push(informer);
    const enqueue = (obj: KubeObject) => {
      for (const key of keysFor(obj)) this.queue.add(key);
    };
    this.unregister.push(informer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, obj) => enqueue(obj),
      onDelete: enqueue,
    }));
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Reconcile key again after ms (e.g. when a deadline or a backoff of the resource itself expires). */
  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /** Starts the informers, waits for their caches, runs the workers; resolves after stop(). */
  run(): Promise<void> {
    this.running ??= this.runInner();
    return this.running;
  }

  /** Stops taking keys and waits for keys in progress to finish. Informers stay up (they are shared). */
  async stop(): Promise<void> {
    this.stopController.abort();
    for (const u of this.unregister.splice(0)) u();
    this.queue.shutDown();
    await this.running;
  }

  private async runInner(): Promise<void> {
    const stop = this.stopController.signal;
    for (const i of this.informers) i.start();
    while (!stop.aborted && !this.informers.every((i) => i.hasSynced())) await sleep(50, stop);
    if (stop.aborted) return;
    await runWorkers(this.queue, this.workers, this.sync, this.opts);
  }
}

/** The key of obj's controlling owner when that owner is of the given kind (ownerReferences with controller: true). */
export function ownerKey(kind: string, obj: KubeObject): string | undefined {
  const owner = controllerOf(obj);
  if (!owner || owner.kind !== kind) return undefined;
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${owner.name}` : owner.name;
}

/** keysFor mapping an object to its controlling owner of the given kind. */
export function ownerKeys(kind: string): KeysFor {
  return (obj) => {
    const key = ownerKey(kind, obj);
    return key ? [key] : [];
  };
}

/** The ownerReference with controller: true, if any (metav1.GetControllerOf). */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}
