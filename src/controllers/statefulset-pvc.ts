// StatefulSet PVC retention (persistentVolumeClaimRetentionPolicy, KEP-1847, beta
// and on by default in Kubernetes 1.32): the claims made from volumeClaimTemplates
// are deleted by the garbage collector through ownerReferences the controller keeps
// in step with the policy (kube's stateful_set_utils.go isClaimOwnerUpToDate /
// updateClaimOwnerRefForSetAndPod):
//
//   whenScaled  whenDeleted  claim of a pod in range   claim of a condemned pod
//   Retain      Retain       no ref                    no ref
//   Retain      Delete       StatefulSet               StatefulSet
//   Delete      Retain       no ref                    its Pod
//   Delete      Delete       StatefulSet               its Pod
//
// Both kinds of refs are controller refs (controller and blockOwnerDeletion true).
// https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention
import type { StatefulSet } from 'kubernetes-types/apps/v1.d.ts';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { OwnerReference } from 'kubernetes-types/meta/v1.d.ts';
import { startOrdinal } from './statefulset-identity.ts';

export type RetentionPolicyType = 'Retain' | 'Delete';

export interface RetentionPolicy {
  whenDeleted: RetentionPolicyType;
  whenScaled: RetentionPolicyType;
}

/** The set's policy, Retain for what is unset (or unknown, as kube treats it). */
export function retentionPolicyOf(set: StatefulSet): RetentionPolicy {
  const p = (set.spec as { persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string } } | undefined)
    ?.persistentVolumeClaimRetentionPolicy;
  const known = (v: string | undefined): RetentionPolicyType => (v === 'Delete' ? 'Delete' : 'Retain');
  return { whenDeleted: known(p?.whenDeleted), whenScaled: known(p?.whenScaled) };
}

const isRetainAll = (p: RetentionPolicy) => p.whenDeleted === 'Retain' && p.whenScaled === 'Retain';

/** The pod's ordinal lies in [start, start+replicas): it is not being scaled away. */
export function inOrdinalRange(set: StatefulSet, ordinal: number): boolean {
  const start = startOrdinal(set);
  return ordinal >= start && ordinal < start + (set.spec?.replicas ?? 1);
}

/** The owner the controller puts on claims: what the refs of a set and of a pod look like. */
interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

function setOwner(set: StatefulSet): Owner {
  return { apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata!.name!, uid: set.metadata?.uid ?? '' };
}

function podOwner(pod: Pod): Owner {
  return { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata?.uid ?? '' };
}

/** The ref names this kind of object with this name (uid aside): kube's matchesRef. */
const matches = (ref: OwnerReference, o: Owner) => ref.apiVersion === o.apiVersion && ref.kind === o.kind && ref.name === o.name;
const refsOf = (claim: PersistentVolumeClaim) => claim.metadata?.ownerReferences ?? [];
const hasRef = (claim: PersistentVolumeClaim, o: Owner) => o.uid !== '' && refsOf(claim).some((r) => r.uid === o.uid);

/** A ref to an earlier object of the same name (another uid): that one's deletion is under way, leave it to the GC. */
function hasStaleRef(claim: PersistentVolumeClaim, o: Owner): boolean {
  const ref = refsOf(claim).find((r) => matches(r, o));
  return ref !== undefined && ref.uid !== o.uid;
}

/** Some other controller owns the claim: with a Delete policy the set then stays off it. */
function hasUnexpectedController(claim: PersistentVolumeClaim, policy: RetentionPolicy, set: Owner, pod: Owner): boolean {
  if (isRetainAll(policy)) return false;
  for (const ref of refsOf(claim)) {
    if (matches(ref, set)) {
      if (ref.uid !== set.uid) return true;
      continue;
    }
    if (matches(ref, pod)) {
      if (ref.uid !== pod.uid) return true;
      continue;
    }
    if (ref.controller) return true;
  }
  return false;
}

/** The refs the policy wants on the claim of this pod (set ref, pod ref, both absent). */
function wanted(set: StatefulSet, ordinal: number, policy: RetentionPolicy): { set: boolean; pod: boolean } {
  const scaledDown = !inOrdinalRange(set, ordinal);
  return {
    set: policy.whenDeleted === 'Delete' && !(policy.whenScaled === 'Delete' && scaledDown),
    pod: policy.whenScaled === 'Delete' && scaledDown,
  };
}

/**
 * Whether the claim's ownerReferences already follow the policy for this pod
 * (isClaimOwnerUpToDate). Claims with stale refs, or controlled by someone else
 * without our refs, count as up to date: they are not ours to change.
 */
export function claimOwnersUpToDate(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod, ordinal: number): boolean {
  const so = setOwner(set);
  const po = podOwner(pod);
  if (hasStaleRef(claim, so) || hasStaleRef(claim, po)) return true;
  const policy = retentionPolicyOf(set);
  if (hasUnexpectedController(claim, policy, so, po)) return !(hasRef(claim, so) || hasRef(claim, po));
  // Our refs must be controller refs.
  if (refsOf(claim).some((r) => (r.uid === so.uid || (po.uid !== '' && r.uid === po.uid)) && !r.controller)) return false;
  const want = wanted(set, ordinal, policy);
  return hasRef(claim, so) === want.set && hasRef(claim, po) === want.pod;
}

/**
 * The claim's ownerReferences as the policy wants them (updateClaimOwnerRefForSetAndPod):
 * our refs are dropped and the wanted ones added as controller refs; refs of other
 * owners stay. Under another controller, ours are only dropped.
 */
export function claimOwnersFor(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod, ordinal: number): OwnerReference[] {
  const so = setOwner(set);
  const po = podOwner(pod);
  const policy = retentionPolicyOf(set);
  const unexpected = hasUnexpectedController(claim, policy, so, po);
  const refs = refsOf(claim).filter((r) => !matches(r, so) && !matches(r, po));
  if (unexpected) return refs;
  const want = wanted(set, ordinal, policy);
  const add = (o: Owner) => {
    if (o.uid === '' || refs.some((r) => r.uid === o.uid)) return;
    refs.push({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, controller: true, blockOwnerDeletion: true });
  };
  if (want.pod) add(po);
  if (want.set) add(so);
  return refs;
}

/** The ownerReferences a new claim of a pod in range is created with. */
export function newClaimOwners(set: StatefulSet): OwnerReference[] | undefined {
  if (retentionPolicyOf(set).whenDeleted !== 'Delete' || !set.metadata?.uid) return undefined;
  const o = setOwner(set);
  return [{ ...o, controller: true, blockOwnerDeletion: true }];
}

/**
 * A claim still owned by an earlier pod of the same name (PodClaimIsStale): with
 * whenScaled Delete it is about to be garbage collected, so the pod must not be
 * created on it; the controller waits until it is gone.
 */
export function claimIsStale(claim: PersistentVolumeClaim, set: StatefulSet, podName: string, podUid = ''): boolean {
  if (retentionPolicyOf(set).whenScaled === 'Retain') return false;
  return hasStaleRef(claim, { apiVersion: 'v1', kind: 'Pod', name: podName, uid: podUid });
}
