// How lists and maps of the built-in kinds merge: the x-kubernetes-patch-* and
// x-kubernetes-list-type / map-type extensions that kube-apiserver publishes.
// kubernetes-types carries no merge facts, so they are written down here from
// the Go struct tags and +listType markers of k8s.io/api (v1.30).
// See https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy
// and https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/
import type { Schema } from './types.ts';

export type FieldMergeMeta = Pick<Schema,
  'x-kubernetes-patch-merge-key' | 'x-kubernetes-patch-strategy' | 'x-kubernetes-list-type' |
  'x-kubernetes-list-map-keys' | 'x-kubernetes-map-type'>;

/** A list merged by key for strategic merge patch and a list-map for server-side apply. */
function mergeByKey(key: string, mapKeys: string[] = [key], strategy = 'merge'): FieldMergeMeta {
  return {
    'x-kubernetes-list-map-keys': mapKeys,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-patch-merge-key': key,
    'x-kubernetes-patch-strategy': strategy,
  };
}

const atomic: FieldMergeMeta = { 'x-kubernetes-list-type': 'atomic' };
const set: FieldMergeMeta = { 'x-kubernetes-list-type': 'set' };
const atomicMap: FieldMergeMeta = { 'x-kubernetes-map-type': 'atomic' };
const byType = mergeByKey('type');

const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const APPS = 'io.k8s.api.apps.v1.';
const APIEXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.';

const containerFields: Record<string, FieldMergeMeta> = {
  args: atomic,
  command: atomic,
  env: mergeByKey('name'),
  envFrom: atomic,
  ports: mergeByKey('containerPort', ['containerPort', 'protocol']),
  resizePolicy: atomic,
  volumeDevices: mergeByKey('devicePath'),
  volumeMounts: mergeByKey('mountPath'),
};

/** Definition name -> property name -> merge facts of that property. */
export const PATCH_META: Record<string, Record<string, FieldMergeMeta>> = {
  [META + 'ObjectMeta']: {
    finalizers: { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    managedFields: atomic,
    ownerReferences: mergeByKey('uid'),
  },
  [META + 'LabelSelector']: { matchExpressions: atomic },
  [META + 'LabelSelectorRequirement']: { values: atomic },
  [META + 'StatusDetails']: { causes: atomic },

  [CORE + 'PodSpec']: {
    containers: mergeByKey('name'),
    ephemeralContainers: mergeByKey('name'),
    hostAliases: mergeByKey('ip'),
    imagePullSecrets: mergeByKey('name'),
    initContainers: mergeByKey('name'),
    nodeSelector: atomicMap,
    readinessGates: atomic,
    resourceClaims: mergeByKey('name', ['name'], 'merge,retainKeys'),
    schedulingGates: mergeByKey('name'),
    tolerations: atomic,
    topologySpreadConstraints: mergeByKey('topologyKey', ['topologyKey', 'whenUnsatisfiable']),
    volumes: mergeByKey('name', ['name'], 'merge,retainKeys'),
  },
  [CORE + 'Container']: containerFields,
  [CORE + 'EphemeralContainer']: containerFields,
  [CORE + 'PodStatus']: {
    conditions: byType,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    hostIPs: { ...atomic, 'x-kubernetes-patch-merge-key': 'ip', 'x-kubernetes-patch-strategy': 'merge' },
    initContainerStatuses: atomic,
    podIPs: mergeByKey('ip'),
    resourceClaimStatuses: mergeByKey('name', ['name'], 'merge,retainKeys'),
  },
  [CORE + 'ContainerStatus']: { volumeMounts: mergeByKey('mountPath') },
  [CORE + 'ResourceRequirements']: { claims: mergeByKey('name') },
  [CORE + 'PodSecurityContext']: { supplementalGroups: atomic, sysctls: atomic },
  [CORE + 'Capabilities']: { add: atomic, drop: atomic },
  [CORE + 'ExecAction']: { command: atomic },
  [CORE + 'HTTPGetAction']: { httpHeaders: atomic },
  [CORE + 'HostAlias']: { hostnames: atomic },
  [CORE + 'PodDNSConfig']: { nameservers: atomic, options: atomic, searches: atomic },
  [CORE + 'TopologySpreadConstraint']: { matchLabelKeys: atomic },
  [CORE + 'NodeSelector']: { nodeSelectorTerms: atomic },
  [CORE + 'NodeSelectorTerm']: { matchExpressions: atomic, matchFields: atomic },
  [CORE + 'NodeSelectorRequirement']: { values: atomic },
  [CORE + 'NodeAffinity']: { preferredDuringSchedulingIgnoredDuringExecution: atomic },
  [CORE + 'PodAffinity']: {
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [CORE + 'PodAntiAffinity']: {
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [CORE + 'PodAffinityTerm']: { matchLabelKeys: atomic, mismatchLabelKeys: atomic, namespaces: atomic },
  [CORE + 'ConfigMapVolumeSource']: { items: atomic },
  [CORE + 'ConfigMapProjection']: { items: atomic },
  [CORE + 'SecretVolumeSource']: { items: atomic },
  [CORE + 'SecretProjection']: { items: atomic },
  [CORE + 'DownwardAPIVolumeSource']: { items: atomic },
  [CORE + 'DownwardAPIProjection']: { items: atomic },
  [CORE + 'ProjectedVolumeSource']: { sources: atomic },
  [CORE + 'ServiceSpec']: {
    clusterIPs: atomic,
    externalIPs: atomic,
    ipFamilies: atomic,
    loadBalancerSourceRanges: atomic,
    ports: mergeByKey('port', ['port', 'protocol']),
    selector: atomicMap,
  },
  [CORE + 'ServiceStatus']: { conditions: byType },
  [CORE + 'LoadBalancerStatus']: { ingress: atomic },
  [CORE + 'LoadBalancerIngress']: { ports: atomic },
  [CORE + 'ServiceAccount']: { imagePullSecrets: atomic, secrets: mergeByKey('name') },
  [CORE + 'Endpoints']: { subsets: atomic },
  [CORE + 'EndpointSubset']: { addresses: atomic, notReadyAddresses: atomic, ports: atomic },
  [CORE + 'NodeSpec']: {
    podCIDRs: { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    taints: atomic,
  },
  [CORE + 'NodeStatus']: {
    addresses: byType,
    conditions: byType,
    images: atomic,
    runtimeHandlers: atomic,
    volumesAttached: atomic,
    volumesInUse: atomic,
  },
  [CORE + 'ContainerImage']: { names: atomic },
  [CORE + 'NamespaceSpec']: { finalizers: atomic },
  [CORE + 'NamespaceStatus']: { conditions: byType },
  [CORE + 'PersistentVolumeSpec']: { accessModes: atomic, mountOptions: atomic },
  [CORE + 'PersistentVolumeClaimSpec']: { accessModes: atomic },
  [CORE + 'PersistentVolumeClaimStatus']: { accessModes: atomic, allocatedResourceStatuses: { 'x-kubernetes-map-type': 'granular' }, conditions: byType },
  [CORE + 'ReplicationControllerSpec']: { selector: atomicMap },
  [CORE + 'ReplicationControllerStatus']: { conditions: byType },
  [CORE + 'ComponentStatus']: { conditions: byType },
  [CORE + 'LimitRangeSpec']: { limits: atomic },
  [CORE + 'ResourceQuotaSpec']: { scopes: atomic },
  [CORE + 'ScopeSelector']: { matchExpressions: atomic },
  [CORE + 'ScopedResourceSelectorRequirement']: { values: atomic },

  [APPS + 'DeploymentSpec']: { strategy: { 'x-kubernetes-patch-strategy': 'retainKeys' } },
  [APPS + 'DeploymentStatus']: { conditions: byType },
  [APPS + 'ReplicaSetStatus']: { conditions: byType },
  [APPS + 'StatefulSetSpec']: { volumeClaimTemplates: atomic },
  [APPS + 'StatefulSetStatus']: { conditions: byType },
  [APPS + 'DaemonSetStatus']: { conditions: byType },

  ['io.k8s.api.batch.v1.JobStatus']: {
    conditions: { ...atomic, 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' },
  },
  ['io.k8s.api.batch.v1.CronJobStatus']: { active: atomic },
  ['io.k8s.api.batch.v1.PodFailurePolicy']: { rules: atomic },
  ['io.k8s.api.batch.v1.PodFailurePolicyRule']: { onPodConditions: atomic },
  ['io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement']: { values: set },
  ['io.k8s.api.batch.v1.UncountedTerminatedPods']: { failed: set, succeeded: set },
  ['io.k8s.api.batch.v1.SuccessPolicy']: { rules: atomic },

  ['io.k8s.api.discovery.v1.EndpointSlice']: { endpoints: atomic, ports: atomic },
  ['io.k8s.api.discovery.v1.Endpoint']: { addresses: set },
  ['io.k8s.api.node.v1.Scheduling']: { nodeSelector: atomicMap, tolerations: atomic },
  ['io.k8s.api.policy.v1.PodDisruptionBudgetSpec']: { selector: { 'x-kubernetes-patch-strategy': 'replace' } },
  ['io.k8s.api.policy.v1.PodDisruptionBudgetStatus']: { conditions: byType },
  ['io.k8s.api.storage.v1.CSINodeSpec']: { drivers: mergeByKey('name') },

  [APIEXT + 'CustomResourceDefinitionSpec']: { versions: atomic },
  [APIEXT + 'CustomResourceDefinitionNames']: { categories: atomic, shortNames: atomic },
  [APIEXT + 'CustomResourceDefinitionStatus']: {
    conditions: { 'x-kubernetes-list-map-keys': ['type'], 'x-kubernetes-list-type': 'map' },
    storedVersions: atomic,
  },
  [APIEXT + 'CustomResourceDefinitionVersion']: { additionalPrinterColumns: atomic, selectableFields: atomic },
  [APIEXT + 'JSONSchemaProps']: {
    allOf: atomic, anyOf: atomic, enum: atomic, oneOf: atomic, required: atomic,
    'x-kubernetes-list-map-keys': atomic,
    'x-kubernetes-validations': mergeByKey('rule'),
  },
};
