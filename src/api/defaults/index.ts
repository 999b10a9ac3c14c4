// applyDefaults: what kube-apiserver fills in on every write of a built-in kind (the
// scheme's defaulting funcs), plus the create-time additions of the default admission
// plugins and registry strategies that users see in `kubectl get -o yaml`.
import type { KubeObject, ResourceInfo } from '../types.ts';
import {
  defaultCoreEvent, defaultEndpoints, defaultLimitRange, defaultNamespace, defaultNode, defaultPersistentVolume,
  defaultPersistentVolumeClaim, defaultResourceQuota, defaultSecret, defaultService,
} from './core.ts';
import { defaultCustomResourceDefinition, defaultEndpointSlice, defaultPriorityClass, defaultStorageClass } from './other.ts';
import { defaultPod } from './pod.ts';
import { defaultPodDisruptionBudget } from './policy.ts';
import { defaultCronJob, defaultDaemonSet, defaultDeployment, defaultJob, defaultReplicaSet, defaultStatefulSet } from './workloads.ts';

export { imageTag, defaultPullPolicy } from './podspec.ts';
export { podQOSClass } from './pod.ts';

const DEFAULTERS: Record<string, (obj: KubeObject) => void> = {
  '/Pod': defaultPod,
  '/Service': defaultService,
  '/Namespace': defaultNamespace,
  '/Secret': defaultSecret,
  '/PersistentVolume': defaultPersistentVolume,
  '/PersistentVolumeClaim': defaultPersistentVolumeClaim,
  '/Node': defaultNode,
  '/LimitRange': defaultLimitRange,
  '/ResourceQuota': defaultResourceQuota,
  '/Endpoints': defaultEndpoints,
  '/Event': defaultCoreEvent,
  'apps/Deployment': defaultDeployment,
  'apps/ReplicaSet': defaultReplicaSet,
  'apps/StatefulSet': defaultStatefulSet,
  'apps/DaemonSet': defaultDaemonSet,
  'batch/Job': defaultJob,
  'batch/CronJob': defaultCronJob,
  'discovery.k8s.io/EndpointSlice': defaultEndpointSlice,
  'policy/PodDisruptionBudget': defaultPodDisruptionBudget,
  'scheduling.k8s.io/PriorityClass': defaultPriorityClass,
  'storage.k8s.io/StorageClass': defaultStorageClass,
  'apiextensions.k8s.io/CustomResourceDefinition': defaultCustomResourceDefinition,
};

/**
 * Fills in the defaults of a built-in object in place. Create-only additions (a pod's
 * serviceAccountName, priority and tolerations, a Job's generated selector, a Namespace's
 * finalizer, initial statuses) are applied only while the object has no resourceVersion,
 * i.e. before it is first stored. A Job's generated selector needs metadata.uid set.
 */
export function applyDefaults(resource: ResourceInfo, obj: KubeObject): void {
  if (resource.custom) return;
  DEFAULTERS[`${resource.group}/${resource.kind}`]?.(obj);
}
