// Removes everything the pod network put on a node: the VXLAN device (with its neighbour and FDB
// entries), the peer routes (protocol 83), the pod bridge, the masquerade table and the safety
// routes. Pods still attached to skiff0 lose their network; run it after they are gone.
import { currentRoutes, ROUTE_PROTOCOL } from './kernel-sync.ts';
import { BRIDGE_DEVICE, deleteLink } from './links.ts';
import { removeMasquerade } from './masquerade.ts';
import { netRunner } from './net-runner.ts';
import { VXLAN_DEVICE } from './peers.ts';
import { removeSafetyRoutes } from './safety-routes.ts';

/** What was removed, one line each. */
export async function teardownNetwork(opts: { netns?: string } = {}): Promise<string[]> {
  const r = netRunner(opts.netns);
  const removed: string[] = [];
  if (await deleteLink(r, VXLAN_DEVICE)) removed.push(`link ${VXLAN_DEVICE}`);
  const routes = await currentRoutes(r);
  if (routes.length) {
    await r.ip(['-4', 'route', 'flush', 'proto', ROUTE_PROTOCOL]);
    removed.push(...routes.map((x) => `route ${x.dst}`));
  }
  if (await deleteLink(r, BRIDGE_DEVICE)) removed.push(`link ${BRIDGE_DEVICE}`);
  if (await removeMasquerade(r)) removed.push('nft table ip skiff-nat');
  removed.push(...(await removeSafetyRoutes(r)).map((c) => `route unreachable ${c}`));
  return removed;
}
