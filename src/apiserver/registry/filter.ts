// label and field selectors of a list or watch request, as one predicate.
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { fieldsOf, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../api/selectors/index.ts';
import { errors } from '../errors.ts';
import { storagePrefix } from './codec.ts';

export interface ObjectFilter {
  /** true when nothing is filtered (lists can skip parsing). */
  everything: boolean;
  matches(obj: KubeObject): boolean;
  /**
   * The answer from the object's storage key alone, when the selector asks only about
   * metadata.name and metadata.namespace (a controller watching one ConfigMap by name): then a
   * watch need not parse every other object of the kind to drop it.
   */
  matchesKey?(key: string): boolean;
}

const KEY_FIELDS = new Set(['metadata.name', 'metadata.namespace']);

export function buildFilter(r: ResourceInfo, labelSelector: string | null, fieldSelector: string | null): ObjectFilter {
  let labels: ReturnType<typeof parseLabelSelector> | undefined;
  let fields: ReturnType<typeof parseFieldSelector> | undefined;
  try {
    if (labelSelector) labels = parseLabelSelector(labelSelector);
    if (fieldSelector) fields = parseFieldSelector(fieldSelector);
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
  if (fields) {
    // Reject unsupported field labels up front, as Kubernetes does, by asking about an empty object.
    try {
      matchesFields(fields, fieldsOf(r, { metadata: {} }));
    } catch (e) {
      throw errors.badRequest((e as Error).message);
    }
  }
  if (!labels && !fields) return { everything: true, matches: () => true };
  const byKey = !labels && fields!.requirements.every((req) => KEY_FIELDS.has(req.field));
  const prefix = storagePrefix(r, '');
  return {
    everything: false,
    ...(byKey && {
      matchesKey(key: string) {
        // <prefix><namespace>/<name> for namespaced kinds, <prefix><name> otherwise.
        const rest = key.slice(prefix.length);
        const slash = r.namespaced ? rest.indexOf('/') : -1;
        const keyFields = { 'metadata.name': rest.slice(slash + 1), 'metadata.namespace': slash >= 0 ? rest.slice(0, slash) : '' };
        return matchesFields(fields!, keyFields);
      },
    }),
    matches(obj) {
      if (labels && !matchesLabels(labels, obj.metadata?.labels ?? {})) return false;
      if (fields && !matchesFields(fields, fieldsOf(r, obj))) return false;
      return true;
    },
  };
}
