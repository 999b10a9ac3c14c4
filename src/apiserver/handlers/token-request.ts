// serviceaccounts/token: issues a bound service account token (authentication.k8s.io/v1
// TokenRequest), as kube-apiserver's TokenREST does; kubelet asks for one per projected
// serviceAccountToken volume source, `kubectl create token` for a person.
// https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/
import type { KubeObject } from '../../api/types.ts';
import { rfc3339 } from '../../api/time.ts';
import { errors } from '../errors.ts';
import { decodeBody, readBody, sendJson } from '../http.ts';
import { decodeKv, storageKey } from '../registry/codec.ts';
import { storeError } from '../registry/read.ts';
import type { BoundRef } from '../serviceaccount-tokens.ts';
import type { ResourceCall } from './context.ts';

const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

async function getCore(call: ResourceCall, plural: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  const r = call.parts.resources.find('', 'v1', plural)!;
  const { kv } = await call.parts.store.get(storageKey(r, namespace, name)).catch(storeError);
  return kv ? decodeKv(kv) : undefined;
}

export async function handleTokenRequest(call: ResourceCall): Promise<void> {
  const { info, parts } = call;
  const tokens = parts.serviceAccountTokens;
  if (!tokens) throw errors.notFoundPath();
  const body = decodeBody(await readBody(call.req), call.req.headers['content-type']) as KubeObject;
  call.requestObject = body;
  if (!body || typeof body !== 'object' || (body.kind && body.kind !== 'TokenRequest')) {
    throw errors.badRequest('the body of the request must be an authentication.k8s.io/v1 TokenRequest');
  }
  const saName = info.name;
  const namespace = info.namespace;
  if (body.metadata?.name && body.metadata.name !== saName) {
    throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${saName})`);
  }
  if (body.metadata?.namespace && body.metadata.namespace !== namespace) {
    throw errors.badRequest(`the namespace of the object (${body.metadata.namespace}) does not match the namespace on the URL (${namespace})`);
  }
  const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } };
  const expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  const invalid = (field: string, message: string) =>
    errors.invalid('authentication.k8s.io', 'TokenRequest', saName, [{ reason: 'FieldValueInvalid', field, message }]);
  if (!Number.isInteger(expirationSeconds)) throw invalid('spec.expirationSeconds', `Invalid value: ${JSON.stringify(expirationSeconds)}: must be an integer`);
  if (expirationSeconds < MIN_EXPIRATION_SECONDS) throw invalid('spec.expirationSeconds', `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`);
  if (expirationSeconds > MAX_EXPIRATION_SECONDS) throw invalid('spec.expirationSeconds', `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds`);
  const audiences = spec.audiences?.length ? spec.audiences : tokens.apiAudiences;

  const sa = await getCore(call, 'serviceaccounts', namespace, saName);
  if (!sa) throw errors.notFound('', 'serviceaccounts', saName);
  const serviceAccount: BoundRef = { name: saName, uid: sa.metadata!.uid! };

  let pod: BoundRef | undefined;
  let secret: BoundRef | undefined;
  let node: BoundRef | undefined;
  const ref = spec.boundObjectRef;
  if (ref) {
    const kind = ref.kind ?? '';
    if (kind !== 'Pod' && kind !== 'Secret') throw errors.badRequest(`cannot bind token to object of type ${kind}`);
    if (!ref.name) throw invalid('spec.boundObjectRef.name', 'Required value');
    const plural = kind === 'Pod' ? 'pods' : 'secrets';
    const obj = await getCore(call, plural, namespace, ref.name);
    if (!obj) throw errors.notFound('', plural, ref.name);
    if (ref.uid && ref.uid !== obj.metadata?.uid) {
      throw errors.conflict('', plural, ref.name,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    const bound: BoundRef = { name: ref.name, uid: obj.metadata!.uid! };
    if (kind === 'Pod') {
      if ((obj.spec?.serviceAccountName ?? 'default') !== saName) {
        throw errors.badRequest(`cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`);
      }
      pod = bound;
      // Tokens of scheduled pods name their node too (kube-apiserver's ServiceAccountTokenPodNodeInfo).
      const nodeName = obj.spec?.nodeName as string | undefined;
      const n = nodeName ? await getCore(call, 'nodes', '', nodeName) : undefined;
      if (n) node = { name: nodeName!, uid: n.metadata!.uid! };
    } else {
      secret = bound;
    }
  }

  const { token, claims } = tokens.issue({ namespace, serviceAccount, audiences, expirationSeconds, pod, secret, node }, parts.now());
  const out: KubeObject = {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: saName, namespace, creationTimestamp: rfc3339(new Date(claims.iat * 1000)) },
    spec: { audiences, expirationSeconds, boundObjectRef: ref ?? null },
    status: { token, expirationTimestamp: rfc3339(new Date(claims.exp * 1000)) },
  };
  call.responseObject = { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: out.metadata };
  sendJson(call.res, 201, out);
}
