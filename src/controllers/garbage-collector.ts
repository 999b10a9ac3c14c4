// The garbage collector: deletes objects whose owners are gone, and carries out
// the foreground and orphan deletion policies (kube-controller-manager's
// garbage collector, pkg/controller/garbagecollector).
// https://kubernetes.io/docs/concepts/architecture/garbage-collection/
//
// Every resource discovery lists is watched; the graph maps each owner uid to
// the objects whose metadata.ownerReferences name it. Keys name one object and
// what to do with it:
//   delete|<group/version/plural>|<namespace>|<name>|<uid>  — does it still have an owner?
//                                                            (or, if it waits in foreground
//                                                            deletion, are its dependents gone?)
//   orphan|...                                            — strip it from its dependents' ownerReferences
// Decisions are made on the object read live from the API (caches of different
// resources are not in step), never on a cached copy.
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { BUILTIN_RESOURCES } from '../api/kinds.ts';
import { apiVersionOf, type KubeObject } from '../api/types.ts';
import {
  Controller, isConflict, isNotFound, R, type RestClient, SharedInformer,
} from '../client/index.ts';
import { sleep } from '../client/wait.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { type ApiResource, discoverResources } from '../client/discovery.ts';
import { cloneJson } from '../api/json-clone.ts';

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';
/** Not worth watching: Events are never owners and their dependents don't exist (GC's DefaultIgnoredResources). */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);
/** An ownerReference from a cluster-scoped object to a namespaced kind. */
const INVALID = Symbol('invalid owner reference');
const BUILTIN = new Set(BUILTIN_RESOURCES.map((r) => `${r.group}/${r.version}/${r.plural}`));

export const definition: ControllerDefinition = {
  name: 'garbage-collector',
  start: (ctx) => new GarbageCollector(ctx),
};

interface Monitor {
  resource: ApiResource;
  informer: SharedInformer;
  unregister: () => void;
  /** Informers of custom resources are our own, so they can stop when the CRD goes. */
  own: boolean;
}

class GarbageCollector implements RunningController {
  private readonly ctx: ControllerContext;
  private readonly client: RestClient;
  private readonly graph = new GcGraph();
  private readonly monitors = new Map<string, Monitor>();
  /** "group/Kind" → resource, to resolve ownerReferences. */
  private readonly byKind = new Map<string, ApiResource>();
  private readonly controller: Controller;
  private rediscoverTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private readonly unwatchCrds: () => void;
  private running: Promise<void> | undefined;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.client = ctx.client;
    this.controller = new Controller('garbage-collector', [], (key) => this.sync(key), 4, { log: ctx.log });
    // A new or removed CRD changes what there is to watch.
    const crds = ctx.informers.informerFor(R.customresourcedefinitions);
    const again = () => this.scheduleRediscovery(1000);
    this.unwatchCrds = crds.addEventHandler({ onAdd: (_o, initial) => { if (!initial) again(); }, onUpdate: again, onDelete: again });
  }

  run(): Promise<void> {
    this.running ??= this.runInner();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    clearTimeout(this.rediscoverTimer);
    this.unwatchCrds();
    await this.controller.stop();
    for (const m of this.monitors.values()) {
      m.unregister();
      if (m.own) await m.informer.stop();
    }
    this.monitors.clear();
    await this.running;
  }

  private async runInner(): Promise<void> {
    // Discovery may fail while the API server is still starting: keep trying.
    for (let delay = 500; !this.stopped; delay = Math.min(delay * 2, 10_000)) {
      try {
        await this.rediscover();
        break;
      } catch (e) {
        this.ctx.log(`garbage-collector: discovery failed, retrying in ${delay} ms: ${(e as Error).message}`);
        await sleep(delay, this.stopSignal.signal);
      }
    }
    if (this.stopped) return;
    // Workers start once the graph holds every object (orphaning must see all dependents).
    while (!this.stopped && ![...this.monitors.values()].every((m) => m.informer.hasSynced())) await sleep(50, this.stopSignal.signal);
    if (this.stopped) return;
    await this.controller.run();
  }

  private scheduleRediscovery(ms: number): void {
    if (this.stopped || this.rediscoverTimer) return;
    this.rediscoverTimer = setTimeout(() => {
      this.rediscoverTimer = undefined;
      this.rediscover().catch((e) => {
        this.ctx.log(`garbage-collector: discovery failed: ${(e as Error).message}`);
        this.scheduleRediscovery(5000);
      });
    }, ms);
  }

  /** Watches every resource discovery lists that can be listed, watched and deleted; stops watching ones that went away. */
  private rediscover(): Promise<void> {
    // One at a time; a failed one was reported to its caller, so the next starts regardless.
    const next = this.discovering.catch(() => undefined).then(() => this.rediscoverNow());
    this.discovering = next;
    return next;
  }

  private async rediscoverNow(): Promise<void> {
    const { resources, failed } = await discoverResources(this.client);
    if (this.stopped) return;
    if (failed.size > 0) this.scheduleRediscovery(5000);
    const wanted = new Map<string, ApiResource>();
    for (const r of resources) {
      if (IGNORED.has(`${r.group}/${r.plural}`) || !['list', 'watch', 'delete'].every((v) => r.verbs.includes(v))) continue;
      wanted.set(resourceId(r), r);
      this.byKind.set(`${r.group}/${r.kind}`, r);
    }
    for (const [id, m] of this.monitors) {
      const failedGroup = failed.has(m.resource.group ? `${m.resource.group}/${m.resource.version}` : m.resource.version);
      if (wanted.has(id) || failedGroup) continue;
      m.unregister();
      if (m.own) await m.informer.stop();
      this.monitors.delete(id);
    }
    for (const [id, r] of wanted) if (!this.monitors.has(id)) this.monitor(id, r);
  }

  private monitor(id: string, resource: ApiResource): void {
    const own = !BUILTIN.has(id);
    const informer = own
      ? new SharedInformer(this.client, resource, { resyncPeriodMs: this.ctx.options.resyncPeriodMs, log: this.ctx.log })
      : this.ctx.informers.informerFor(resource);
    const unregister = informer.addEventHandler({
      onAdd: (obj) => this.observe(resource, obj),
      onUpdate: (_old, obj) => this.observe(resource, obj),
      onDelete: (obj) => this.observeDelete(obj),
    });
    this.monitors.set(id, { resource, informer, unregister, own });
    informer.start();
  }

  // --- graph upkeep: every change queues the objects whose decision it may change ---

  private observe(resource: ApiResource, obj: KubeObject): void {
    const { node, previous } = this.graph.upsert(resource, obj);
    if (!node) return;
    const ownersChanged = !previous || ownerKey(previous.owners) !== ownerKey(node.owners);
    if (node.owners.length > 0 && ownersChanged) this.enqueue('delete', node);
    // An owner waiting for its dependents may have lost one (or its blockOwnerDeletion).
    if (previous && ownersChanged) for (const r of previous.owners) this.enqueueIfWaiting(r.uid);
    if (node.deletingDependents) {
      this.enqueue('delete', node);
      if (!previous?.deletingDependents) for (const dep of this.graph.dependentsOf(node.uid)) this.enqueue('delete', dep);
    }
    if (node.orphaning) this.enqueue('orphan', node);
  }

  private observeDelete(obj: KubeObject): void {
    const node = this.graph.remove(obj);
    if (!node) return;
    for (const dep of this.graph.dependentsOf(node.uid)) this.enqueue('delete', dep);
    for (const r of node.owners) this.enqueueIfWaiting(r.uid);
  }

  private enqueueIfWaiting(uid: string): void {
    const owner = this.graph.get(uid);
    if (owner?.deletingDependents) this.enqueue('delete', owner);
  }

  private enqueue(action: 'delete' | 'orphan', n: GcNode): void {
    this.controller.enqueue([action, n.resourceId, n.namespace, n.name, n.uid].join('|'));
  }

  // --- sync ---

  private async sync(key: string): Promise<void> {
    const [action, id, namespace, name, uid] = key.split('|');
    const resource = this.monitors.get(id)?.resource;
    if (!resource) return; // the resource is no longer served
    const latest = await this.getLive(resource, namespace, name, uid);
    if (!latest) return;
    if (action === 'orphan') return this.orphanDependents(resource, latest);
    return this.attemptToDelete(resource, latest);
  }

  private async attemptToDelete(resource: ApiResource, obj: KubeObject): Promise<void> {
    const meta = obj.metadata!;
    const deletingDependents = !!meta.deletionTimestamp && (meta.finalizers ?? []).includes(FOREGROUND);
    if (meta.deletionTimestamp && !deletingDependents) return; // already on its way out
    if (deletingDependents) return this.processDeletingDependents(resource, obj);
    const owners = meta.ownerReferences ?? [];
    if (owners.length === 0) return;

    const solid: OwnerReference[] = [], dangling: OwnerReference[] = [], waiting: OwnerReference[] = [];
    for (const ref of owners) {
      const owner = await this.getOwner(ref, meta.namespace);
      if (owner === INVALID) {
        // Retrying can't fix it and deleting would be a guess: leave the object, say why.
        this.ctx.recorder('garbage-collector-controller').event({ ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(resource), kind: obj.kind ?? resource.kind },
          'Warning', 'OwnerRefInvalidNamespace',
          `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: , name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace ""`);
        return;
      }
      if (!owner) dangling.push(ref);
      else if (owner.metadata?.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FOREGROUND)) waiting.push(ref);
      else solid.push(ref);
    }
    if (solid.length > 0) {
      // It stays, but no longer belongs to owners that are gone or are waiting for it to go.
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      if (drop.size > 0) await this.dropOwnerReferences(resource, obj, (r) => drop.has(r.uid));
      return;
    }
    const dependents = this.graph.dependentsOf(meta.uid!);
    if (waiting.length > 0 && dependents.length > 0) {
      // An owner waits for it, and it has dependents of its own: delete it in the foreground too.
      // Don't block owners if a dependent waits as well (a possible cycle), as Kubernetes does.
      if (dependents.some((d) => d.deletingDependents)) {
        await this.updateLive(resource, obj, (o) => {
          const refs = o.metadata?.ownerReferences ?? [];
          if (!refs.some((r) => r.blockOwnerDeletion)) return false;
          o.metadata!.ownerReferences = refs.map((r) => ({ ...r, blockOwnerDeletion: false }));
          return true;
        });
      }
      return this.deleteObject(resource, obj, 'Foreground');
    }
    const finalizers = meta.finalizers ?? [];
    const policy = finalizers.includes(ORPHAN) ? 'Orphan' : finalizers.includes(FOREGROUND) ? 'Foreground' : 'Background';
    return this.deleteObject(resource, obj, policy);
  }

  /** An owner deleted in the foreground: its blocking dependents go first, then its finalizer. */
  private async processDeletingDependents(resource: ApiResource, owner: KubeObject): Promise<void> {
    const uid = owner.metadata!.uid!;
    const blocking = this.graph.dependentsOf(uid).filter((d) => d.owners.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    if (blocking.length === 0) {
      await this.removeFinalizer(resource, owner, FOREGROUND);
      return;
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.enqueue('delete', dep);
  }

  /** The orphan policy: the owner's dependents lose their ownerReference to it, then it may go. */
  private async orphanDependents(resource: ApiResource, owner: KubeObject): Promise<void> {
    const meta = owner.metadata!;
    if (!meta.deletionTimestamp || !(meta.finalizers ?? []).includes(ORPHAN)) return;
    for (const dep of this.graph.dependentsOf(meta.uid!)) {
      const depResource = this.monitors.get(dep.resourceId)?.resource;
      if (!depResource) continue;
      const live = await this.getLive(depResource, dep.namespace, dep.name, dep.uid);
      if (live) await this.dropOwnerReferences(depResource, live, (r) => r.uid === meta.uid);
    }
    await this.removeFinalizer(resource, owner, ORPHAN);
  }

  // --- API helpers ---

  /** The object with that uid, read from the API; undefined when it is gone (or replaced by a namesake). */
  private async getLive(resource: ApiResource, namespace: string, name: string, uid: string): Promise<KubeObject | undefined> {
    try {
      const obj = await this.client.get(resource, name, { namespace: namespace || undefined });
      return obj.metadata?.uid === uid ? obj : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** The owner an ownerReference names, undefined when it does not exist (any more), INVALID when it can't. */
  private async getOwner(ref: OwnerReference, dependentNamespace: string | undefined): Promise<KubeObject | undefined | typeof INVALID> {
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
    const resource = this.byKind.get(`${group}/${ref.kind}`);
    if (!resource) {
      this.scheduleRediscovery(1000);
      throw new Error(`ownerReference to ${ref.kind} ${ref.name} (${ref.apiVersion}): the API serves no such kind (yet)`);
    }
    // A namespaced owner lives in its dependent's namespace; a cluster-scoped dependent can't have one.
    if (resource.namespaced && !dependentNamespace) return INVALID;
    const cached = this.monitors.get(resourceId(resource))?.informer.getByName(ref.name, resource.namespaced ? dependentNamespace : undefined);
    if (cached?.metadata?.uid === ref.uid) return cached;
    return this.getLive(resource, resource.namespaced ? dependentNamespace! : '', ref.name, ref.uid);
  }

  private async deleteObject(resource: ApiResource, obj: KubeObject, policy: 'Orphan' | 'Foreground' | 'Background'): Promise<void> {
    const meta = obj.metadata!;
    try {
      await this.client.delete(resource, meta.name!, { namespace: meta.namespace, propagationPolicy: policy, preconditions: { uid: meta.uid } });
      this.ctx.log(`garbage-collector: deleted ${resource.kind} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name} (${policy})`);
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // gone already, or a namesake with another uid
      throw e;
    }
  }

  private removeFinalizer(resource: ApiResource, obj: KubeObject, finalizer: string): Promise<void> {
    return this.updateLive(resource, obj, (o) => {
      const finalizers = o.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return false;
      o.metadata!.finalizers = finalizers.filter((f) => f !== finalizer);
      return true;
    });
  }

  private dropOwnerReferences(resource: ApiResource, obj: KubeObject, drop: (r: OwnerReference) => boolean): Promise<void> {
    return this.updateLive(resource, obj, (o) => {
      const refs = o.metadata?.ownerReferences ?? [];
      const kept = refs.filter((r) => !drop(r));
      if (kept.length === refs.length) return false;
      if (kept.length > 0) o.metadata!.ownerReferences = kept;
      else delete o.metadata!.ownerReferences;
      return true;
    });
  }

  /** Applies change to the live object and writes it back (PUT with its resourceVersion), re-reading on conflicts. */
  private async updateLive(resource: ApiResource, obj: KubeObject, change: (o: KubeObject) => boolean): Promise<void> {
    const meta = obj.metadata!;
    let current: KubeObject | undefined = cloneJson(obj);
    for (let attempt = 0; current; attempt++) {
      if (!change(current)) return;
      try {
        await this.client.update(resource, current);
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 4) throw e;
      }
      current = await this.getLive(resource, meta.namespace ?? '', meta.name!, meta.uid!);
    }
  }
}

// --- the graph ---

/** What the collector remembers of one object. */
interface GcNode {
  uid: string;
  resourceId: string;
  namespace: string; // '' when cluster-scoped
  name: string;
  owners: OwnerReference[];
  /** Being deleted in the foreground: waits for its blocking dependents. */
  deletingDependents: boolean;
  /** Being deleted with the orphan policy: its dependents are to be let go. */
  orphaning: boolean;
}

function resourceId(r: { group: string; version: string; plural: string }): string {
  return `${r.group}/${r.version}/${r.plural}`;
}

/** Objects by uid, and owner uid → dependent uids (owners need not be known: they may be gone). */
class GcGraph {
  private readonly nodes = new Map<string, GcNode>();
  private readonly dependents = new Map<string, Set<string>>();

  get(uid: string): GcNode | undefined {
    return this.nodes.get(uid);
  }

  upsert(resource: ApiResource, obj: KubeObject): { node?: GcNode; previous?: GcNode } {
    const meta = obj.metadata;
    if (!meta?.uid || !meta.name) return {};
    const deleting = !!meta.deletionTimestamp;
    const node: GcNode = {
      uid: meta.uid, resourceId: resourceId(resource), namespace: meta.namespace ?? '', name: meta.name,
      owners: meta.ownerReferences ?? [],
      deletingDependents: deleting && (meta.finalizers ?? []).includes(FOREGROUND),
      orphaning: deleting && (meta.finalizers ?? []).includes(ORPHAN),
    };
    const previous = this.nodes.get(node.uid);
    if (previous) this.unlink(previous);
    this.nodes.set(node.uid, node);
    for (const r of node.owners) {
      let deps = this.dependents.get(r.uid);
      if (!deps) this.dependents.set(r.uid, (deps = new Set()));
      deps.add(node.uid);
    }
    return { node, previous };
  }

  remove(obj: KubeObject): GcNode | undefined {
    const node = obj.metadata?.uid ? this.nodes.get(obj.metadata.uid) : undefined;
    if (!node) return undefined;
    this.unlink(node);
    this.nodes.delete(node.uid);
    return node;
  }

  /** The known objects that name uid as an owner. */
  dependentsOf(uid: string): GcNode[] {
    return [...this.dependents.get(uid) ?? []].map((d) => this.nodes.get(d)).filter((n): n is GcNode => !!n);
  }

  private unlink(node: GcNode): void {
    for (const r of node.owners) {
      const deps = this.dependents.get(r.uid);
      deps?.delete(node.uid);
      if (deps?.size === 0) this.dependents.delete(r.uid);
    }
  }
}

function ownerKey(refs: OwnerReference[]): string {
  return refs.map((r) => `${r.uid}:${r.blockOwnerDeletion === true}`).join(',');
}
