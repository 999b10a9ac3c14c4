// The errors apply reports, shaped so the server can answer exactly as
// kube-apiserver does (see k8s.io/apimachinery managedfields conflict.go).
import type { StatusCause } from '../types.ts';

export interface ApplyConflict {
  /** The manager as kube-apiserver prints it, e.g. `"kubectl-client-side-apply" using apps/v1`. */
  manager: string;
  /** The field in Kubernetes' path wording, e.g. `.spec.replicas`. */
  field: string;
}

/** A metav1.Status as JSON. */
export interface ApplyStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason?: string;
  details?: { causes: StatusCause[] };
  code: number;
}

/** 409 Conflict: the applier changes fields other managers own (retry with force to take them). */
export class ApplyConflictError extends Error {
  override name = 'ApplyConflictError';
  readonly code = 409;
  readonly conflicts: ApplyConflict[];
  readonly causes: StatusCause[];

  constructor(conflicts: ApplyConflict[]) {
    super(conflictMessage(conflicts));
    this.conflicts = conflicts;
    this.causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: c.field }));
  }

  toStatus(): ApplyStatus {
    return {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: this.message, reason: 'Conflict', details: { causes: this.causes }, code: 409,
    };
  }
}

function conflictMessage(conflicts: ApplyConflict[]): string {
  if (conflicts.length === 1) {
    return `Apply failed with 1 conflict: conflict with ${conflicts[0].manager}: ${conflicts[0].field}`;
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const lines: string[] = [];
  for (const manager of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${manager}:`);
    for (const field of byManager.get(manager)!) lines.push(`- ${field}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/**
 * Any other apply failure, with the status code kube-apiserver answers:
 * 400 for a malformed request (managedFields set, wrong version), 500 for an
 * applied configuration that can't be merged (duplicate or missing list keys).
 */
export class ApplyError extends Error {
  override name = 'ApplyError';
  readonly code: 400 | 500;
  /** metav1.StatusReason: kube-apiserver sends plain errors with the empty (unknown) reason. */
  readonly reason: 'BadRequest' | '';

  constructor(code: 400 | 500, message: string) {
    super(message);
    this.code = code;
    this.reason = code === 400 ? 'BadRequest' : '';
  }

  toStatus(): ApplyStatus {
    const status: ApplyStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, code: this.code };
    if (this.reason) status.reason = this.reason;
    return status;
  }
}
