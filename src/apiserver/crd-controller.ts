// Serves what CustomResourceDefinitions define: it watches CRDs in the store,
// sets their NamesAccepted/Established status, adds their resources to
// discovery and their schemas to the resolver, and on deletion removes every
// custom resource before letting the CRD go (the customresourcecleanup finalizer).
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.d.ts';
import type { KubeObject, ResourceInfo } from '../api/types.ts';
import { crdEstablishedStatus, crdToResourceInfos, crdVersionSchema } from '../api/crd.ts';
import type { KindSchemaResolver } from '../api/schema/resolver.ts';
import type { Store, Watch } from '../store/store.ts';
import type { ServerParts } from './handlers/context.ts';
import { decodeKv, encodeObject, storagePrefix } from './registry/codec.ts';
import type { ResourceTable } from './resources.ts';
import { writeUpdate } from './registry/write.ts';
import { ApiError } from './errors.ts';

export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const CRD_PREFIX = '/registry/apiextensions.k8s.io/customresourcedefinitions/';

export class CrdController {
  #store: Store;
  #resources: ResourceTable;
  #resolver: KindSchemaResolver;
  #crds = new Map<string, CustomResourceDefinition>();
  #registered = new Map<string, ResourceInfo[]>();
  #watch?: Watch;
  #parts?: ServerParts;
  #queue = Promise.resolve();
  synced = false;

  constructor(store: Store, resources: ResourceTable, resolver: KindSchemaResolver) {
    this.#store = store;
    this.#resources = resources;
    this.#resolver = resolver;
  }

  /** The CRD serving a custom resource. */
  crdFor(r: ResourceInfo): KubeObject | undefined {
    if (!r.custom) return undefined;
    return this.#crds.get(`${r.plural}.${r.group}`) as KubeObject | undefined;
  }

  async start(parts: ServerParts): Promise<void> {
    this.#parts = parts;
    const { kvs, revision } = await this.#store.list(CRD_PREFIX);
    for (const kv of kvs) await this.#reconcile(decodeKv(kv) as CustomResourceDefinition);
    this.#watch = await this.#store.watch(CRD_PREFIX, revision, {
      onEvents: (events) => {
        for (const ev of events) {
          const name = ev.kv.key.slice(CRD_PREFIX.length);
          // Serialize reconciles so status writes and registrations never interleave.
          this.#queue = this.#queue.then(() => ev.type === 'delete' ? this.#forget(name) : this.#reconcile(decodeKv(ev.kv) as CustomResourceDefinition))
            .catch((e) => console.error(`skiff: reconciling CRD ${name}:`, e));
        }
      },
      onError: (err) => console.error('skiff: CRD watch ended:', err.message),
    });
    this.synced = true;
  }

  async stop(): Promise<void> {
    this.#watch?.cancel();
    await this.#queue;
  }

  #forget(name: string): void {
    this.#crds.delete(name);
    for (const info of this.#registered.get(name) ?? []) this.#resolver.removeKind(info.group, info.version, info.kind);
    this.#registered.delete(name);
    this.#resources.setCustom(name, []);
  }

  async #reconcile(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata!.name!;
    this.#crds.set(name, crd);
    if (crd.metadata?.deletionTimestamp) return this.#cleanup(crd);
    const parts = this.#parts!;
    const others = [...this.#crds.values()].filter((c) => c.metadata?.name !== name);
    const status = crdEstablishedStatus(crd, parts.now(), others);
    if (JSON.stringify(stripTimes(status)) !== JSON.stringify(stripTimes(crd.status))) {
      const r = parts.resources.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
      const { kv } = await this.#store.get(CRD_PREFIX + name);
      if (!kv) return;
      try {
        await writeUpdate(parts, r, decodeKv(kv), kv.modRevision, { ...(crd as KubeObject), status }, 'status',
          { dryRun: false, fieldManager: 'skiff-apiextensions', fieldValidation: 'Ignore', warnings: [] });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 409)) throw e;
      }
      // The watch brings the updated CRD back here; register then.
      return;
    }
    const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    if (!established) return;
    const infos = crdToResourceInfos(crd).map((i) => ({ ...i, custom: true }));
    for (const old of this.#registered.get(name) ?? []) {
      if (!infos.some((i) => i.version === old.version && i.kind === old.kind)) this.#resolver.removeKind(old.group, old.version, old.kind);
    }
    for (const info of infos) this.#resolver.addKind(info.group, info.version, info.kind, crdVersionSchema(crd, info.version));
    this.#registered.set(name, infos);
    this.#resources.setCustom(name, infos);
  }

  async #cleanup(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata!.name!;
    const infos = this.#registered.get(name) ?? crdToResourceInfos(crd).map((i) => ({ ...i, custom: true }));
    // Stop serving first so no new custom resources appear while the old ones go.
    this.#resources.setCustom(name, []);
    if (infos[0]) {
      const { kvs } = await this.#store.list(storagePrefix(infos[0], ''));
      for (const kv of kvs) await this.#store.delete(kv.key, kv.modRevision);
    }
    const { kv } = await this.#store.get(CRD_PREFIX + name);
    if (!kv) return;
    const current = decodeKv(kv);
    const finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    if (finalizers.length === 0) await this.#store.delete(kv.key, kv.modRevision);
    else {
      current.metadata!.finalizers = finalizers;
      await this.#store.update(kv.key, encodeObject(current), kv.modRevision);
    }
  }
}

function stripTimes(status: unknown): unknown {
  return JSON.parse(JSON.stringify(status ?? {}), (k, v) => (k === 'lastTransitionTime' ? undefined : v));
}
