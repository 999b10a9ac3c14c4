// No packet for a pod or service address may leave the node through its default route: an
// `unreachable` route for the cluster's pod range and service range catches whatever the more
// specific routes (the local bridge's lease, the peers' leases) do not. They carry the highest
// metric, so a route for the same prefix that someone else adds always wins over them.
import type { NetRunner } from './net-runner.ts';
import { formatIpv4Cidr, parseIpv4Cidr } from './cidr.ts';

export const SAFETY_ROUTE_METRIC = 4294967295;

interface IpRoute { type?: string; dst: string; metric?: number }

async function ours(r: NetRunner): Promise<IpRoute[]> {
  const all = await r.ipJson<IpRoute>(['-4', 'route', 'show', 'type', 'unreachable']);
  return all.filter((x) => x.metric === SAFETY_ROUTE_METRIC);
}

/** Adds the missing ones; returns what it added. */
export async function ensureSafetyRoutes(r: NetRunner, cidrs: string[]): Promise<string[]> {
  const present = new Set((await ours(r)).map((x) => x.dst));
  const added: string[] = [];
  for (const c of cidrs.map((x) => formatIpv4Cidr(parseIpv4Cidr(x)))) {
    if (present.has(c)) continue;
    await r.ip(['route', 'replace', 'unreachable', c, 'metric', String(SAFETY_ROUTE_METRIC)]);
    added.push(c);
  }
  return added;
}

/** Removes every unreachable route with the safety metric. */
export async function removeSafetyRoutes(r: NetRunner): Promise<string[]> {
  const removed: string[] = [];
  for (const x of await ours(r)) {
    await r.ip(['route', 'del', 'unreachable', x.dst, 'metric', String(SAFETY_ROUTE_METRIC)]);
    removed.push(x.dst);
  }
  return removed;
}
