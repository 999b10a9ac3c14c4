// pods/binding (and the older /bindings): how a scheduler assigns a pod to a
// node. Sets spec.nodeName once and the PodScheduled condition, as kube-apiserver's
// BindingREST does.
import type { KubeObject } from '../../api/types.ts';
import { errors } from '../errors.ts';
import { decodeBody, readBody, sendJson } from '../http.ts';
import { decodeKv, encodeObject, storageKey } from '../registry/codec.ts';
import { rfc3339 } from '../../api/time.ts';
import { storeError } from '../registry/read.ts';
import type { ResourceCall } from './context.ts';

export async function handleBinding(call: ResourceCall): Promise<void> {
  const { info, parts } = call;
  const binding = decodeBody(await readBody(call.req), call.req.headers['content-type']) as KubeObject;
  call.requestObject = binding;
  if (!binding || typeof binding !== 'object') throw errors.badRequest('the body of the request must be a Binding');
  const podName = info.subresource === 'binding' ? info.name : binding.metadata?.name;
  if (!podName) throw errors.badRequest('a Binding needs metadata.name (the pod)');
  if (binding.metadata?.name && binding.metadata.name !== podName) {
    throw errors.badRequest(`the name of the object (${binding.metadata.name}) does not match the name on the URL (${podName})`);
  }
  const target = binding.target as { kind?: string; name?: string } | undefined;
  if (!target?.name) {
    throw errors.invalid('', 'Binding', podName, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  }
  if (target.kind && target.kind !== 'Node') {
    throw errors.invalid('', 'Binding', podName, [{ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
  }
  const podResource = parts.resources.find('', 'v1', 'pods')!;
  const key = storageKey(podResource, info.namespace, podName);
  const dryRun = info.query.getAll('dryRun').length > 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    const { kv } = await parts.store.get(key).catch(storeError);
    if (!kv) throw errors.notFound('', 'pods', podName);
    const pod = decodeKv(kv);
    if (pod.metadata?.deletionTimestamp) throw errors.conflict('', 'pods/binding', podName, 'pod is being deleted, cannot be assigned to a host');
    if (pod.spec?.nodeName) throw errors.conflict('', 'pods/binding', podName, `pod ${podName} is already assigned to node "${pod.spec.nodeName}"`);
    const uid = binding.metadata?.uid;
    if (uid && uid !== pod.metadata?.uid) throw errors.conflict('', 'pods/binding', podName, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata?.uid}`);
    pod.spec = { ...pod.spec, nodeName: target.name };
    const conditions = (pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(parts.now()) });
    pod.status = { ...(pod.status ?? {}), conditions };
    if (dryRun) break;
    const res = await parts.store.update(key, encodeObject(pod), kv.modRevision).catch(storeError);
    if (res.ok) break;
    if (attempt === 4) throw errors.conflict('', 'pods/binding', podName, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  sendJson(call.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
