// The set of resources this server serves: the built-in ones plus whatever
// established CustomResourceDefinitions add. Discovery, OpenAPI and routing all
// read it; it tells listeners when it changes so they can drop caches.
import { BUILTIN_RESOURCES } from '../api/kinds.ts';
import type { ResourceInfo } from '../api/types.ts';

export class ResourceTable {
  #builtin: ResourceInfo[];
  #custom = new Map<string, ResourceInfo[]>(); // CRD name -> its served versions
  #byPath = new Map<string, ResourceInfo>();
  #listeners: (() => void)[] = [];
  #generation = 0;

  constructor(builtin: ResourceInfo[] = BUILTIN_RESOURCES) {
    this.#builtin = builtin;
    this.#reindex();
  }

  /** Bumped on every change; caches key on it. */
  get generation(): number {
    return this.#generation;
  }

  all(): ResourceInfo[] {
    return [...this.#builtin, ...[...this.#custom.values()].flat()];
  }

  find(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.#byPath.get(`${group}/${version}/${plural}`);
  }

  /** Every served version of a group/plural, preferred first. */
  versionsOf(group: string, plural: string): ResourceInfo[] {
    return this.all().filter((r) => r.group === group && r.plural === plural);
  }

  setCustom(crdName: string, infos: ResourceInfo[]): void {
    const before = JSON.stringify(this.#custom.get(crdName) ?? []);
    if (infos.length === 0) this.#custom.delete(crdName);
    else this.#custom.set(crdName, infos);
    if (before === JSON.stringify(infos)) return;
    this.#reindex();
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #reindex(): void {
    this.#byPath.clear();
    for (const r of this.all()) this.#byPath.set(`${r.group}/${r.version}/${r.plural}`, r);
    this.#generation++;
    for (const fn of this.#listeners) fn();
  }
}
