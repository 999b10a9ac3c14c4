// Which field labels each kind can be selected by, and their values on an
// object: kube-apiserver's field label conversion functions (which labels a
// request may name, and aliases such as spec.host) over the registries'
// ToSelectableFields (what they read from the object).
// https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/#supported-fields
import type { KubeObject, ResourceInfo } from '../types.ts';
import { JsonPathError, evalJsonPath } from '../jsonpath.ts';
import { SelectorError } from './errors.ts';
import type { FieldSelector } from './fields.ts';

/** What fieldsOf/checkFieldSelector need beyond the resource: a CRD version's `selectableFields` jsonPaths. */
export interface FieldLabelOptions {
  selectableFields?: string[];
}

/** Set (non-enumerable) on fieldsOf's result: how this kind words a label it does not support. */
const UNSUPPORTED_FIELD = Symbol('unsupportedField');
type Unsupported = (label: string) => string;

const notSupported: Unsupported = (label) => `field label not supported: ${label}`;
/** runtime.DefaultMetaV1FieldSelectorConversion's wording, for kinds that register no conversion of their own. */
const notKnown: Unsupported = (label) => `"${label}" is not a known field selector: only "metadata.name", "metadata.namespace"`;

interface KindFields {
  /** Accepted label → the selectable field it reads (usually itself). */
  labels: Record<string, string>;
  unsupported: Unsupported;
}

const same = (...labels: string[]) => Object.fromEntries(labels.map((l) => [l, l]));
const META = ['metadata.name', 'metadata.namespace'];
const EVENT = ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
  'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'];

const KINDS: Record<string, KindFields> = {
  '/Pod': {
    labels: { ...same(...META, 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName',
      'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'), 'spec.host': 'spec.nodeName' },
    unsupported: notSupported,
  },
  '/Node': { labels: same('metadata.name', 'spec.unschedulable'), unsupported: notSupported },
  '/ReplicationController': { labels: same(...META, 'status.replicas'), unsupported: notSupported },
  '/Event': { labels: same(...META, ...EVENT), unsupported: notSupported },
  '/Namespace': { labels: same('status.phase', 'metadata.name'), unsupported: notSupported },
  '/Secret': { labels: same('type', ...META), unsupported: notSupported },
  '/Service': { labels: same(...META, 'spec.clusterIP', 'spec.type'), unsupported: notSupported },
  'batch/Job': { labels: same(...META, 'status.successful'), unsupported: notSupported },
  'certificates.k8s.io/CertificateSigningRequest': { labels: same('metadata.name', 'spec.signerName'), unsupported: notSupported },
  // events.k8s.io/v1 renamed involvedObject to regarding and reportingComponent to reportingController.
  'events.k8s.io/Event': {
    labels: {
      ...same(...META, 'reason', 'type'), reportingController: 'reportingComponent',
      ...Object.fromEntries(['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']
        .map((f) => [`regarding.${f}`, `involvedObject.${f}`])),
    },
    unsupported: notSupported,
  },
};
const DEFAULT_KIND: KindFields = { labels: same(...META), unsupported: notKnown };

function kindFields(resource: ResourceInfo, opts: FieldLabelOptions): KindFields {
  if (!resource.custom) return KINDS[`${resource.group}/${resource.kind}`] ?? DEFAULT_KIND;
  const labels = same('metadata.name', ...(resource.namespaced ? ['metadata.namespace'] : []));
  for (const path of opts.selectableFields ?? []) {
    const label = path.replace(/^\./, '');
    labels[label] = `.${label}`;
  }
  return { labels, unsupported: notSupported };
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

function eventValues(ref: Record<string, unknown> | undefined, reason: unknown, reporting: unknown, sourceComponent: unknown, type: unknown) {
  const r = ref ?? {};
  return {
    'involvedObject.kind': str(r.kind),
    'involvedObject.namespace': str(r.namespace),
    'involvedObject.name': str(r.name),
    'involvedObject.uid': str(r.uid),
    'involvedObject.apiVersion': str(r.apiVersion),
    'involvedObject.resourceVersion': str(r.resourceVersion),
    'involvedObject.fieldPath': str(r.fieldPath),
    reason: str(reason),
    reportingComponent: str(reporting),
    source: str(sourceComponent) || str(reporting),
    type: str(type),
  };
}

/** ToSelectableFields: the values a kind's registry exposes for selection. */
function selectableValues(resource: ResourceInfo, obj: KubeObject): Record<string, string> {
  const meta = { 'metadata.name': str(obj.metadata?.name), 'metadata.namespace': str(obj.metadata?.namespace) };
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  switch (`${resource.group}/${resource.kind}`) {
    case '/Pod':
      return {
        ...meta,
        'spec.nodeName': str(spec.nodeName),
        'spec.restartPolicy': str(spec.restartPolicy),
        'spec.schedulerName': str(spec.schedulerName),
        'spec.serviceAccountName': str(spec.serviceAccountName),
        'spec.hostNetwork': String(spec.hostNetwork === true),
        'status.phase': str(status.phase),
        'status.podIP': str(status.podIPs?.[0]?.ip ?? status.podIP),
        'status.nominatedNodeName': str(status.nominatedNodeName),
      };
    case '/Node': return { ...meta, 'spec.unschedulable': String(spec.unschedulable === true) };
    case '/Namespace': return { ...meta, 'status.phase': str(status.phase) };
    case '/Secret': return { ...meta, type: str(obj.type) };
    case '/Service': return { ...meta, 'spec.clusterIP': str(spec.clusterIP), 'spec.type': str(spec.type) };
    case '/ReplicationController': return { ...meta, 'status.replicas': String(status.replicas ?? 0) };
    case 'batch/Job': return { ...meta, 'status.successful': String(status.succeeded ?? 0) };
    case 'certificates.k8s.io/CertificateSigningRequest': return { ...meta, 'spec.signerName': str(spec.signerName) };
    case '/Event':
      return { ...meta, ...eventValues(obj.involvedObject, obj.reason, obj.reportingComponent, obj.source?.component, obj.type) };
    case 'events.k8s.io/Event':
      return { ...meta, ...eventValues(obj.regarding, obj.reason, obj.reportingController, obj.deprecatedSource?.component, obj.type) };
    default:
      return meta;
  }
}

function customFieldValue(path: string, obj: KubeObject): string {
  let found: unknown[];
  try {
    found = evalJsonPath(path, obj);
  } catch (e) {
    // A selectable field the object cannot reach reads as empty, as a missing key does.
    if (e instanceof JsonPathError) return '';
    throw e;
  }
  const v = found[0];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/**
 * The object's selectable fields: one entry for every field label the kind accepts
 * (aliases such as pods' spec.host included), "" where the object leaves it unset.
 * matchesFields rejects labels that are not among them, worded as this kind's
 * conversion would.
 */
export function fieldsOf(resource: ResourceInfo, obj: KubeObject, opts: FieldLabelOptions = {}): Record<string, string> {
  const kind = kindFields(resource, opts);
  const values = selectableValues(resource, obj);
  const fields: Record<string, string> = {};
  for (const [label, source] of Object.entries(kind.labels)) {
    // A custom resource's selectableFields are read with their jsonPath (".spec.color").
    fields[label] = source.startsWith('.') ? customFieldValue(source, obj) : values[source] ?? '';
  }
  Object.defineProperty(fields, UNSUPPORTED_FIELD, { value: kind.unsupported, enumerable: false });
  return fields;
}

/** The message for a field label the fields do not include (Kubernetes' wording for their kind). */
export function unsupportedFieldMessage(fields: Record<string, string>, label: string): string {
  const word = (fields as { [UNSUPPORTED_FIELD]?: Unsupported })[UNSUPPORTED_FIELD] ?? notSupported;
  return word(label);
}

/**
 * Checks every field label against what the kind supports, before any object is read.
 * Throws SelectorError (400) with Kubernetes' wording, e.g. `field label not supported: foo`.
 */
export function checkFieldSelector(resource: ResourceInfo, sel: FieldSelector, opts: FieldLabelOptions = {}): FieldSelector {
  const kind = kindFields(resource, opts);
  for (const r of sel.requirements) {
    if (!Object.hasOwn(kind.labels, r.field)) throw new SelectorError(kind.unsupported(r.field));
  }
  return sel;
}
