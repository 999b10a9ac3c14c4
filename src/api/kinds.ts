// The built-in resources Skiff serves, with the names, short names, categories,
// verbs and subresources that kube-apiserver lists for them in discovery.
import type { ResourceInfo } from './types.ts';

const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Spec {
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: string[];
  verbs?: string[];
}

function group(groupName: string, version: string, specs: Spec[]): ResourceInfo[] {
  return specs.map((s) => ({
    group: groupName,
    version,
    kind: s.kind,
    listKind: `${s.kind}List`,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    namespaced: s.namespaced,
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    verbs: s.verbs ?? STANDARD_VERBS,
    subresources: s.subresources ?? [],
  }));
}

export const BUILTIN_RESOURCES: ResourceInfo[] = [
  ...group('', 'v1', [
    { kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], subresources: ['status', 'finalize'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    { kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'],
      subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward', 'eviction', 'ephemeralcontainers', 'proxy'] },
    { kind: 'Binding', plural: 'bindings', namespaced: true, verbs: ['create'] },
    { kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status', 'proxy'] },
    { kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] },
    { kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] },
    { kind: 'Secret', plural: 'secrets', namespaced: true },
    { kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'], subresources: ['token'] },
    { kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], subresources: ['status', 'proxy'] },
    { kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'] },
    { kind: 'PersistentVolume', plural: 'persistentvolumes', namespaced: false, shortNames: ['pv'], subresources: ['status'] },
    { kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', namespaced: true, shortNames: ['pvc'], subresources: ['status'] },
    { kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true, shortNames: ['quota'], subresources: ['status'] },
    { kind: 'LimitRange', plural: 'limitranges', namespaced: true, shortNames: ['limits'] },
  ]),
  ...group('apps', 'v1', [
    { kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] },
    { kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] },
    { kind: 'StatefulSet', plural: 'statefulsets', namespaced: true, shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] },
    { kind: 'DaemonSet', plural: 'daemonsets', namespaced: true, shortNames: ['ds'], categories: ['all'], subresources: ['status'] },
    { kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true },
  ]),
  ...group('batch', 'v1', [
    { kind: 'Job', plural: 'jobs', namespaced: true, categories: ['all'], subresources: ['status'] },
    { kind: 'CronJob', plural: 'cronjobs', namespaced: true, shortNames: ['cj'], categories: ['all'], subresources: ['status'] },
  ]),
  ...group('authentication.k8s.io', 'v1', [{ kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', namespaced: false, verbs: ['create'] }]),
  ...group('certificates.k8s.io', 'v1', [
    { kind: 'CertificateSigningRequest', plural: 'certificatesigningrequests', namespaced: false, shortNames: ['csr'],
      subresources: ['status', 'approval'] },
  ]),
  ...group('policy', 'v1', [
    { kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'], subresources: ['status'] },
  ]),
  ...group('coordination.k8s.io', 'v1', [{ kind: 'Lease', plural: 'leases', namespaced: true }]),
  ...group('discovery.k8s.io', 'v1', [{ kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true }]),
  ...group('events.k8s.io', 'v1', [{ kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'] }]),
  ...group('scheduling.k8s.io', 'v1', [{ kind: 'PriorityClass', plural: 'priorityclasses', namespaced: false, shortNames: ['pc'] }]),
  ...group('node.k8s.io', 'v1', [{ kind: 'RuntimeClass', plural: 'runtimeclasses', namespaced: false }]),
  ...group('storage.k8s.io', 'v1', [{ kind: 'StorageClass', plural: 'storageclasses', namespaced: false, shortNames: ['sc'] }]),
  ...group('apiextensions.k8s.io', 'v1', [
    { kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false, shortNames: ['crd', 'crds'],
      categories: ['api-extensions'], subresources: ['status'] },
  ]),
];

/** Groups in the order discovery lists them (core first, as kube-apiserver does). */
export const BUILTIN_GROUP_ORDER = ['', 'apps', 'events.k8s.io', 'authentication.k8s.io', 'batch', 'certificates.k8s.io',
  'policy', 'storage.k8s.io',
  'coordination.k8s.io', 'discovery.k8s.io', 'scheduling.k8s.io', 'node.k8s.io', 'apiextensions.k8s.io'];
