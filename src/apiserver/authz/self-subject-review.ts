// authentication.k8s.io/v1 SelfSubjectReview: "who am I" as the server sees the caller
// (`kubectl auth whoami`). Nothing is stored: the answer is the authenticated user.
// https://kubernetes.io/docs/reference/access-authn-authz/authentication/#self-subject-review
import { readBody } from '../http.ts';
import type { ResourceCall } from '../handlers/context.ts';
import { respondObject } from '../handlers/resource.ts';
import { ANONYMOUS } from '../auth.ts';

export async function handleSelfSubjectReview(call: ResourceCall): Promise<void> {
  await readBody(call.req); // the request carries nothing the answer depends on
  const user = call.user ?? ANONYMOUS;
  const userInfo: Record<string, unknown> = { username: user.username };
  if (user.uid) userInfo.uid = user.uid;
  if (user.groups.length > 0) userInfo.groups = user.groups;
  if (user.extra && Object.keys(user.extra).length > 0) userInfo.extra = user.extra;
  respondObject(call, 201, {
    kind: 'SelfSubjectReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {},
    status: { userInfo },
  });
}
