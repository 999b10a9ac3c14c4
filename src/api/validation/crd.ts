// CustomResourceDefinition spec validation (group, names, scope, versions), without the
// structural-schema checks, which live with the schema code.
// https://github.com/kubernetes/apiextensions-apiserver/blob/master/pkg/apis/apiextensions/validation/validation.go
import type { KubeObject, StatusCause } from '../types.ts';
import { child, index, invalid, isObject, notSupported, raw, required } from './errors.ts';
import { isDNS1035Label, isDNS1123Subdomain } from './names.ts';

type Obj = Record<string, unknown>;

/** metadata.name must be <plural>.<group>, on top of being a DNS subdomain. */
export function crdNameFn(crd: KubeObject) {
  const spec = (isObject(crd.spec) ? crd.spec : {}) as Obj;
  const names = (isObject(spec.names) ? spec.names : {}) as Obj;
  const requiredName = `${names.plural ?? ''}.${spec.group ?? ''}`;
  return (name: string, prefix: boolean): string[] => {
    const errs = isDNS1123Subdomain(name);
    if (!prefix && name !== requiredName) errs.push('must be spec.names.plural+"."+spec.group');
    return errs;
  };
}

function versionsValue(versions: Obj[]) {
  return raw(`[]apiextensions.CustomResourceDefinitionVersion{${versions.map((v) => `apiextensions.CustomResourceDefinitionVersion{Name:${JSON.stringify(String(v?.name ?? ''))}, Served:${v?.served === true}, Storage:${v?.storage === true}, ...}`).join(', ')}}`);
}

export function validateCustomResourceDefinition(crd: KubeObject, old?: KubeObject): StatusCause[] {
  const spec = (isObject(crd.spec) ? crd.spec : {}) as Obj;
  const out: StatusCause[] = [];
  const group = typeof spec.group === 'string' ? spec.group : '';
  if (!group) out.push(required('spec.group'));
  else if (isDNS1123Subdomain(group).length) out.push(invalid('spec.group', group, isDNS1123Subdomain(group).join(',')));
  else if (group.split('.').length < 2) out.push(invalid('spec.group', group, 'should be a domain with at least one dot'));

  const scope = spec.scope;
  if (!scope) out.push(required('spec.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespaced') out.push(notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));

  const versions = Array.isArray(spec.versions) ? (spec.versions as Obj[]) : [];
  if (versions.length === 0) out.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  const seen = new Set<string>();
  let unique = true;
  let storage = 0;
  versions.forEach((v, i) => {
    const p = index('spec.versions', i);
    const name = String(v?.name ?? '');
    if (seen.has(name)) unique = false;
    seen.add(name);
    if (v?.storage === true) storage++;
    const errs = isDNS1035Label(name);
    if (errs.length) out.push(invalid(child(p, 'name'), name, errs.join(',')));
    const schema = (v?.schema as Obj | undefined)?.openAPIV3Schema;
    if (!isObject(schema)) out.push(required(child(p, 'schema', 'openAPIV3Schema')));
    const sub = v?.subresources as Obj | undefined;
    const scale = sub?.scale as Obj | undefined;
    if (isObject(scale)) {
      if (!scale.specReplicasPath) out.push(required(child(p, 'subresources', 'scale', 'specReplicasPath')));
      if (!scale.statusReplicasPath) out.push(required(child(p, 'subresources', 'scale', 'statusReplicasPath')));
    }
  });
  if (versions.length && !unique) out.push(invalid('spec.versions', versionsValue(versions), 'must contain unique version names'));
  if (versions.length && storage !== 1) out.push(invalid('spec.versions', versionsValue(versions), 'must have exactly one version marked as storage version'));

  const names = (isObject(spec.names) ? spec.names : {}) as Obj;
  for (const f of ['plural', 'singular', 'kind', 'listKind']) {
    if (!names[f]) out.push(required(`spec.names.${f}`));
  }
  const dns1035 = (f: string, value: unknown, mixedCase: boolean) => {
    if (typeof value !== 'string' || !value) return;
    const errs = isDNS1035Label(mixedCase ? value.toLowerCase() : value);
    if (errs.length) out.push(invalid(f, value, (mixedCase ? 'may have mixed case, but should otherwise match: ' : '') + errs.join(',')));
  };
  dns1035('spec.names.plural', names.plural, false);
  dns1035('spec.names.singular', names.singular, false);
  dns1035('spec.names.kind', names.kind, true);
  dns1035('spec.names.listKind', names.listKind, true);
  (Array.isArray(names.shortNames) ? names.shortNames : []).forEach((s: unknown, i: number) => dns1035(index('spec.names.shortNames', i), s, false));
  (Array.isArray(names.categories) ? names.categories : []).forEach((s: unknown, i: number) => dns1035(index('spec.names.categories', i), s, false));
  if (names.kind && names.kind === names.listKind) out.push(invalid('spec.names.listKind', names.listKind, 'kind and listKind may not be the same'));

  const conv = spec.conversion as Obj | undefined;
  if (isObject(conv)) {
    if (conv.strategy !== 'None' && conv.strategy !== 'Webhook') out.push(notSupported('spec.conversion.strategy', conv.strategy ?? '', ['None', 'Webhook']));
    if (conv.strategy === 'Webhook' && !isObject(conv.webhook)) out.push(required('spec.conversion.webhook', 'required when strategy is set to Webhook'));
  }

  if (old) {
    const o = (isObject(old.spec) ? old.spec : {}) as Obj;
    if (o.group !== spec.group) out.push(invalid('spec.group', group, 'field is immutable'));
    if (o.scope !== spec.scope) out.push(invalid('spec.scope', scope ?? '', 'field is immutable'));
    const oldNames = (isObject(o.names) ? o.names : {}) as Obj;
    if (oldNames.plural !== names.plural) out.push(invalid('spec.names.plural', names.plural ?? '', 'field is immutable'));
    // Skiff establishes CRDs at once, so the established-only rules always apply.
    if (oldNames.kind !== names.kind) out.push(invalid('spec.names.kind', names.kind ?? '', 'field is immutable'));
    const stored = ((old.status as Obj | undefined)?.storedVersions ?? []) as string[];
    stored.forEach((v, i) => {
      if (!seen.has(v)) {
        out.push(invalid(index('status.storedVersions', i), v, `missing from spec.versions; ${v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in ${v} and removes ${v} from status.storedVersions`));
      }
    });
  }
  return out;
}
