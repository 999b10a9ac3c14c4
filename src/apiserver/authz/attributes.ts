// What a request asks to do, as kube-apiserver's authorizer.Attributes, and the 403 it gets
// when that is refused, worded as kube-apiserver words it so kubectl users read the same thing:
// `nodes "a" is forbidden: User "system:node:b" cannot patch resource "nodes" in API group ""
// at the cluster scope: <why>`.
import type { UserInfo } from '../auth.ts';
import { type ApiError, errors, qualifiedResource } from '../errors.ts';
import type { ResourceRequest } from '../request-info.ts';

export interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  /** From the URL; '' for collections. */
  name: string;
  /** A list or watch narrowed to one object by `fieldSelector=metadata.name=X` (how kubelet watches one secret). */
  singleName?: string;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

export const ALLOW: Decision = { allowed: true };
export const deny = (reason = ''): Decision => ({ allowed: false, reason });

export function attributesOf(info: ResourceRequest): Attributes {
  const a: Attributes = { verb: info.verb, group: info.group, resource: info.resource, subresource: info.subresource,
    namespace: info.namespace, name: info.name };
  if (info.verb === 'list' || info.verb === 'watch') {
    const m = /^metadata\.name==?([^,]+)$/.exec(info.query.get('fieldSelector') ?? '');
    if (m) a.singleName = m[1];
  }
  return a;
}

export function forbidden(user: UserInfo, a: Attributes, reason: string): ApiError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const why = `User "${user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}${reason ? `: ${reason}` : ''}`;
  const what = qualifiedResource(a.group, a.resource);
  return errors.forbidden(a.name ? `${what} "${a.name}" is forbidden: ${why}` : `${what} is forbidden: ${why}`,
    { name: a.name || undefined, group: a.group || undefined, kind: a.resource });
}
