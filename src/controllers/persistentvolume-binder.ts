// kube-controller-manager's persistentvolume-binder (pkg/controller/volume/persistentvolume):
// binds PersistentVolumeClaims to PersistentVolumes (claimRef on the volume, volumeName on the
// claim, phases Bound / Available / Released / Lost, the bind-completed and bound-by-controller
// annotations), asks a claim's StorageClass provisioner for a volume when none matches, and
// reclaims released volumes (Retain keeps them, Delete removes the PV; volumes a provisioner
// made are deleted by that provisioner).
// WaitForFirstConsumer claims wait for a scheduled pod: where kube-scheduler annotates the claim
// with the chosen node, this controller does it when it sees such a pod bound to a node, then
// binds the claim to a volume that node can reach or has one provisioned there.
// https://kubernetes.io/docs/concepts/storage/persistent-volumes/
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { StorageClass } from 'kubernetes-types/storage/v1.d.ts';
import { rfc3339 } from '../api/time.ts';
import { builtin, Controller, isConflict, isNotFound, R, WrittenObjects } from '../client/index.ts';
import type { ControllerContext, ControllerDefinition } from './context.ts';
import {
  ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER, claimClass, claimKey, claimRefOf, findMatchingVolume, isVolumeBoundToClaim, podClaimNames, volumeClass,
} from './persistentvolume-match.ts';
import { cloneJson } from '../api/json-clone.ts';

export const STORAGE_CLASSES = builtin('storageclasses.storage.k8s.io');
/** The provisioner name of classes whose volumes are made by hand (never provisioned). */
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
const CLAIMS_BY_POD_INDEX = 'persistentvolume-binder/claims';

function withAnnotations<T extends PersistentVolume | PersistentVolumeClaim>(obj: T, add: Record<string, string>): T {
  const copy = cloneJson(obj) as T;
  copy.metadata = { ...copy.metadata, annotations: { ...copy.metadata?.annotations, ...add } };
  return copy;
}

function isScheduledAndActive(pod: Pod): boolean {
  return !!pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export const definition: ControllerDefinition = {
  name: 'persistentvolume-binder',
  start(ctx: ControllerContext) {
    const claims = ctx.informers.informerFor<PersistentVolumeClaim>(R.persistentvolumeclaims);
    const volumes = ctx.informers.informerFor<PersistentVolume>(R.persistentvolumes);
    const classes = ctx.informers.informerFor<StorageClass>(STORAGE_CLASSES);
    const pods = ctx.informers.informerFor<Pod>(R.pods);
    const nodes = ctx.informers.informerFor<Node>(R.nodes);
    pods.addIndexer(CLAIMS_BY_POD_INDEX, (p: Pod) => podClaimNames(p).map((c) => `${p.metadata?.namespace}/${c}`));
    const recorder = ctx.recorder('persistentvolume-controller');
    const writtenClaims = new WrittenObjects(claims);
    const writtenVolumes = new WrittenObjects(volumes);
    const allVolumes = () => volumes.list().map((v) => writtenVolumes.get(v.metadata!.name!) ?? v);

    const updateVolume = (pv: PersistentVolume) => writtenVolumes.write(pv.metadata!.name!, () => ctx.client.update(R.persistentvolumes, pv));
    const updateClaim = (pvc: PersistentVolumeClaim) => writtenClaims.write(claimKey(pvc), () => ctx.client.update(R.persistentvolumeclaims, pvc));
    const setVolumePhase = async (pv: PersistentVolume, phase: string, message?: string): Promise<PersistentVolume> => {
      if (pv.status?.phase === phase && pv.status?.message === message) return pv;
      const next = { ...pv, status: { ...pv.status, phase, message, lastPhaseTransitionTime: rfc3339() } };
      if (!message) delete next.status.message;
      return writtenVolumes.write(pv.metadata!.name!, () => ctx.client.updateStatus(R.persistentvolumes, next));
    };
    const setClaimStatus = async (pvc: PersistentVolumeClaim, status: PersistentVolumeClaim['status']): Promise<void> => {
      const next = { ...pvc, status: { ...pvc.status, ...status } };
      if (JSON.stringify(next.status) === JSON.stringify(pvc.status)) return;
      await writtenClaims.write(claimKey(pvc), () => ctx.client.updateStatus(R.persistentvolumeclaims, next));
    };

    /** bind(): volume first (claimRef, Bound), then the claim (volumeName, annotations, Bound). */
    const bind = async (pv: PersistentVolume, pvc: PersistentVolumeClaim): Promise<void> => {
      if (!isVolumeBoundToClaim(pv, pvc) || pv.spec?.claimRef?.uid !== pvc.metadata?.uid) {
        const prebound = isVolumeBoundToClaim(pv, pvc);
        const next = prebound ? cloneJson(pv) : withAnnotations(pv, { [ANN_BOUND_BY_CONTROLLER]: 'yes' });
        next.spec = { ...next.spec, claimRef: claimRefOf(pvc) };
        pv = await updateVolume(next);
      }
      pv = await setVolumePhase(pv, 'Bound');
      const annotations = pvc.metadata?.annotations ?? {};
      if (pvc.spec?.volumeName !== pv.metadata!.name || annotations[ANN_BIND_COMPLETED] !== 'yes') {
        const add: Record<string, string> = { [ANN_BIND_COMPLETED]: 'yes' };
        if (pvc.spec?.volumeName !== pv.metadata!.name) add[ANN_BOUND_BY_CONTROLLER] = 'yes';
        const next = withAnnotations(pvc, add);
        next.spec = { ...next.spec, volumeName: pv.metadata!.name };
        pvc = await updateClaim(next);
      }
      await setClaimStatus(pvc, { phase: 'Bound', accessModes: pv.spec?.accessModes, capacity: pv.spec?.capacity });
    };

    const syncUnboundClaim = async (pvc: PersistentVolumeClaim): Promise<void> => {
      const volumeName = pvc.spec?.volumeName;
      if (volumeName) {
        // Bound by the user to a volume by name.
        const pv = allVolumes().find((v) => v.metadata?.name === volumeName);
        if (!pv) return setClaimStatus(pvc, { phase: 'Pending' });
        if (!pv.spec?.claimRef || isVolumeBoundToClaim(pv, pvc)) return bind(pv, pvc);
        recorder.event(pvc, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
        return setClaimStatus(pvc, { phase: 'Pending' });
      }
      const className = claimClass(pvc);
      const sc = className ? classes.getByName(className) : undefined;
      const selectedNode = pvc.metadata?.annotations?.[ANN_SELECTED_NODE];
      const delay = sc?.volumeBindingMode === 'WaitForFirstConsumer' && !selectedNode;
      const node = selectedNode ? nodes.getByName(selectedNode) : undefined;
      if (selectedNode && !node) throw new Error(`claim ${claimKey(pvc)}: its selected node ${selectedNode} is not in the cache yet`);
      const pv = findMatchingVolume(pvc, allVolumes(), node, delay);
      if (pv) return bind(pv, pvc);
      await setClaimStatus(pvc, { phase: 'Pending' });
      if (delay) {
        // Its first consumer may already be scheduled (the claim came after the pod).
        const consumer = pods.byIndex(CLAIMS_BY_POD_INDEX, claimKey(pvc)).find(isScheduledAndActive);
        if (consumer) {
          await updateClaim(withAnnotations(pvc, { [ANN_SELECTED_NODE]: consumer.spec!.nodeName! }));
          return;
        }
        recorder.event(pvc, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
        return;
      }
      if (!className) {
        recorder.event(pvc, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
        return;
      }
      if (!sc) {
        recorder.event(pvc, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
        return;
      }
      if (sc.provisioner === NO_PROVISIONER) {
        recorder.event(pvc, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
        return;
      }
      // Dynamic provisioning by an external provisioner: name it on the claim and wait for its volume.
      const annotations = pvc.metadata?.annotations ?? {};
      if (annotations[ANN_STORAGE_PROVISIONER] !== sc.provisioner || annotations[ANN_BETA_STORAGE_PROVISIONER] !== sc.provisioner) {
        await updateClaim(withAnnotations(pvc, { [ANN_STORAGE_PROVISIONER]: sc.provisioner, [ANN_BETA_STORAGE_PROVISIONER]: sc.provisioner }));
      }
      recorder.event(pvc, 'Normal', 'ExternalProvisioning', `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' ` +
        'or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.');
    };

    const syncBoundClaim = async (pvc: PersistentVolumeClaim): Promise<void> => {
      const volumeName = pvc.spec?.volumeName;
      const pv = volumeName ? allVolumes().find((v) => v.metadata?.name === volumeName) : undefined;
      if (!volumeName || !pv) {
        if (pvc.status?.phase !== 'Lost') {
          recorder.event(pvc, 'Warning', 'ClaimLost', volumeName ? 'Bound claim has lost its PersistentVolume. Data on the volume is lost!'
            : 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
        }
        return setClaimStatus(pvc, { phase: 'Lost' });
      }
      if (!pv.spec?.claimRef || isVolumeBoundToClaim(pv, pvc)) return bind(pv, pvc);
      if (pvc.status?.phase !== 'Lost') recorder.event(pvc, 'Warning', 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
      return setClaimStatus(pvc, { phase: 'Lost' });
    };

    const syncClaim = async (key: string): Promise<void> => {
      const pvc = writtenClaims.get(key);
      if (!pvc || pvc.metadata?.deletionTimestamp) return;
      if (pvc.metadata?.annotations?.[ANN_BIND_COMPLETED]) return syncBoundClaim(pvc);
      return syncUnboundClaim(pvc);
    };

    /** The claim a volume's claimRef names, from the cache or, when the cache has none, the API (a new claim the cache has not seen). */
    const claimOf = async (pv: PersistentVolume): Promise<PersistentVolumeClaim | undefined> => {
      const ref = pv.spec!.claimRef!;
      let pvc = writtenClaims.get(`${ref.namespace}/${ref.name}`);
      if (!pvc) {
        try {
          pvc = await ctx.client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, ref.name!, { namespace: ref.namespace });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      return pvc && pvc.metadata?.uid === ref.uid ? pvc : undefined;
    };

    const syncVolume = async (name: string): Promise<void> => {
      const pv = writtenVolumes.get(name);
      if (!pv || pv.metadata?.deletionTimestamp) return;
      const ref = pv.spec?.claimRef;
      if (!ref) {
        await setVolumePhase(pv, 'Available');
        return;
      }
      if (!ref.uid) {
        // Pre-bound by name to a claim: Available until that claim binds.
        await setVolumePhase(pv, 'Available');
        controller.enqueue(`claim:${ref.namespace}/${ref.name}`);
        return;
      }
      const pvc = await claimOf(pv);
      if (pvc) {
        if (!pvc.spec?.volumeName) {
          // Half-bound: the claim's sync finishes the binding.
          controller.enqueue(`claim:${claimKey(pvc)}`);
          return;
        }
        if (pvc.spec.volumeName === name) {
          await setVolumePhase(pv, 'Bound');
          return;
        }
        // The claim went to another volume: release this one (unbindVolume).
        const next = cloneJson(pv);
        if (pv.metadata?.annotations?.[ANN_BOUND_BY_CONTROLLER]) {
          delete next.spec!.claimRef;
          delete next.metadata!.annotations![ANN_BOUND_BY_CONTROLLER];
        } else {
          next.spec!.claimRef = { ...ref, uid: undefined, resourceVersion: undefined };
        }
        await setVolumePhase(await updateVolume(next), 'Available');
        return;
      }
      // The claim is gone: the volume is released, then reclaimed by its policy.
      if (pv.status?.phase === 'Failed') return;
      const released = await setVolumePhase(pv, 'Released');
      const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
      if (policy === 'Retain') return;
      if (policy === 'Recycle') {
        recorder.event(pv, 'Warning', 'VolumeFailedRecycle', 'recycling volumes is not supported by skiff (the Recycle policy is deprecated); use Delete or Retain');
        await setVolumePhase(released, 'Failed', 'recycling volumes is not supported');
        return;
      }
      // Delete: a provisioner deletes what it made (and its storage); other volumes lose only their API object.
      if (pv.metadata?.annotations?.[ANN_PROVISIONED_BY]) return;
      try {
        await ctx.client.delete(R.persistentvolumes, name, { preconditions: { uid: pv.metadata!.uid } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
    };

    const controller = new Controller('persistentvolume-binder', [], async (key) => {
      if (key.startsWith('claim:')) return syncClaim(key.slice('claim:'.length));
      if (key.startsWith('volume:')) return syncVolume(key.slice('volume:'.length));
      if (key.startsWith('pod:')) return syncPod(key.slice('pod:'.length));
    }, 1, { log: ctx.log });

    /** A scheduled pod selects its node for its unbound WaitForFirstConsumer claims (kube-scheduler's VolumeBinding does this). */
    const syncPod = async (key: string): Promise<void> => {
      const pod = pods.get(key);
      if (!pod || !isScheduledAndActive(pod)) return;
      const ns = pod.metadata!.namespace!;
      for (const name of podClaimNames(pod)) {
        const pvc = writtenClaims.get(`${ns}/${name}`);
        if (!pvc || pvc.spec?.volumeName || pvc.metadata?.deletionTimestamp || pvc.metadata?.annotations?.[ANN_SELECTED_NODE]) continue;
        const sc = classes.getByName(claimClass(pvc));
        if (sc?.volumeBindingMode !== 'WaitForFirstConsumer') continue;
        await updateClaim(withAnnotations(pvc, { [ANN_SELECTED_NODE]: pod.spec!.nodeName! }));
      }
    };

    controller.watch(claims, (c) => [`claim:${c.metadata!.namespace}/${c.metadata!.name}`]);
    controller.watch(volumes, (v) => {
      const ref = (v as PersistentVolume).spec?.claimRef;
      if (ref) return [`volume:${v.metadata!.name}`, `claim:${ref.namespace}/${ref.name}`];
      // A free volume may be what waiting claims of its class need.
      const cls = volumeClass(v as PersistentVolume);
      const waiting = claims.list().filter((c) => !c.spec?.volumeName && claimClass(c as PersistentVolumeClaim) === cls);
      return [`volume:${v.metadata!.name}`, ...waiting.map((c) => `claim:${c.metadata!.namespace}/${c.metadata!.name}`)];
    });
    // A claim's events also wake the volumes naming it (a deleted claim releases its volume).
    controller.watch(claims, (c) => volumes.list().filter((v) => v.spec?.claimRef?.name === c.metadata?.name &&
      v.spec?.claimRef?.namespace === c.metadata?.namespace).map((v) => `volume:${v.metadata!.name}`));
    controller.watch(pods, (p) => (p.spec?.nodeName ? [`pod:${p.metadata!.namespace}/${p.metadata!.name}`] : []));
    // A class created after its claims: claims of that class sync again.
    controller.watch(classes, (sc) => claims.list().filter((c) => claimClass(c as PersistentVolumeClaim) === sc.metadata?.name).map((c) => `claim:${claimKey(c)}`));
    controller.watch(nodes, () => []);
    return {
      run: () => controller.run(),
      async stop() {
        await controller.stop();
        writtenClaims.stop();
        writtenVolumes.stop();
      },
    };
  },
};

