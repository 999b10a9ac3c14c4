// label and field selectors of a list or watch request, as one predicate.
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { fieldsOf, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../api/selectors/index.ts';
import { errors } from '../errors.ts';

export interface ObjectFilter {
  /** true when nothing is filtered (lists can skip parsing). */
  everything: boolean;
  matches(obj: KubeObject): boolean;
}

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
  return {
    everything: false,
    matches(obj) {
      if (labels && !matchesLabels(labels, obj.metadata?.labels ?? {})) return false;
      if (fields && !matchesFields(fields, fieldsOf(r, obj))) return false;
      return true;
    },
  };
}
