// NodeName: a pod that names its node (spec.nodeName) only fits that node.
import { type FilterPlugin, unresolvable } from '../framework.ts';

export const NAME = 'NodeName';
export const REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: NAME,
  preFilter: (cycle) => (cycle.pod.spec?.nodeName ? undefined : 'skip'),
  filter(cycle, node) {
    return cycle.pod.spec?.nodeName === node.name ? null : unresolvable(NAME, REASON_NODE_NAME);
  },
};
