// The StorageClass printer (kubernetes/pkg/printers/internalversion: printStorageClass):
// the default class shows as "name (default)".
import type { KubeObject } from '../types.ts';
import { since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, type Printer, column } from './types.ts';

function isDefaultClass(o: KubeObject): boolean {
  const a = o.metadata?.annotations ?? {};
  return a['storageclass.kubernetes.io/is-default-class'] === 'true' || a['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
}

export const storageClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
    column('ReclaimPolicy', 'string', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.'),
    column('VolumeBindingMode', 'string', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.'),
    column('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    AGE_COLUMN,
  ],
  row: (o, { now }) => ({
    cells: [
      `${o.metadata?.name}${isDefaultClass(o) ? ' (default)' : ''}`, o.provisioner ?? '', o.reclaimPolicy ?? 'Delete',
      o.volumeBindingMode ?? 'Immediate', o.allowVolumeExpansion === true, since(o.metadata?.creationTimestamp, now),
    ],
  }),
};
