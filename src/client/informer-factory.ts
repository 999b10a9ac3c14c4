// One informer per (resource, namespace, selectors), shared by every controller
// in the process, like client-go's SharedInformerFactory: N controllers watching
// pods cost one list+watch and one cache.
import type { KubeObject } from '../api/types.ts';
import { type InformerOptions, SharedInformer } from './informer.ts';
import type { ResourceRef } from './resources.ts';
import type { RestClient } from './rest.ts';

export type InformerSelection = Pick<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector'>;

export class SharedInformerFactory {
  readonly client: RestClient;
  private readonly defaults: InformerOptions;
  private readonly informers = new Map<string, SharedInformer>();
  private started = false;

  /** defaults apply to every informer made here (e.g. resyncPeriodMs, or namespace to restrict all of them). */
  constructor(client: RestClient, defaults: InformerOptions = {}) {
    this.client = client;
    this.defaults = defaults;
  }

  /** The shared informer for a resource and selection; created on first use, started if the factory runs. */
  informerFor<T extends KubeObject = KubeObject>(resource: ResourceRef, selection: InformerSelection = {}): SharedInformer<T> {
    const opts = { ...this.defaults, ...selection };
    const key = [resource.group, resource.version, resource.plural, opts.namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new SharedInformer(this.client, resource, opts);
      this.informers.set(key, informer);
      if (this.started) informer.start();
    }
    return informer as unknown as SharedInformer<T>;
  }

  /** Starts every informer, now and as they are created. */
  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  /** true once every informer has its first list; false if timeoutMs passes first. */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(timeoutMs)));
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
