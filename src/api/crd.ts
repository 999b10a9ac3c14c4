// CustomResourceDefinition helpers: what a CRD makes the server serve
// (resources, schemas, printer columns, /scale), the status kube-apiserver's
// naming and establishing controllers give it, and its schemas' validation.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
import type {
  CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionCondition,
  CustomResourceDefinitionNames, CustomResourceDefinitionStatus, CustomResourceDefinitionVersion,
  CustomResourceSubresourceScale,
} from 'kubernetes-types/apiextensions/v1.d.ts';
import type { ResourceInfo, StatusCause } from './types.ts';
import type { Schema } from './schema/types.ts';
import { checkStructural, unsupportedSchemaFeatures } from './schema/structural/index.ts';
import { required } from './schema/structural/errors.ts';
import { rfc3339 } from './time.ts';

// The verbs kube-apiserver lists in discovery for every custom resource, in its order.
const CUSTOM_RESOURCE_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

/** Fills what CRD defaulting fills on create: singular, listKind, conversion strategy. */
export function applyCRDDefaults(crd: CustomResourceDefinition): CustomResourceDefinition {
  const names = crd.spec.names;
  if (!names.singular && names.kind) names.singular = names.kind.toLowerCase();
  if (!names.listKind && names.kind) names.listKind = `${names.kind}List`;
  crd.spec.conversion ??= { strategy: 'None' };
  return crd;
}

function namesOf(crd: CustomResourceDefinition): Required<Pick<CustomResourceDefinitionNames, 'kind' | 'plural' | 'singular' | 'listKind'>> & CustomResourceDefinitionNames {
  const n = crd.spec.names;
  return { ...n, singular: n.singular || n.kind.toLowerCase(), listKind: n.listKind || `${n.kind}List` };
}

export function crdVersion(crd: CustomResourceDefinition, version: string): CustomResourceDefinitionVersion | undefined {
  return crd.spec.versions.find((v) => v.name === version);
}

/** One ResourceInfo per served version, as discovery lists them. */
export function crdToResourceInfos(crd: CustomResourceDefinition): ResourceInfo[] {
  const names = namesOf(crd);
  return crdVersionsByPriority(crd).map((v) => ({
    group: crd.spec.group,
    version: v.name,
    kind: names.kind,
    listKind: names.listKind,
    plural: names.plural,
    singular: names.singular,
    namespaced: crd.spec.scope === 'Namespaced',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    verbs: [...CUSTOM_RESOURCE_VERBS],
    subresources: [
      ...(v.subresources?.status ? ['status'] : []),
      ...(v.subresources?.scale ? ['scale'] : []),
    ],
    custom: true,
  }));
}

/**
 * Served versions, highest priority first, as discovery orders them: GA before
 * beta before alpha, higher numbers first, then other names alphabetically.
 * https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/#version-priority
 */
export function crdVersionsByPriority(crd: CustomResourceDefinition): CustomResourceDefinitionVersion[] {
  return crd.spec.versions.filter((v) => v.served).sort((a, b) => compareVersionPriority(a.name, b.name));
}

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Negative when a has the higher priority. */
export function compareVersionPriority(a: string, b: string): number {
  const ma = KUBE_VERSION.exec(a), mb = KUBE_VERSION.exec(b);
  if (!ma || !mb) {
    if (ma) return -1;
    if (mb) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const stability = (m: RegExpExecArray) => (m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2);
  if (stability(ma) !== stability(mb)) return stability(mb) - stability(ma);
  if (ma[1] !== mb[1]) return Number(mb[1]) - Number(ma[1]);
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}

export function crdVersionSchema(crd: CustomResourceDefinition, version: string): Schema | undefined {
  return crdVersion(crd, version)?.schema?.openAPIV3Schema as Schema | undefined;
}

export function crdStorageVersion(crd: CustomResourceDefinition): string | undefined {
  return crd.spec.versions.find((v) => v.storage)?.name;
}

/**
 * The version's additionalPrinterColumns, or the Age column kube-apiserver
 * uses when there are none. The Name column that tables always start with is
 * not included.
 */
export function crdPrinterColumns(crd: CustomResourceDefinition, version: string): CustomResourceColumnDefinition[] {
  const columns = crdVersion(crd, version)?.additionalPrinterColumns ?? [];
  if (columns.length > 0) return columns;
  return [{
    name: 'Age',
    type: 'date',
    jsonPath: '.metadata.creationTimestamp',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created. ' +
      'It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. ' +
      'It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. ' +
      'More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  }];
}

/** Causes that make kube-apiserver reject the CRD's schemas (422 Invalid), with their full field paths. */
export function validateCRDSchemas(crd: CustomResourceDefinition): StatusCause[] {
  const out: StatusCause[] = [];
  crd.spec.versions.forEach((v, i) => {
    const path = `spec.versions[${i}].schema.openAPIV3Schema`;
    const schema = v.schema?.openAPIV3Schema as Schema | undefined;
    if (!schema) out.push(required(path, 'schemas are required'));
    else out.push(...checkStructural(schema, path));
  });
  return out;
}

/** Warnings for schema features accepted but not enforced (CEL rules). */
export function crdSchemaWarnings(crd: CustomResourceDefinition): string[] {
  return crd.spec.versions.flatMap((v, i) => {
    const schema = v.schema?.openAPIV3Schema as Schema | undefined;
    return schema ? unsupportedSchemaFeatures(schema, `spec.versions[${i}].schema.openAPIV3Schema`) : [];
  });
}

function condition(
  previous: CustomResourceDefinitionCondition[] | undefined, c: Omit<CustomResourceDefinitionCondition, 'lastTransitionTime'>, now: string,
): CustomResourceDefinitionCondition {
  const old = previous?.find((p) => p.type === c.type);
  // SetCRDCondition keeps the transition time while the status does not change.
  const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { type: c.type, status: c.status, lastTransitionTime, reason: c.reason, message: c.message };
}


/**
 * The status kube-apiserver's naming and establishing controllers converge
 * to: names accepted unless another CRD of the same group already holds one
 * of them, Established once names were accepted (never unset), the storage
 * version added to storedVersions.
 */
export function crdEstablishedStatus(
  crd: CustomResourceDefinition, now: Date | string, others: CustomResourceDefinition[] = [],
): CustomResourceDefinitionStatus {
  const time = rfc3339(now);
  const requested = namesOf(crd);
  const previous = crd.status?.acceptedNames;
  const accepted: CustomResourceDefinitionNames = { ...(previous ?? { kind: '', plural: '' }) };
  const usedResources = new Set<string>(), usedKinds = new Set<string>();
  for (const o of others) {
    if (o.spec.group !== crd.spec.group || o.metadata?.name === crd.metadata?.name) continue;
    const n = o.status?.acceptedNames;
    if (!n) continue;
    for (const name of [n.plural, n.singular, ...(n.shortNames ?? [])]) if (name) usedResources.add(name);
    for (const kind of [n.kind, n.listKind]) if (kind) usedKinds.add(kind);
  }
  let conflict: { reason: string; message: string } | undefined;
  const take = (field: 'plural' | 'singular' | 'kind' | 'listKind', used: Set<string>, reason: string) => {
    const want = requested[field];
    if (want !== previous?.[field] && used.has(want)) conflict = { reason, message: `${JSON.stringify(want)} is already in use` };
    else accepted[field] = want;
  };
  take('plural', usedResources, 'PluralConflict');
  take('singular', usedResources, 'SingularConflict');
  const shortConflicts = (requested.shortNames ?? [])
    .filter((s) => !(previous?.shortNames ?? []).includes(s) && usedResources.has(s));
  if (shortConflicts.length > 0) {
    const messages = shortConflicts.map((s) => `${JSON.stringify(s)} is already in use`);
    conflict = { reason: 'ShortNamesConflict', message: messages.length === 1 ? messages[0] : `[${messages.join(', ')}]` };
  } else if (requested.shortNames) {
    accepted.shortNames = requested.shortNames;
  }
  take('kind', usedKinds, 'KindConflict');
  take('listKind', usedKinds, 'ListKindConflict');
  if (requested.categories) accepted.categories = requested.categories;

  const prevConditions = crd.status?.conditions;
  const namesAccepted = condition(prevConditions, conflict
    ? { type: 'NamesAccepted', status: 'False', ...conflict }
    : { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' }, time);
  const wasEstablished = prevConditions?.find((c) => c.type === 'Established')?.status === 'True';
  const established = condition(prevConditions, wasEstablished || !conflict
    ? { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' }
    : { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' }, time);
  const otherConditions = (prevConditions ?? []).filter((c) => c.type !== 'NamesAccepted' && c.type !== 'Established');

  const storedVersions = [...(crd.status?.storedVersions ?? [])];
  const storage = crdStorageVersion(crd);
  if (storage && !storedVersions.includes(storage)) storedVersions.push(storage);
  return { conditions: [namesAccepted, established, ...otherConditions], acceptedNames: accepted, storedVersions };
}

/** The version's scale subresource paths, if it has one. */
export function crdScaleSubresource(crd: CustomResourceDefinition, version: string): CustomResourceSubresourceScale | undefined {
  return crdVersion(crd, version)?.subresources?.scale;
}

function pathParts(jsonPath: string): string[] {
  return jsonPath.replace(/^\./, '').split('.').filter((p) => p.length > 0);
}

/** The value at a simple JSON path (`.spec.replicas`), or undefined. */
export function getJSONPathValue(obj: unknown, jsonPath: string): unknown {
  let cur: unknown = obj;
  for (const part of pathParts(jsonPath)) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Sets the value at a simple JSON path, creating the objects on the way. */
export function setJSONPathValue(obj: Record<string, unknown>, jsonPath: string, value: unknown): void {
  const parts = pathParts(jsonPath);
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

export interface CustomResourceScale {
  /** undefined when the object has nothing at specReplicasPath (GET /scale is then an error upstream). */
  specReplicas: number | undefined;
  /** 0 when nothing is at statusReplicasPath. */
  statusReplicas: number;
  /** '' when no labelSelectorPath or nothing is there. */
  selector: string;
}

/** Reads what an autoscaling/v1 Scale of the custom resource shows. */
export function readCustomResourceScale(scale: CustomResourceSubresourceScale, obj: unknown): CustomResourceScale {
  const spec = getJSONPathValue(obj, scale.specReplicasPath);
  const status = getJSONPathValue(obj, scale.statusReplicasPath);
  const selector = scale.labelSelectorPath ? getJSONPathValue(obj, scale.labelSelectorPath) : undefined;
  return {
    specReplicas: typeof spec === 'number' ? spec : undefined,
    statusReplicas: typeof status === 'number' ? status : 0,
    selector: typeof selector === 'string' ? selector : '',
  };
}

/** Writes a Scale's spec.replicas back into the custom resource. */
export function writeCustomResourceReplicas(scale: CustomResourceSubresourceScale, obj: Record<string, unknown>, replicas: number): void {
  setJSONPathValue(obj, scale.specReplicasPath, replicas);
}
