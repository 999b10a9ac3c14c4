// persistentVolumeClaim volumes: a bound claim's PersistentVolume, backed by a host path
// (hostPath or local PVs: what a single machine has). An unbound claim keeps the pod waiting
// with kubelet's message.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.d.ts';
import type { RestClient } from '../../client/rest.ts';
import { R } from '../../client/resources.ts';
import { checkHostPathType } from './host-path.ts';

/** An error worded as kubelet's volume manager reports it (not wrapped in "MountVolume.SetUp failed"). */
export class UnmountableVolumeError extends Error {}

export async function persistentVolumePath(client: RestClient, namespace: string, volumeName: string, claimName: string): Promise<{ path: string; readOnly: boolean }> {
  const fail = (why: string) => new UnmountableVolumeError(
    `Unable to attach or mount volumes: unmounted volumes=[${volumeName}], unattached volumes=[], failed to process volumes=[${volumeName}]: ` +
    `error processing PVC ${namespace}/${claimName}: ${why}`);
  let pvc: PersistentVolumeClaim;
  try {
    pvc = await client.get<PersistentVolumeClaim>(R.persistentvolumeclaims, claimName, { namespace });
  } catch (e) {
    throw fail(`failed to fetch PVC from API server: ${(e as Error).message.replace(/^\S+ \S+: /, '')}`);
  }
  if (pvc.metadata?.deletionTimestamp) throw fail('PVC is being deleted');
  if (pvc.status?.phase !== 'Bound' || !pvc.spec?.volumeName) throw fail('PVC is not bound');
  let pv: PersistentVolume;
  try {
    pv = await client.get<PersistentVolume>(R.persistentvolumes, pvc.spec.volumeName);
  } catch (e) {
    throw fail(`failed to fetch PV ${pvc.spec.volumeName} from API server: ${(e as Error).message.replace(/^\S+ \S+: /, '')}`);
  }
  const claimRef = pv.spec?.claimRef;
  if (claimRef?.uid && claimRef.uid !== pvc.metadata?.uid) {
    throw fail(`the PV ${pv.metadata?.name} is bound to another claim (uid ${claimRef.uid})`);
  }
  const readOnly = false;
  if (pv.spec?.hostPath) {
    await checkHostPathType(pv.spec.hostPath.path, pv.spec.hostPath.type);
    return { path: pv.spec.hostPath.path, readOnly };
  }
  if (pv.spec?.local) {
    // A local PV's path must already exist (it is a disk or directory someone prepared).
    await checkHostPathType(pv.spec.local.path, 'Directory');
    return { path: pv.spec.local.path, readOnly };
  }
  throw fail(`PV ${pv.metadata?.name} is not a hostPath or local volume, the kinds skiff can mount`);
}
