// The csrapproving controller: approves kubelet client certificate requests on its own, as
// kube-controller-manager's does for kubelet TLS bootstrapping: a bootstrapper (a node join
// token) asking for its first node credentials, or a node renewing its own.
// https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/#approval
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.d.ts';
import { rfc3339 } from '../api/time.ts';
import { Controller } from '../client/controller.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import { KUBELET_CLIENT_SIGNER, hasCondition, nodeClientProblem, parseRequest } from './csr-node-client.ts';
import { cloneJson } from '../api/json-clone.ts';

export const definition: ControllerDefinition = { name: 'csrapproving', start: startCsrApproving };

const BOOTSTRAPPERS = 'system:bootstrappers';

/** Whether the requester may get this node's credentials without a human: a bootstrapper, or that node itself. */
export function requesterMayHave(csr: CertificateSigningRequest, commonName: string): boolean {
  const groups = csr.spec?.groups ?? [];
  if (groups.includes(BOOTSTRAPPERS)) return true; // kube's "nodeclient": first credentials of any node
  return groups.includes('system:nodes') && csr.spec?.username === commonName; // "selfnodeclient": renewal
}

function startCsrApproving(ctx: ControllerContext): RunningController {
  const csrs = ctx.informers.informerFor<CertificateSigningRequest>(R.certificatesigningrequests);
  const c = new Controller('csrapproving', [csrs], sync, 2, { log: ctx.log });

  async function sync(key: string): Promise<void> {
    const csr = csrs.get(key);
    if (!csr || csr.spec?.signerName !== KUBELET_CLIENT_SIGNER) return;
    if (hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied') || csr.status?.certificate) return;
    let req;
    try {
      req = await parseRequest(csr);
    } catch (e) {
      ctx.log(`csrapproving: ${csr.metadata?.name}: ${(e as Error).message}; leaving it for a human`);
      return;
    }
    if (nodeClientProblem(req, csr.spec.usages ?? []) || !requesterMayHave(csr, req.commonName)) return;
    const approved = cloneJson(csr);
    const now = rfc3339(new Date());
    approved.status = { ...approved.status, conditions: [...(approved.status?.conditions ?? []), {
      type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
      lastUpdateTime: now, lastTransitionTime: now,
    }] };
    try {
      await ctx.client.update(R.certificatesigningrequests, approved, { subresource: 'approval' });
    } catch (e) {
      if (isNotFound(e)) return;
      if (isConflict(e)) return; // the cache was behind: the newer version's event syncs again
      throw e;
    }
  }

  return c;
}
