// Makes the kernel's routes, neighbour entries and FDB entries for the peers equal to a PeerPlan:
// read what is there, delete what should not be, replace what is missing or different. Every
// route the pod network adds carries its own protocol number, so "ours" is `ip route show proto
// 83` and nothing else on the node is ever touched; the neighbour and FDB entries live on the
// VXLAN device, which is ours alone. Idempotent: a second run with the same plan changes nothing.
import type { NetRunner } from './net-runner.ts';
import { isNotFoundError } from './net-runner.ts';
import type { FdbSpec, NeighbourSpec, PeerPlan, RouteSpec } from './peers.ts';
import { VXLAN_DEVICE } from './peers.ts';

/** rtnetlink protocol of the pod network's routes (any number unused by /etc/iproute2/rt_protos; 'S'). */
export const ROUTE_PROTOCOL = '83';

interface IpRoute { dst: string; gateway?: string; dev?: string; flags?: string[] }
interface IpNeighbour { dst: string; lladdr?: string; state?: string[] }
interface BridgeFdb { mac: string; dst?: string; flags?: string[]; state?: string }

export interface SyncChanges {
  added: string[];
  removed: string[];
}

function routeLine(r: RouteSpec): string {
  return `route replace ${r.dst} via ${r.via} dev ${r.dev}${r.onlink ? ' onlink' : ''} proto ${ROUTE_PROTOCOL}`;
}

function sameRoute(have: IpRoute, want: RouteSpec): boolean {
  return have.gateway === want.via && have.dev === want.dev && (have.flags ?? []).includes('onlink') === want.onlink;
}

export async function currentRoutes(r: NetRunner): Promise<IpRoute[]> {
  return r.ipJson<IpRoute>(['-4', 'route', 'show', 'proto', ROUTE_PROTOCOL]);
}

async function deviceExists(r: NetRunner, dev: string): Promise<boolean> {
  try {
    await r.ip(['link', 'show', 'dev', dev]);
    return true;
  } catch (e) {
    if (isNotFoundError(e)) return false;
    throw e;
  }
}

export async function syncPeers(r: NetRunner, plan: Pick<PeerPlan, 'routes' | 'neighbours' | 'fdb'>): Promise<SyncChanges> {
  const changes: SyncChanges = { added: [], removed: [] };
  const ipLines: string[] = [];

  const wantRoutes = new Map(plan.routes.map((x) => [x.dst, x]));
  for (const have of await currentRoutes(r)) {
    const want = wantRoutes.get(have.dst);
    if (want && sameRoute(have, want)) wantRoutes.delete(have.dst);
    else if (!want) {
      ipLines.push(`route del ${have.dst} proto ${ROUTE_PROTOCOL}`);
      changes.removed.push(`route ${have.dst} via ${have.gateway ?? '?'}`);
    }
  }

  // With no VXLAN device there are no neighbour or FDB entries to keep (host-gw, or torn down).
  const vxlan = plan.neighbours.length > 0 || plan.fdb.length > 0 || await deviceExists(r, VXLAN_DEVICE);
  const wantNeighbours = new Map(plan.neighbours.map((x) => [x.ip, x]));
  const fdbLines: string[] = [];
  const wantFdb = new Map(plan.fdb.map((x) => [`${x.mac} ${x.dst}`, x]));
  if (vxlan) {
    for (const have of await r.ipJson<IpNeighbour>(['-4', 'neigh', 'show', 'dev', VXLAN_DEVICE, 'nud', 'permanent'])) {
      const want = wantNeighbours.get(have.dst);
      if (want && want.mac === have.lladdr?.toLowerCase()) wantNeighbours.delete(have.dst);
      else if (!want) {
        ipLines.push(`neigh del ${have.dst} dev ${VXLAN_DEVICE}`);
        changes.removed.push(`neighbour ${have.dst} lladdr ${have.lladdr ?? '?'}`);
      }
    }
    for (const have of await r.bridgeJson<BridgeFdb>(['fdb', 'show', 'dev', VXLAN_DEVICE])) {
      if (have.state !== 'permanent' || !have.dst) continue; // only the entries we add (nolearning: nothing else is there)
      const key = `${have.mac.toLowerCase()} ${have.dst}`;
      if (wantFdb.has(key)) wantFdb.delete(key);
      else {
        // Deleted before the additions run: a MAC whose underlay IP changed is first removed, then added back.
        fdbLines.push(`fdb del ${have.mac} dev ${VXLAN_DEVICE} dst ${have.dst} self`);
        changes.removed.push(`fdb ${have.mac} dst ${have.dst}`);
      }
    }
  }

  for (const x of wantRoutes.values()) {
    ipLines.push(routeLine(x));
    changes.added.push(`route ${x.dst} via ${x.via} dev ${x.dev}`);
  }
  for (const x of wantNeighbours.values()) {
    ipLines.push(neighbourLine(x));
    changes.added.push(`neighbour ${x.ip} lladdr ${x.mac}`);
  }
  for (const x of wantFdb.values()) {
    fdbLines.push(fdbLine(x));
    changes.added.push(`fdb ${x.mac} dst ${x.dst}`);
  }
  // FDB first: by the time a route sends packets to a peer's VTEP, the kernel knows where the VTEP is.
  await r.bridgeBatch(fdbLines);
  await r.ipBatch(ipLines);
  return changes;
}

function neighbourLine(n: NeighbourSpec): string {
  return `neigh replace ${n.ip} lladdr ${n.mac} dev ${VXLAN_DEVICE} nud permanent`;
}

function fdbLine(f: FdbSpec): string {
  return `fdb append ${f.mac} dev ${VXLAN_DEVICE} dst ${f.dst} self permanent`;
}
