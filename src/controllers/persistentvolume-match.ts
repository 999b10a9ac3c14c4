// What the PersistentVolume binder and the provisioners share: the binding annotations, a
// claim's and a volume's class, and which Available volume a claim gets
// (kube's pkg/controller/volume/persistentvolume/util: FindMatchingVolume).
// https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding
import type { Node, NodeSelectorTerm, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import { labelSelectorFromMeta, matchesLabels } from '../api/selectors/labels.ts';
import { parseQuantity } from '../api/validation/quantity.ts';
import { matchesRequiredNodeAffinity, requiredNodeAffinity } from '../scheduler/plugins/node-affinity.ts';
import type { NodeInfo } from '../scheduler/snapshot.ts';

/** On a claim: the binder finished binding it. */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
/** On a claim or volume: the binder (not the user) set volumeName / claimRef. */
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
/** On a claim: the node its first consumer was scheduled to (WaitForFirstConsumer classes). */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** On a claim: the provisioner expected to make its volume. */
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** On a volume: the provisioner that made it (and deletes it). */
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const ANN_BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';

export function claimKey(pvc: PersistentVolumeClaim): string {
  return `${pvc.metadata?.namespace}/${pvc.metadata?.name}`;
}

/** The class a claim asks for: the beta annotation, else storageClassName ("" when none). */
export function claimClass(pvc: PersistentVolumeClaim): string {
  return pvc.metadata?.annotations?.[ANN_BETA_CLASS] ?? pvc.spec?.storageClassName ?? '';
}

export function volumeClass(pv: PersistentVolume): string {
  return pv.metadata?.annotations?.[ANN_BETA_CLASS] ?? pv.spec?.storageClassName ?? '';
}

export function claimRefOf(pvc: PersistentVolumeClaim): ObjectReference {
  return {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata!.namespace, name: pvc.metadata!.name,
    uid: pvc.metadata!.uid, resourceVersion: pvc.metadata!.resourceVersion,
  };
}

/** The volume's claimRef names this claim (by uid when it has one: a pre-bind by name has none). */
export function isVolumeBoundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref || ref.name !== pvc.metadata?.name || ref.namespace !== pvc.metadata?.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata?.uid;
}

/** The provisioner a claim waits for (set by the binder when it found no volume). */
export function claimProvisioner(pvc: PersistentVolumeClaim): string | undefined {
  const a = pvc.metadata?.annotations ?? {};
  return a[ANN_STORAGE_PROVISIONER] ?? a[ANN_BETA_STORAGE_PROVISIONER];
}

/** The claims a pod's volumes use (persistentVolumeClaim, and generic ephemeral volumes' <pod>-<volume>). */
export function podClaimNames(pod: Pod): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) out.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) out.push(`${pod.metadata?.name}-${v.name}`);
  }
  return out;
}

function storageOf(list: Record<string, unknown> | undefined): number {
  return parseQuantity(list?.storage) ?? 0;
}

/** The PV's required node affinity admits the node (a PV without one fits every node). */
export function volumeFitsNode(pv: PersistentVolume, node: Node): boolean {
  const terms: NodeSelectorTerm[] | undefined = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms) return true;
  const affinity = requiredNodeAffinity({ spec: { containers: [], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } });
  // Node affinity reads only a node's name and labels.
  const info = { name: node.metadata?.name ?? '', labels: node.metadata?.labels ?? {} } as unknown as NodeInfo;
  return matchesRequiredNodeAffinity(affinity, info);
}

/**
 * The volume the claim binds to: one pre-bound to it, else the smallest Available volume of
 * its class whose access modes include the claim's, with enough capacity, the same volume mode,
 * labels matching the claim's selector and, when a node is given, node affinity admitting it.
 * With delayBinding and no node, only pre-bound volumes are considered.
 */
export function findMatchingVolume(pvc: PersistentVolumeClaim, volumes: readonly PersistentVolume[], node: Node | undefined,
  delayBinding: boolean): PersistentVolume | undefined {
  const requested = storageOf(pvc.spec?.resources?.requests);
  const cls = claimClass(pvc);
  const modes = pvc.spec?.accessModes ?? [];
  const selector = pvc.spec?.selector ? labelSelectorFromMeta(pvc.spec.selector) : undefined;
  const claimMode = pvc.spec?.volumeMode ?? 'Filesystem';
  let best: PersistentVolume | undefined;
  for (const pv of volumes) {
    const size = storageOf(pv.spec?.capacity);
    if (size < requested) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== claimMode) continue;
    if (pv.metadata?.deletionTimestamp) continue;
    if (!modes.every((m) => (pv.spec?.accessModes ?? []).includes(m))) continue;
    const fits = !node || volumeFitsNode(pv, node);
    if (isVolumeBoundToClaim(pv, pvc)) return fits ? pv : undefined;
    if (delayBinding && !node) continue;
    if (pv.status?.phase !== 'Available' || pv.spec?.claimRef) continue;
    if (selector && !matchesLabels(selector, pv.metadata?.labels)) continue;
    if (volumeClass(pv) !== cls || !fits) continue;
    if (!best || size < storageOf(best.spec?.capacity)) best = pv;
  }
  return best;
}
