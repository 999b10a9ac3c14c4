// Node IPAM (kube-controller-manager's nodeipam controller, RangeAllocator):
// gives every Node its own slice of the cluster's pod range in spec.podCIDR /
// spec.podCIDRs (a /24 per node out of 10.42.0.0/16 by default), never handing
// out a range another node holds, and taking it back when the node is deleted.
// When the range is exhausted the node gets a CIDRNotAvailable event and waits
// for a node to go away.
// https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/ (--cluster-cidr, --node-cidr-mask-size)
import type { Node } from 'kubernetes-types/core/v1.d.ts';
import { Controller } from '../client/controller.ts';
import { isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import { formatIpv4Cidr, type Ipv4Cidr, parseIpv4Cidr, subnet, subnetCount, subnetIndex } from '../network/cidr.ts';
import type { ControllerContext, ControllerDefinition } from './context.ts';

/** Which subnets of the cluster range are taken, and by which node. */
export class CidrSet {
  readonly cluster: Ipv4Cidr;
  readonly maskSize: number;
  private readonly owners = new Map<number, string>(); // subnet index -> node name
  private readonly count: number;
  private next = 0; // where the search for a free subnet starts (spreads reuse, like the RangeAllocator)

  constructor(clusterCidr: string, maskSize: number) {
    this.cluster = parseIpv4Cidr(clusterCidr);
    this.maskSize = maskSize;
    if (maskSize > 30) throw new Error(`node CIDR mask size /${maskSize} leaves no room for pods (at most /30)`);
    this.count = subnetCount(this.cluster, maskSize);
  }

  /** Marks cidr as node's; false when it is outside the range or another node holds it. */
  occupy(cidr: string, node: string): boolean {
    const index = this.indexOf(cidr);
    if (index === undefined) return false;
    const owner = this.owners.get(index);
    if (owner !== undefined && owner !== node) return false;
    this.owners.set(index, node);
    return true;
  }

  /** A free subnet for node, or undefined when the range is full. */
  allocate(node: string): string | undefined {
    for (let i = 0; i < this.count; i++) {
      const index = (this.next + i) % this.count;
      if (this.owners.has(index)) continue;
      this.owners.set(index, node);
      this.next = (index + 1) % this.count;
      return formatIpv4Cidr(subnet(this.cluster, this.maskSize, index));
    }
    return undefined;
  }

  /** Frees cidr if node holds it. */
  release(cidr: string, node: string): void {
    const index = this.indexOf(cidr);
    if (index !== undefined && this.owners.get(index) === node) this.owners.delete(index);
  }

  get used(): number {
    return this.owners.size;
  }

  private indexOf(cidr: string): number | undefined {
    let parsed: Ipv4Cidr;
    try {
      parsed = parseIpv4Cidr(cidr);
    } catch {
      return undefined; // an IPv6 or malformed range is not ours to track
    }
    return subnetIndex(this.cluster, this.maskSize, parsed);
  }
}

function podCidrsOf(node: Node): string[] {
  const list = node.spec?.podCIDRs ?? [];
  if (list.length) return list;
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

export function startNodeIpam(ctx: ControllerContext): Controller {
  const set = new CidrSet(ctx.options.clusterCidr, ctx.options.nodeCidrMaskSize);
  const recorder = ctx.recorder('node-ipam-controller');
  const nodes = ctx.informers.informerFor<Node>(R.nodes);
  let seeded = false;

  const sync = async (name: string): Promise<void> => {
    if (!seeded) {
      // Workers start after the cache is synced: every range already handed out is known before we allocate.
      for (const n of nodes.list()) for (const c of podCidrsOf(n)) set.occupy(c, n.metadata!.name!);
      seeded = true;
    }
    const node = nodes.get(name);
    if (!node || node.metadata?.deletionTimestamp) return;
    const existing = podCidrsOf(node);
    if (existing.length) {
      for (const c of existing) {
        if (!set.occupy(c, name)) ctx.log(`node-ipam: node ${name} has podCIDR ${c}, outside ${ctx.options.clusterCidr} or also held by another node`);
      }
      return;
    }
    const cidr = set.allocate(name);
    if (!cidr) {
      recorder.event(node, 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      ctx.log(`node-ipam: no free /${set.maskSize} left in ${ctx.options.clusterCidr} for node ${name}`);
      return; // retried when a node is deleted and frees its range
    }
    try {
      await ctx.client.patch(R.nodes, name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } }, { fieldManager: 'node-ipam-controller' });
    } catch (e) {
      set.release(cidr, name);
      if (isNotFound(e)) return;
      throw e;
    }
    recorder.event(node, 'Normal', 'CIDRAssignmentSucceeded', `Node ${name} was assigned podCIDR ${cidr}`);
  };

  const c = new Controller('node-ipam', [nodes], sync, 1);
  // Deleting a node frees its range; nodes waiting for one get another chance.
  c.watch(nodes, (obj) => {
    const n = obj as Node;
    if (nodes.get(n.metadata!.name!)) return [];
    for (const cidr of podCidrsOf(n)) set.release(cidr, n.metadata!.name!);
    return nodes.list().filter((o) => podCidrsOf(o).length === 0).map((o) => o.metadata!.name!);
  });
  return c;
}

export const definition: ControllerDefinition = {
  name: 'node-ipam',
  start: (ctx) => startNodeIpam(ctx),
};
