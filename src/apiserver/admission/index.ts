// The server's Admission: built-in kinds get Kubernetes' defaults and
// validation, custom resources their CRD's structural schema (defaults,
// pruning, validation), every kind its schema for patches and apply, and
// Services their cluster IPs and node ports. New pods go through the Priority and ServiceAccount plugins,
// new claims through DefaultStorageClass.
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.d.ts';
import type { KubeObject, ResourceInfo, StatusCause } from '../../api/types.ts';
import { applyDefaults } from '../../api/defaults/index.ts';
import { validateObject } from '../../api/validation/index.ts';
import { applyCRDDefaults, crdVersionSchema, validateCRDSchemas } from '../../api/crd.ts';
import { applySchemaDefaults, findUnknownFields, pruneNonNullableNulls, pruneUnknownFields, validateAgainstSchema } from '../../api/schema/structural/index.ts';
import type { SchemaResolver } from '../../api/schema/types.ts';
import type { Admission } from '../registry/admission.ts';
import type { ServiceAllocator } from './service-allocator.ts';
import type { Store } from '../../store/store.ts';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import { admitPodServiceAccount, type ServiceAccountLookup } from './service-account.ts';
import { admitClaimStorageClass } from './default-storage-class.ts';
import { admitPodPriority } from './priority.ts';
import type { PrefixMirror } from '../registry/prefix-mirror.ts';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.d.ts';
import type { ServiceAccount } from 'kubernetes-types/core/v1.d.ts';

export interface AdmissionDeps {
  resolver: SchemaResolver;
  allocator: ServiceAllocator;
  crdFor: (r: ResourceInfo) => KubeObject | undefined;
  /** What the ServiceAccount, DefaultStorageClass and Priority plugins read (absent: they do not run). */
  store?: Store;
  /** The server's mirror of PriorityClasses (the Priority plugin reads the store without it). */
  priorityClasses?: PrefixMirror<PriorityClass>;
  /** The server's mirror of ServiceAccounts, with `--store etcd` (the plugin reads the store without it). */
  serviceAccounts?: PrefixMirror<ServiceAccount>;
  /** How long the ServiceAccount plugin waits for a namespace's `default` account (tests). */
  serviceAccountLookup?: ServiceAccountLookup;
  /** Plugins turned off (kube-apiserver's --disable-admission-plugins), from OPTIONAL_ADMISSION_PLUGINS. */
  disabledPlugins?: readonly string[];
}

/** The admission plugins that can be turned off, by kube-apiserver's names. */
export const OPTIONAL_ADMISSION_PLUGINS = ['ServiceAccount', 'DefaultStorageClass', 'Priority'] as const;

function isCrd(r: ResourceInfo): boolean {
  return r.group === 'apiextensions.k8s.io' && r.kind === 'CustomResourceDefinition';
}

export function createAdmission(deps: AdmissionDeps): Admission {
  const disabled = new Set(deps.disabledPlugins ?? []);
  const customSchema = (r: ResourceInfo) => {
    const crd = deps.crdFor(r) as CustomResourceDefinition | undefined;
    return crd ? crdVersionSchema(crd, r.version) : undefined;
  };
  return {
    default(r, obj) {
      if (r.custom) {
        const s = customSchema(r);
        if (s) applySchemaDefaults(s, obj);
        return;
      }
      if (isCrd(r)) Object.assign(obj, applyCRDDefaults(obj as CustomResourceDefinition));
      applyDefaults(r, obj);
    },
    validate(r, obj, old) {
      const causes: StatusCause[] = [...validateObject(r, obj, old)];
      if (r.custom) {
        const s = customSchema(r);
        if (s) {
          const { metadata: _m, ...rest } = obj;
          causes.push(...validateAgainstSchema(s, rest, { resolver: deps.resolver }));
        }
      }
      if (isCrd(r)) causes.push(...validateCRDSchemas(obj as CustomResourceDefinition));
      return causes;
    },
    unknownFields(r, obj) {
      if (r.custom) {
        const s = customSchema(r);
        if (!s) return [];
        const pruned = pruneUnknownFields(s, obj, { resolver: deps.resolver });
        pruneNonNullableNulls(s, obj);
        return pruned;
      }
      const root = deps.resolver.forKind(r.group, r.version, r.kind);
      return root ? findUnknownFields(root, obj, deps.resolver) : [];
    },
    schema(r) {
      return { root: deps.resolver.forKind(r.group, r.version, r.kind), resolver: deps.resolver };
    },
    async allocate(r, obj, old) {
      if (r.group !== '') return;
      if (r.kind === 'Service') await deps.allocator.allocate(obj, old);
      // The mutating plugins that read other objects: on create only, as in kube-apiserver.
      if (old || !deps.store) return;
      if (r.kind === 'Pod' && !disabled.has('Priority')) await admitPodPriority({ store: deps.store, mirror: deps.priorityClasses }, obj as Pod);
      if (r.kind === 'Pod' && !disabled.has('ServiceAccount')) await admitPodServiceAccount(deps.store, obj as Pod, deps.serviceAccountLookup, deps.serviceAccounts);
      if (r.kind === 'PersistentVolumeClaim' && !disabled.has('DefaultStorageClass')) await admitClaimStorageClass(deps.store, obj as PersistentVolumeClaim);
    },
    async release(r, obj) {
      if (r.group !== '' || r.kind !== 'Service') return;
      // The Service is already deleted; a reservation left behind is reclaimed later (see service-allocator.ts).
      await deps.allocator.release(obj).catch((e: Error) =>
        console.error(`skiff: releasing the addresses of service ${obj.metadata?.namespace}/${obj.metadata?.name} failed: ${e.message}`));
    },
  };
}
