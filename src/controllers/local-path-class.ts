// The local-path provisioner's names and its StorageClass, which `skiff server` creates at start
// when missing (k3s ships the same class): the cluster's default class, binding claims only
// once their pod is scheduled so the volume is made on that pod's node.
// https://github.com/rancher/local-path-provisioner
import type { StorageClass } from 'kubernetes-types/storage/v1.d.ts';

export const LOCAL_PATH_PROVISIONER = 'skiff.io/local-path';
export const LOCAL_PATH_CLASS = 'local-path';
/** Where volumes go unless the local-path-config ConfigMap says otherwise (k3s: /var/lib/rancher/k3s/storage). */
export const DEFAULT_LOCAL_PATH_DIR = '/var/lib/skiff/storage';

export const LOCAL_PATH_STORAGE_CLASS: StorageClass = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: LOCAL_PATH_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: LOCAL_PATH_PROVISIONER,
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
};
