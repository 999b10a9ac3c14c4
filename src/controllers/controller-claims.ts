// Which objects an owner controls (kube's ControllerRefManager): those with its
// controller ownerReference that still match its selector. Orphans that match are
// adopted (the ownerReference is added), owned objects that no longer match are
// released (it is removed), objects controlled by someone else are left alone.
// https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#non-template-pod-acquisitions
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { type LabelSelector, matchesLabels } from '../api/selectors/index.ts';
import type { KubeObject } from '../api/types.ts';
import { controllerOf } from '../client/controller.ts';
import { isNotFound } from '../client/errors.ts';
import type { ResourceRef } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { controllerRefTo } from './pod-control.ts';

export interface ClaimOptions<T extends KubeObject> {
  client: RestClient;
  /** The owner as cached. */
  owner: KubeObject;
  /** The resource of the candidates (pods for a ReplicaSet, replicasets for a Deployment). */
  resource: ResourceRef;
  selector: LabelSelector;
  candidates: readonly T[];
  /** Fresh read of the owner, to make sure it was not deleted or replaced before adopting (RecheckDeletionTimestamp). */
  getFreshOwner: () => Promise<KubeObject>;
}

/** The candidates the owner controls after adopting and releasing; adopted ones are the patched objects. */
export async function claimObjects<T extends KubeObject>(o: ClaimOptions<T>): Promise<T[]> {
  const ownerUid = o.owner.metadata?.uid;
  const ownerDeleting = !!o.owner.metadata?.deletionTimestamp;
  let adoptionChecked: Promise<void> | undefined;
  const canAdopt = () => (adoptionChecked ??= (async () => {
    const fresh = await o.getFreshOwner();
    if (fresh.metadata?.uid !== ownerUid) {
      throw new Error(`original ${o.owner.kind} ${o.owner.metadata?.namespace}/${o.owner.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${ownerUid}`);
    }
    if (fresh.metadata?.deletionTimestamp) {
      throw new Error(`${o.owner.kind} ${o.owner.metadata?.namespace}/${o.owner.metadata?.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  })());

  const claimed: T[] = [];
  const errors: Error[] = [];
  for (const obj of o.candidates) {
    const ref = controllerOf(obj);
    const matches = matchesLabels(o.selector, obj.metadata?.labels);
    try {
      if (ref) {
        if (ref.uid !== ownerUid) continue; // someone else's
        if (matches) claimed.push(obj);
        else if (!ownerDeleting) await release(o, obj);
        continue;
      }
      if (ownerDeleting || !matches || obj.metadata?.deletionTimestamp) continue;
      if (obj.metadata?.namespace !== o.owner.metadata?.namespace) continue;
      await canAdopt();
      const adopted = await adopt(o, obj);
      if (adopted) claimed.push(adopted);
    } catch (e) {
      errors.push(e as Error);
    }
  }
  if (errors.length > 0) throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => e.message).join('; '));
  return claimed;
}

// Both patches test the resourceVersion, so a stale cache makes them fail (and the sync retry) instead of
// overwriting ownerReferences someone else just changed.
async function adopt<T extends KubeObject>(o: ClaimOptions<T>, obj: T): Promise<T | undefined> {
  const refs: OwnerReference[] = [...(obj.metadata?.ownerReferences ?? []), controllerRefTo(o.owner)];
  try {
    return await o.client.patch<T>(o.resource, obj.metadata!.name!, [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata!.resourceVersion },
      { op: 'add', path: '/metadata/ownerReferences', value: refs },
    ], { type: 'json', namespace: obj.metadata!.namespace });
  } catch (e) {
    if (isNotFound(e)) return undefined; // gone meanwhile: nothing to adopt
    throw e;
  }
}

async function release<T extends KubeObject>(o: ClaimOptions<T>, obj: T): Promise<void> {
  const refs = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== o.owner.metadata?.uid);
  const change = refs.length > 0
    ? { op: 'replace', path: '/metadata/ownerReferences', value: refs }
    : { op: 'remove', path: '/metadata/ownerReferences' };
  try {
    await o.client.patch(o.resource, obj.metadata!.name!, [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata!.resourceVersion }, change,
    ], { type: 'json', namespace: obj.metadata!.namespace });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
