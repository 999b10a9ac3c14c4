// The CertificateSigningRequest strategies of kube-apiserver (pkg/registry/certificates):
// who asked is stamped into spec on create, spec never changes afterwards, the approval
// subresource changes only the Approved/Denied conditions, the status subresource everything
// in status but those, and conditions get their defaults (status True) and timestamps.
// https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#request-signing-process
import type { KubeObject, ResourceInfo } from '../../api/types.ts';
import { rfc3339 } from '../../api/time.ts';
import { cloneJson } from '../../api/json-clone.ts';

interface Condition { type?: string; status?: string; lastUpdateTime?: string; lastTransitionTime?: string }
interface Requester { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }

export function isCsr(r: ResourceInfo): boolean {
  return r.group === 'certificates.k8s.io' && r.kind === 'CertificateSigningRequest';
}

const isApproval = (c: Condition) => c.type === 'Approved' || c.type === 'Denied';

/** spec.username/uid/groups/extra are the creator's, whatever the request body said. */
export function stampCsrRequester(csr: KubeObject, user: Requester): void {
  const spec = (csr.spec ??= {});
  spec.username = user.username;
  if (user.uid) spec.uid = user.uid;
  else delete spec.uid;
  spec.groups = [...user.groups];
  if (user.extra && Object.keys(user.extra).length > 0) spec.extra = cloneJson(user.extra);
  else delete spec.extra;
}

/**
 * `next` is what the generic update rules made of the request (`obj`) over `old`; returns the CSR
 * as stored: spec from old, and status merged according to the subresource.
 */
export function prepareCsrUpdate(next: KubeObject, obj: KubeObject, old: KubeObject, subresource: string, now = new Date()): KubeObject {
  const oldStatus = (old.status ?? {}) as { conditions?: Condition[]; certificate?: string };
  const asked = ((obj.status ?? {}) as { conditions?: Condition[] }).conditions ?? [];
  const result: KubeObject = { ...next, spec: old.spec };
  if (subresource === 'approval') {
    const conditions = [...(oldStatus.conditions ?? []).filter((c) => !isApproval(c)), ...asked.filter(isApproval)];
    result.status = { ...oldStatus, conditions: stampTimes(conditions, oldStatus.conditions ?? [], now) };
  } else if (subresource === 'status') {
    const status = { ...((next.status ?? {}) as object) } as { conditions?: Condition[] };
    const conditions = [...(oldStatus.conditions ?? []).filter(isApproval), ...(status.conditions ?? []).filter((c) => !isApproval(c))];
    status.conditions = stampTimes(conditions, oldStatus.conditions ?? [], now);
    result.status = status;
  }
  const conditions = (result.status as { conditions?: Condition[] } | undefined)?.conditions;
  if (conditions && conditions.length === 0) delete (result.status as { conditions?: Condition[] }).conditions;
  if (result.status && Object.keys(result.status).length === 0) delete result.status;
  return result;
}

function stampTimes(conditions: Condition[], before: Condition[], now: Date): Condition[] {
  const ts = rfc3339(now);
  return conditions.map((c) => {
    const prev = before.find((b) => b.type === c.type);
    const out = { ...c };
    out.status ||= 'True'; // certificates/v1 defaulting: a condition without a status is True
    out.lastUpdateTime ??= ts;
    if (!out.lastTransitionTime) out.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : ts;
    return out;
  });
}
