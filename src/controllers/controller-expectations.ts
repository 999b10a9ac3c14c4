// What a controller is waiting to see in its informer caches after its own writes
// (kube's ControllerExpectations / UIDTrackingControllerExpectations in
// pkg/controller/controller_utils.go). Right after creating 3 pods the pod cache
// does not show them yet; a sync in that window would count too few pods and
// create 3 more. So a sync only manages replicas once every create and delete it
// made has been observed — or the expectation has expired (a watch event lost for
// good must not stall the owner forever).

import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { LabelSelector } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { labelSelectorFromMeta, matchesLabels } from '../api/selectors/index.ts';
import { keyOf } from '../client/cache.ts';
import { controllerOf, ownerKey } from '../client/controller.ts';
import type { EventHandler, SharedInformer } from '../client/informer.ts';

/** kube's ExpectationsTimeout. */
const DEFAULT_TTL_MS = 5 * 60_000;

interface Expectation {
  adds: number;
  /** Keys of the pods we deleted and whose deletion the cache has not shown yet. */
  deletes: Set<string>;
  setAt: number;
}

export class ControllerExpectations {
  private readonly byOwner = new Map<string, Expectation>();
  private readonly ttlMs: number;

  constructor(ttlMs = DEFAULT_TTL_MS) {
    this.ttlMs = ttlMs;
  }

  /** True when nothing is pending for ownerKey (or what is pending is too old to keep waiting for). */
  satisfied(ownerKey: string): boolean {
    const e = this.byOwner.get(ownerKey);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return Date.now() - e.setAt > this.ttlMs;
  }

  /** Before creating n objects for ownerKey. Replaces what was expected before. */
  expectCreations(ownerKey: string, n: number): void {
    this.byOwner.set(ownerKey, { adds: n, deletes: new Set(), setAt: Date.now() });
  }

  /** Before deleting the objects with these keys ("namespace/name"). */
  expectDeletions(ownerKey: string, keys: string[]): void {
    this.byOwner.set(ownerKey, { adds: 0, deletes: new Set(keys), setAt: Date.now() });
  }

  /** The cache showed a new object of ownerKey, or a create we expected failed. */
  creationObserved(ownerKey: string): void {
    const e = this.byOwner.get(ownerKey);
    if (e && e.adds > 0) e.adds--;
  }

  /** The cache showed that objKey is gone (or terminating), or a delete we expected failed. */
  deletionObserved(ownerKey: string, objKey: string): void {
    this.byOwner.get(ownerKey)?.deletes.delete(objKey);
  }

  /** The owner is gone: forget it. */
  delete(ownerKey: string): void {
    this.byOwner.delete(ownerKey);
  }
}

/**
 * The pod event handler of a controller that owns pods through expectations (ReplicaSet,
 * DaemonSet): events settle the owner's expectations and wake the owner; an orphan wakes every
 * owner whose selector matches it, so one of them can adopt it.
 */
export function ownedPodHandler<O extends KubeObject>(kind: string, expectations: ControllerExpectations,
  enqueue: (key: string) => void, owners: SharedInformer<O>, selectorOf: (owner: O) => LabelSelector | undefined): EventHandler<Pod> {
  const wake = (pod: Pod) => {
    const owner = ownerKey(kind, pod);
    if (owner) return enqueue(owner);
    if (controllerOf(pod)) return; // controlled by something else
    for (const o of owners.list(pod.metadata?.namespace ?? '')) {
      try {
        if (matchesLabels(labelSelectorFromMeta(selectorOf(o)), pod.metadata?.labels)) enqueue(keyOf(o));
      } catch {
        // an invalid selector selects nothing; that owner's own sync reports it
      }
    }
  };
  return {
    onAdd: (pod) => {
      const owner = ownerKey(kind, pod);
      if (owner) {
        if (pod.metadata?.deletionTimestamp) expectations.deletionObserved(owner, keyOf(pod));
        else expectations.creationObserved(owner);
      }
      wake(pod);
    },
    onUpdate: (old, pod) => {
      if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return; // resync: the owners resync themselves
      const owner = ownerKey(kind, pod);
      if (owner && pod.metadata?.deletionTimestamp) expectations.deletionObserved(owner, keyOf(pod));
      const oldOwner = ownerKey(kind, old);
      if (oldOwner && oldOwner !== owner) enqueue(oldOwner);
      wake(pod);
    },
    onDelete: (pod) => {
      const owner = ownerKey(kind, pod);
      if (!owner) return;
      expectations.deletionObserved(owner, keyOf(pod));
      enqueue(owner);
    },
  };
}
