// NodePorts: two pods cannot bind the same hostPort/protocol on a node; 0.0.0.0 (the default
// hostIP) conflicts with every address. https://kubernetes.io/docs/concepts/configuration/overview/#services
import { type FilterPlugin, unschedulable } from '../framework.ts';
import type { NodeInfo } from '../snapshot.ts';
import type { HostPort } from '../pod-info.ts';

export const NAME = 'NodePorts';
export const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
const ALL_IPS = '0.0.0.0';

/** HostPortInfo.CheckConflict. */
export function portConflicts(node: NodeInfo, want: HostPort): boolean {
  const ips = node.usedPorts.get(`${want.protocol}/${want.port}`);
  if (!ips) return false;
  if (want.ip === ALL_IPS) return ips.size > 0;
  return ips.has(ALL_IPS) || ips.has(want.ip);
}

export const nodePorts: FilterPlugin = {
  name: NAME,
  preFilter: (cycle) => (cycle.podInfo.hostPorts.length > 0 ? undefined : 'skip'),
  filter(cycle, node) {
    if (node.usedPorts.size === 0) return null;
    for (const p of cycle.podInfo.hostPorts) if (portConflicts(node, p)) return unschedulable(NAME, REASON_PORTS);
    return null;
  },
};
