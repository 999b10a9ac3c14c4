// NodeUnschedulable: cordoned nodes (spec.unschedulable) take no new pods, unless the pod tolerates
// the node.kubernetes.io/unschedulable:NoSchedule taint.
// https://kubernetes.io/docs/concepts/architecture/nodes/#manual-node-administration
import type { Taint } from 'kubernetes-types/core/v1.d.ts';
import { type FilterPlugin, unresolvable } from '../framework.ts';
import { UNSCHEDULABLE } from '../node-table.ts';
import { tolerationsTolerateTaint } from './taint-toleration.ts';

export const NAME = 'NodeUnschedulable';
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export const nodeUnschedulable: FilterPlugin = {
  name: NAME,
  filter(cycle, _node, at) {
    if ((cycle.snapshot.table.flags[at] & UNSCHEDULABLE) === 0) return null;
    if (tolerationsTolerateTaint(cycle.pod.spec?.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return unresolvable(NAME, REASON_UNSCHEDULABLE);
  },
};
