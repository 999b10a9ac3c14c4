// validateObject: the strategy Validate / ValidateUpdate of each built-in kind. The causes
// carry Kubernetes' field paths and messages; the server wraps them in a 422 Status.
import type { KubeObject, ResourceInfo, StatusCause } from '../types.ts';
import { validateControllerRevision, validateDaemonSet, validateDeployment, validateReplicaSet, validateStatefulSet } from './apps.ts';
import { validateCronJob, validateJob } from './batch.ts';
import { validateCertificateSigningRequest } from './certificates.ts';
import { validateEndpointSlice, validateEventsV1Event, validateLease, validatePriorityClass, validateRuntimeClass } from './cluster.ts';
import { validateConfigMap, validateSecret } from './config.ts';
import {
  validateCoreEvent, validateEndpoints, validateLimitRange, validateNamespace, validateNode, validatePersistentVolume,
  validatePersistentVolumeClaim, validateResourceQuota, validateServiceAccount,
} from './core.ts';
import { crdNameFn, validateCustomResourceDefinition } from './crd.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, type NameFn } from './names.ts';
import { validatePod } from './pod.ts';
import { validatePodDisruptionBudget } from './policy.ts';
import { validateService } from './service.ts';
import { validateStorageClass } from './storage.ts';

export { parseQuantity, canonicalQuantity, compareQuantities, QUANTITY_FORMAT_ERROR } from './quantity.ts';

type KindValidator = (obj: KubeObject, old?: KubeObject) => StatusCause[];

/** Per-kind rules, keyed by "<group>/<Kind>" ('' group for core). */
const VALIDATORS: Record<string, KindValidator> = {
  '/Pod': validatePod,
  '/Service': validateService,
  '/ConfigMap': validateConfigMap,
  '/Secret': validateSecret,
  '/Namespace': validateNamespace,
  '/Node': validateNode,
  '/PersistentVolume': validatePersistentVolume,
  '/PersistentVolumeClaim': validatePersistentVolumeClaim,
  '/LimitRange': validateLimitRange,
  '/ResourceQuota': validateResourceQuota,
  '/ServiceAccount': validateServiceAccount,
  '/Endpoints': validateEndpoints,
  '/Event': validateCoreEvent,
  'apps/Deployment': validateDeployment,
  'apps/ReplicaSet': validateReplicaSet,
  'apps/StatefulSet': validateStatefulSet,
  'apps/DaemonSet': validateDaemonSet,
  'apps/ControllerRevision': validateControllerRevision,
  'batch/Job': validateJob,
  'batch/CronJob': validateCronJob,
  'certificates.k8s.io/CertificateSigningRequest': validateCertificateSigningRequest,
  'coordination.k8s.io/Lease': validateLease,
  'policy/PodDisruptionBudget': validatePodDisruptionBudget,
  'discovery.k8s.io/EndpointSlice': validateEndpointSlice,
  'events.k8s.io/Event': validateEventsV1Event,
  'scheduling.k8s.io/PriorityClass': validatePriorityClass,
  'node.k8s.io/RuntimeClass': validateRuntimeClass,
  'storage.k8s.io/StorageClass': validateStorageClass,
  'apiextensions.k8s.io/CustomResourceDefinition': validateCustomResourceDefinition,
};

/** Which name format each kind requires (ValidateXxxName in Kubernetes); DNS subdomain otherwise. */
function nameFnFor(resource: ResourceInfo, obj: KubeObject): NameFn {
  if (resource.custom) return nameIsDNSSubdomain;
  switch (`${resource.group}/${resource.kind}`) {
    case '/Namespace':
      return nameIsDNSLabel;
    case '/Service':
      return nameIsDNS1035Label;
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return crdNameFn(obj);
    default:
      return nameIsDNSSubdomain;
  }
}

/**
 * The causes that make `obj` invalid for `resource` (empty when it is valid). Pass `old`
 * on update: then immutable fields and update-only rules are checked too. Expects the
 * object to have been through applyDefaults, as Kubernetes validates after defaulting.
 */
export function validateObject(resource: ResourceInfo, obj: KubeObject, old?: KubeObject): StatusCause[] {
  const causes = old ? validateObjectMetaUpdate(obj, old) : validateObjectMeta(obj, resource.namespaced, nameFnFor(resource, obj));
  if (old && `${resource.group}/${resource.kind}` === '/Pod') {
    // Pods re-validate their whole metadata on update, as ValidatePodUpdate does.
    causes.push(...validateObjectMeta(obj, resource.namespaced, nameFnFor(resource, obj)).filter((c) => !causes.some((d) => d.field === c.field && d.message === c.message)));
  }
  if (resource.custom) return causes;
  const validator = VALIDATORS[`${resource.group}/${resource.kind}`];
  if (validator) causes.push(...validator(obj, old));
  return dedupe(causes);
}

// field.ErrorList.ToAggregate drops exact repeats; do the same.
function dedupe(causes: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.field}\u0000${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
