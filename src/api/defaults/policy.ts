// Defaults of policy/v1 PodDisruptionBudget. The API has no spec defaults; a new budget starts
// with the zero status kube-apiserver's strategy gives it (its counters are not omitempty, so
// `kubectl get pdb -o yaml` shows them as 0 until the disruption controller writes).
import type { KubeObject } from '../types.ts';

const COUNTERS = ['currentHealthy', 'desiredHealthy', 'disruptionsAllowed', 'expectedPods'] as const;

export function defaultPodDisruptionBudget(pdb: KubeObject): void {
  if (!pdb.metadata?.resourceVersion && (pdb.status === undefined || pdb.status === null)) pdb.status = {};
  const status = pdb.status as Record<string, unknown> | undefined;
  if (!status || typeof status !== 'object') return;
  for (const k of COUNTERS) if (status[k] === undefined || status[k] === null) status[k] = 0;
}
