// A controller's own status writes, kept until its informer cache shows them.
// A sync that runs right after a write (child events come fast) then works from
// what was written instead of a stale cached copy that would only earn a 409
// Conflict. Watch events arrive in order, so once the cache holds our write's
// resourceVersion it is at least as new; a conflict drops the entry (someone
// else wrote after us) and the retry starts from the cache.
import type { KubeObject } from '../api/types.ts';
import { keyOf } from './cache.ts';
import { isConflict } from './errors.ts';
import type { SharedInformer } from './informer.ts';

export class WrittenObjects<T extends KubeObject> {
  private readonly informer: SharedInformer<T>;
  private readonly written = new Map<string, T>();
  private readonly unregister: () => void;

  constructor(informer: SharedInformer<T>) {
    this.informer = informer;
    const settle = (obj: T) => {
      const key = keyOf(obj);
      if (this.written.get(key)?.metadata?.resourceVersion === obj.metadata?.resourceVersion) this.written.delete(key);
    };
    this.unregister = informer.addEventHandler({
      onAdd: settle,
      onUpdate: (_old, obj) => settle(obj),
      onDelete: (obj) => this.written.delete(keyOf(obj)),
    });
  }

  /** The newest known state of key: our last write if the cache has not caught up, else the cached object. */
  get(key: string): T | undefined {
    const cached = this.informer.get(key);
    const mine = this.written.get(key);
    return cached && mine?.metadata?.uid === cached.metadata?.uid ? mine : cached;
  }

  /** Runs the write and remembers its result. */
  async write(key: string, fn: () => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await fn();
    } catch (e) {
      if (isConflict(e)) this.written.delete(key);
      throw e;
    }
    if (this.informer.get(key)?.metadata?.resourceVersion !== out.metadata?.resourceVersion) this.written.set(key, out);
    return out;
  }

  stop(): void {
    this.unregister();
    this.written.clear();
  }
}
