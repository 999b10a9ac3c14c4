// What one node tells the others about its pod network, on its own Node object, under flannel's
// annotation names (its kube subnet manager): the backend type, the backend's data (for VXLAN the
// VNI and the VTEP's MAC address) and the underlay ("public") IP the others reach it at. Its lease
// is the Node's spec.podCIDR, handed out by the node-ipam controller.
// https://github.com/flannel-io/flannel/blob/master/Documentation/kubernetes.md
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { contains, formatIpv4, type Ipv4Cidr, parseIpv4, parseIpv4Cidr } from './cidr.ts';

export type Backend = 'vxlan' | 'host-gw';
export const BACKENDS: readonly Backend[] = ['vxlan', 'host-gw'];

const PREFIX = 'flannel.alpha.coreos.com';
export const BACKEND_TYPE_ANNOTATION = `${PREFIX}/backend-type`;
export const BACKEND_DATA_ANNOTATION = `${PREFIX}/backend-data`;
export const PUBLIC_IP_ANNOTATION = `${PREFIX}/public-ip`;
export const SUBNET_MANAGER_ANNOTATION = `${PREFIX}/kube-subnet-manager`;

/** flannel's VXLAN defaults: VNI 1 on the Linux kernel's (pre-IANA) VXLAN port 8472. */
export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50;

export function isBackend(s: string): s is Backend {
  return (BACKENDS as readonly string[]).includes(s);
}

/** The annotations a node publishes for its backend. host-gw has no backend data (flannel writes "null"). */
export function backendAnnotations(backend: Backend, publicIp: string, vtepMac?: string): Record<string, string> {
  const data = backend === 'vxlan' ? JSON.stringify({ VNI: VXLAN_VNI, VtepMAC: vtepMac }) : 'null';
  return {
    [BACKEND_TYPE_ANNOTATION]: backend,
    [BACKEND_DATA_ANNOTATION]: data,
    [PUBLIC_IP_ANNOTATION]: publicIp,
    [SUBNET_MANAGER_ANNOTATION]: 'true',
  };
}

/** A node whose network the others can program routes to. */
export interface NodeNetwork {
  name: string;
  podCidr: Ipv4Cidr;
  /** spec.podCIDR as written. */
  podCidrText: string;
  backend: Backend;
  publicIp: string;
  /** VXLAN only. */
  vtepMac?: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The network a Node announces, or why it cannot be routed to (yet). */
export function nodeNetwork(node: Node, clusterCidr: Ipv4Cidr): NodeNetwork | { name: string; problem: string } {
  const name = node.metadata?.name ?? '';
  const a = node.metadata?.annotations ?? {};
  const podCidrText = node.spec?.podCIDR ?? '';
  if (!podCidrText) return { name, problem: 'has no spec.podCIDR yet' };
  let podCidr: Ipv4Cidr;
  try {
    podCidr = parseIpv4Cidr(podCidrText);
  } catch (e) {
    return { name, problem: `has an unusable spec.podCIDR: ${(e as Error).message}` };
  }
  if (!contains(clusterCidr, podCidr.base) || podCidr.prefix < clusterCidr.prefix) {
    return { name, problem: `has spec.podCIDR ${podCidrText} outside the cluster range ${formatIpv4(clusterCidr.base)}/${clusterCidr.prefix}` };
  }
  const backend = a[BACKEND_TYPE_ANNOTATION] ?? '';
  if (!backend) return { name, problem: `has not published its network yet (no ${BACKEND_TYPE_ANNOTATION} annotation)` };
  if (!isBackend(backend)) return { name, problem: `uses backend "${backend}", which Skiff does not know` };
  const publicIp = a[PUBLIC_IP_ANNOTATION] ?? '';
  try {
    parseIpv4(publicIp);
  } catch {
    return { name, problem: `has no usable ${PUBLIC_IP_ANNOTATION} annotation ("${publicIp}")` };
  }
  if (backend === 'host-gw') return { name, podCidr, podCidrText, backend, publicIp };
  let data: { VtepMAC?: unknown; VNI?: unknown } | null;
  try {
    data = JSON.parse(a[BACKEND_DATA_ANNOTATION] ?? 'null') as typeof data;
  } catch {
    return { name, problem: `has a ${BACKEND_DATA_ANNOTATION} annotation that is not JSON` };
  }
  const mac = typeof data?.VtepMAC === 'string' ? data.VtepMAC.toLowerCase() : '';
  if (!MAC.test(mac)) return { name, problem: `has no VtepMAC in its ${BACKEND_DATA_ANNOTATION} annotation` };
  if (data?.VNI !== undefined && data.VNI !== VXLAN_VNI) return { name, problem: `uses VXLAN VNI ${String(data.VNI)}, this node ${VXLAN_VNI}` };
  return { name, podCidr, podCidrText, backend, publicIp, vtepMac: mac };
}

/** The lease's first address (the network address): the VXLAN device's address and the next hop peers route to, as flannel does. */
export function vtepAddress(podCidr: Ipv4Cidr): string {
  return formatIpv4(podCidr.base);
}

/** The pod bridge's address: the lease's .1, host-local's default gateway. */
export function gatewayAddress(podCidr: Ipv4Cidr): string {
  return formatIpv4(podCidr.base + 1);
}
