// The csrsigning controller: issues approved requests of the built-in client signers with the
// cluster CA, as kube-controller-manager's does with --cluster-signing-{cert,key}-file:
// kubernetes.io/kube-apiserver-client-kubelet (node credentials) and kubernetes.io/kube-apiserver-client.
// A request the signer may not honour gets a Failed condition instead of a certificate.
// https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#signing
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.d.ts';
import { rfc3339 } from '../api/time.ts';
import { signCertificateRequest } from '../apiserver/pki.ts';
import { Controller } from '../client/controller.ts';
import { isConflict, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import {
  APISERVER_CLIENT_SIGNER, KUBELET_CLIENT_SIGNER, type ParsedRequest, clientUsagesProblem, hasCondition, nodeClientProblem, parseRequest,
} from './csr-node-client.ts';
import { cloneJson } from '../api/json-clone.ts';

export const definition: ControllerDefinition = { name: 'csrsigning', start: startCsrSigning };

/** kube-controller-manager's --cluster-signing-duration default: one year. */
export const SIGNING_DURATION_MS = 365 * 24 * 60 * 60 * 1000;
/** The shortest expirationSeconds a signer honours (10 minutes). */
const MIN_DURATION_MS = 600 * 1000;

const PROBLEMS: Record<string, (req: ParsedRequest, usages: readonly string[]) => string> = {
  [KUBELET_CLIENT_SIGNER]: nodeClientProblem,
  [APISERVER_CLIENT_SIGNER]: (req, usages) => (req.commonName ? clientUsagesProblem(usages) : 'subject common name is empty'),
};

/** The validity a request gets: what it asked for (expirationSeconds), between 10 minutes and the signing duration. */
export function validityFor(csr: CertificateSigningRequest): number {
  const asked = csr.spec?.expirationSeconds;
  if (typeof asked !== 'number') return SIGNING_DURATION_MS;
  return Math.min(SIGNING_DURATION_MS, Math.max(MIN_DURATION_MS, asked * 1000));
}

function startCsrSigning(ctx: ControllerContext): RunningController {
  const csrs = ctx.informers.informerFor<CertificateSigningRequest>(R.certificatesigningrequests);
  const c = new Controller('csrsigning', [csrs], sync, 2, { log: ctx.log });
  const ca = ctx.options.clusterSigning;
  if (!ca) ctx.log('csrsigning: no cluster signing CA configured; approved requests stay unsigned');

  async function sync(key: string): Promise<void> {
    const csr = csrs.get(key);
    if (!ca || !csr || !PROBLEMS[csr.spec?.signerName ?? '']) return;
    if (!hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied') || hasCondition(csr, 'Failed') || csr.status?.certificate) return;
    const next = cloneJson(csr);
    const usages = csr.spec.usages ?? [];
    let problem: string;
    let req: ParsedRequest | undefined;
    try {
      req = await parseRequest(csr);
      problem = PROBLEMS[csr.spec.signerName]!(req, usages);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem || !req) {
      const now = rfc3339(new Date());
      next.status = { ...next.status, conditions: [...(next.status?.conditions ?? []), {
        type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: `invalid certificate request: ${problem}`,
        lastUpdateTime: now, lastTransitionTime: now,
      }] };
    } else {
      const pem = await signCertificateRequest(ca, req.pem, { usages, validityMs: validityFor(csr) });
      next.status = { ...next.status, certificate: Buffer.from(pem).toString('base64') };
    }
    try {
      await ctx.client.updateStatus(R.certificatesigningrequests, next);
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // gone, or a newer version will sync again
      throw e;
    }
  }

  return c;
}
