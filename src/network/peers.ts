// What this node's kernel should hold to reach every other node's pods: a pure function from the
// Node objects to routes, neighbour entries and FDB entries, which the reconciler then makes true.
// VXLAN (flannel's vxlan backend): "podCIDR via <peer .0> dev skiff.1 onlink", the peer's .0
// resolving to its VTEP MAC by a permanent neighbour entry, and the MAC to its underlay IP by an FDB
// entry. host-gw: "podCIDR via <peer underlay IP>", which needs the peers on the same L2 segment.
// https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import type { Ipv4Cidr } from './cidr.ts';
import { type Backend, nodeNetwork, type NodeNetwork, vtepAddress } from './node-network.ts';

export const VXLAN_DEVICE = 'skiff.1';

export interface RouteSpec {
  dst: string;
  via: string;
  dev: string;
  onlink: boolean;
}

export interface NeighbourSpec {
  ip: string;
  mac: string;
}

export interface FdbSpec {
  mac: string;
  dst: string;
}

export interface PeerPlan {
  routes: RouteSpec[];
  neighbours: NeighbourSpec[];
  fdb: FdbSpec[];
  /** The peers programmed. */
  peers: NodeNetwork[];
  /** Nodes left out, and why (no lease yet, not published, other backend, conflicting lease). */
  skipped: { name: string; problem: string }[];
}

export interface PlanInput {
  self: string;
  backend: Backend;
  clusterCidr: Ipv4Cidr;
  /** This node's lease; a peer claiming the same one is left out. */
  ownPodCidr: string;
  /** host-gw: the underlay device the peers' addresses are on. */
  underlayDev: string;
}

export function planPeers(nodes: readonly Node[], input: PlanInput): PeerPlan {
  const plan: PeerPlan = { routes: [], neighbours: [], fdb: [], peers: [], skipped: [] };
  const claimed = new Map<string, string>([[input.ownPodCidr, input.self]]);
  // Sorted by name, so when two nodes claim one lease the same one wins on every node.
  const sorted = [...nodes].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const node of sorted) {
    if (node.metadata?.name === input.self) continue;
    const net = nodeNetwork(node, input.clusterCidr);
    if ('problem' in net) {
      plan.skipped.push(net);
      continue;
    }
    if (net.backend !== input.backend) {
      plan.skipped.push({ name: net.name, problem: `uses backend ${net.backend}, this node ${input.backend}` });
      continue;
    }
    const owner = claimed.get(net.podCidrText);
    if (owner !== undefined) {
      plan.skipped.push({ name: net.name, problem: `claims podCIDR ${net.podCidrText}, which node ${owner} holds` });
      continue;
    }
    claimed.set(net.podCidrText, net.name);
    plan.peers.push(net);
    if (input.backend === 'host-gw') {
      plan.routes.push({ dst: net.podCidrText, via: net.publicIp, dev: input.underlayDev, onlink: false });
      continue;
    }
    const vtep = vtepAddress(net.podCidr);
    plan.routes.push({ dst: net.podCidrText, via: vtep, dev: VXLAN_DEVICE, onlink: true });
    plan.neighbours.push({ ip: vtep, mac: net.vtepMac! });
    plan.fdb.push({ mac: net.vtepMac!, dst: net.publicIp });
  }
  return plan;
}
