// Which objects each node may read, kept current from the store: kube's Node authorizer
// graph (pod → node edges, secret/configmap/PVC/service account → pod edges, PV → PVC)
// as indexes over a watch of pods and claims. A miss is re-checked against the store before
// it becomes a denial, so a request racing the watch (a pod bound a moment ago) is not refused.
// https://kubernetes.io/docs/reference/access-authn-authz/node/
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KeyValue, Store, Watch, WatchEvent } from '../../store/store.ts';
import { podRefs, refKey, type RefKind } from './pod-refs.ts';

const PODS = '/registry/core/pods/';
const CLAIMS = '/registry/core/persistentvolumeclaims/';

interface PodEntry { node: string; refs: Set<string> }

export class NodeGraph {
  #store: Store;
  #pods = new Map<string, PodEntry>(); // store key → entry (only pods bound to a node)
  #refsByNode = new Map<string, Map<string, number>>(); // node → refKey → number of its pods naming it
  #claimVolume = new Map<string, string>(); // "ns/claim" → bound PV name
  #watches: Watch[] = [];
  #started: Promise<void> | undefined;
  #stopped = false;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Lists and starts watching on first use; later calls share that. */
  start(): Promise<void> {
    this.#started ??= Promise.all([this.#follow(PODS, (e) => this.#onPod(e)), this.#follow(CLAIMS, (e) => this.#onClaim(e))]).then(() => undefined);
    return this.#started;
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#watches) w.cancel();
    this.#watches = [];
  }

  /** Whether a pod bound to `node` names this object (checked against the store on a miss). */
  async nodeUses(node: string, kind: RefKind, namespace: string, name: string): Promise<boolean> {
    await this.start();
    const key = refKey(kind, namespace, name);
    if ((this.#refsByNode.get(node)?.get(key) ?? 0) > 0) return true;
    const { kvs } = await this.#store.list(`${PODS}${namespace}/`);
    return kvs.some((kv) => {
      const pod = JSON.parse(kv.value) as Pod;
      return pod.spec?.nodeName === node && podRefs(pod).has(key);
    });
  }

  /** Whether the persistent volume is bound to a claim that a pod on `node` uses. */
  async nodeUsesVolume(node: string, pvName: string): Promise<boolean> {
    await this.start();
    for (const [key, count] of this.#refsByNode.get(node) ?? []) {
      if (count <= 0 || !key.startsWith('persistentvolumeclaim/')) continue;
      const [, ns, claim] = key.split('/');
      if (this.#claimVolume.get(`${ns}/${claim}`) === pvName) return true;
    }
    // A miss: read the claims of this node's pods from the store.
    const { kvs } = await this.#store.list(PODS);
    for (const kv of kvs) {
      const pod = JSON.parse(kv.value) as Pod;
      if (pod.spec?.nodeName !== node) continue;
      for (const key of podRefs(pod)) {
        if (!key.startsWith('persistentvolumeclaim/')) continue;
        const [, ns, claim] = key.split('/');
        const got = await this.#store.get(`${CLAIMS}${ns}/${claim}`);
        if (got.kv && (JSON.parse(got.kv.value) as PersistentVolumeClaim).spec?.volumeName === pvName) return true;
      }
    }
    return false;
  }

  /** The node a pod is bound to, read from the store ('' when unbound, undefined when there is no such pod). */
  async podNode(namespace: string, name: string): Promise<string | undefined> {
    const { kv } = await this.#store.get(`${PODS}${namespace}/${name}`);
    if (!kv) return undefined;
    return (JSON.parse(kv.value) as Pod).spec?.nodeName ?? '';
  }

  async #follow(prefix: string, apply: (e: WatchEvent) => void): Promise<void> {
    const { kvs, revision } = await this.#store.list(prefix);
    for (const kv of kvs) apply({ type: 'put', kv });
    const watch = await this.#store.watch(prefix, revision, {
      onEvents: (events) => events.forEach(apply),
      onError: (err) => {
        if (this.#stopped) return;
        // Fell behind or the store hiccuped: start over from a fresh list.
        console.error(`skiff: node authorizer watch of ${prefix} ended (${err.message}); relisting`);
        this.#watches = this.#watches.filter((w) => w !== watch);
        if (prefix === PODS) this.#resetPods();
        else this.#claimVolume.clear();
        this.#follow(prefix, apply).catch((e) => console.error(`skiff: node authorizer cannot relist ${prefix}:`, e));
      },
    });
    if (this.#stopped) watch.cancel();
    else this.#watches.push(watch);
  }

  #onPod(e: WatchEvent): void {
    this.#dropPod(e.kv.key);
    if (e.type === 'delete') return;
    const pod = parse<Pod>(e.kv);
    const node = pod?.spec?.nodeName;
    if (!pod || !node) return;
    const entry = { node, refs: podRefs(pod) };
    this.#pods.set(e.kv.key, entry);
    let counts = this.#refsByNode.get(node);
    if (!counts) this.#refsByNode.set(node, (counts = new Map()));
    for (const r of entry.refs) counts.set(r, (counts.get(r) ?? 0) + 1);
  }

  #dropPod(key: string): void {
    const old = this.#pods.get(key);
    if (!old) return;
    this.#pods.delete(key);
    const counts = this.#refsByNode.get(old.node);
    if (!counts) return;
    for (const r of old.refs) {
      const n = (counts.get(r) ?? 0) - 1;
      if (n > 0) counts.set(r, n);
      else counts.delete(r);
    }
    if (counts.size === 0) this.#refsByNode.delete(old.node);
  }

  #resetPods(): void {
    this.#pods.clear();
    this.#refsByNode.clear();
  }

  #onClaim(e: WatchEvent): void {
    const rest = e.kv.key.slice(CLAIMS.length); // ns/name
    const claim = e.type === 'put' ? parse<PersistentVolumeClaim>(e.kv) : undefined;
    const volume = claim?.spec?.volumeName;
    if (volume) this.#claimVolume.set(rest, volume);
    else this.#claimVolume.delete(rest);
  }
}

function parse<T>(kv: KeyValue): T | undefined {
  try {
    return JSON.parse(kv.value) as T;
  } catch (e) {
    console.error(`skiff: node authorizer cannot parse ${kv.key}: ${(e as Error).message}`);
    return undefined;
  }
}
