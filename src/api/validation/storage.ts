// storage.k8s.io/v1 StorageClass (kube's ValidateStorageClass / ValidateStorageClassUpdate).
// https://kubernetes.io/docs/concepts/storage/storage-classes/
import type { KubeObject, StatusCause } from '../types.ts';
import { forbidden, index, invalid, invalidEach, isObject, notSupported, required, tooLong } from './errors.ts';
import { semanticEqual } from './meta.ts';
import { isQualifiedName } from './names.ts';

const PROVISIONER_MAX_LENGTH = 63;
const RECLAIM_POLICIES = ['Delete', 'Retain'];
const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];
const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_SIZE = 256 * 1024;

export function validateStorageClass(sc: KubeObject, old?: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const provisioner = typeof sc.provisioner === 'string' ? sc.provisioner : '';
  if (!provisioner) out.push(required('provisioner'));
  else {
    if (provisioner.length > PROVISIONER_MAX_LENGTH) out.push(invalid('provisioner', provisioner, `must be no more than ${PROVISIONER_MAX_LENGTH} characters`));
    out.push(...invalidEach('provisioner', provisioner, isQualifiedName(provisioner.toLowerCase())));
  }
  const params = isObject(sc.parameters) ? sc.parameters : {};
  const keys = Object.keys(params);
  if (keys.length > MAX_PARAMETERS) out.push({ reason: 'FieldValueTooMany', field: 'parameters', message: `Too many: ${keys.length}: must have at most ${MAX_PARAMETERS} items` });
  let size = 0;
  for (const k of keys) {
    if (!k) out.push(invalid('parameters', k, 'field can not be empty.'));
    size += k.length + String(params[k] ?? '').length;
  }
  if (size > MAX_PARAMETERS_SIZE) out.push(tooLong('parameters', MAX_PARAMETERS_SIZE));
  if (!sc.reclaimPolicy) out.push(required('reclaimPolicy'));
  else if (!RECLAIM_POLICIES.includes(String(sc.reclaimPolicy))) out.push(notSupported('reclaimPolicy', sc.reclaimPolicy, RECLAIM_POLICIES));
  if (!sc.volumeBindingMode) out.push(required('volumeBindingMode'));
  else if (!BINDING_MODES.includes(String(sc.volumeBindingMode))) out.push(notSupported('volumeBindingMode', sc.volumeBindingMode, BINDING_MODES));
  (Array.isArray(sc.allowedTopologies) ? sc.allowedTopologies : []).forEach((t: unknown, i: number) => {
    const exprs = isObject(t) && Array.isArray(t.matchLabelExpressions) ? t.matchLabelExpressions : [];
    if (exprs.length === 0) out.push(required(`${index('allowedTopologies', i)}.matchLabelExpressions`, 'must have at least one label value requirement'));
  });
  if (old) {
    if (!semanticEqual(old.parameters ?? {}, sc.parameters ?? {})) out.push(forbidden('parameters', 'updates to parameters are forbidden.'));
    if (old.provisioner !== sc.provisioner) out.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
    if (old.reclaimPolicy !== sc.reclaimPolicy) out.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    if (old.volumeBindingMode !== sc.volumeBindingMode) out.push(invalid('volumeBindingMode', sc.volumeBindingMode ?? null, 'field is immutable'));
  }
  return out;
}
