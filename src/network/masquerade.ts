// Pods talk to each other with their own addresses; traffic from a pod to anything outside the
// cluster's pod range leaves with the node's address (masquerade), as flannel's --ip-masq does.
// The rule lives in a table of its own, `ip skiff-nat`, replaced atomically when it is not
// exactly what it should be, so nothing else in the node's ruleset is read or changed.
// https://kubernetes.io/docs/concepts/cluster-administration/networking/
import type { NetRunner } from './net-runner.ts';
import { formatIpv4Cidr, parseIpv4Cidr } from './cidr.ts';

export const NAT_TABLE = 'skiff-nat';

/** The table as `nft list table ip skiff-nat` prints it. */
export function masqueradeTable(clusterCidr: string): string {
  const cidr = formatIpv4Cidr(parseIpv4Cidr(clusterCidr));
  return [
    `table ip ${NAT_TABLE} {`,
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    // fully-random: source ports picked at random, as flannel's --random-fully, so two pods'
    // connections to one destination never race for the same port.
    `\t\tip saddr ${cidr} ip daddr != ${cidr} masquerade fully-random`,
    '\t}',
    '}',
  ].join('\n');
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

async function currentTable(r: NetRunner): Promise<string | undefined> {
  try {
    return await r.nft(['list', 'table', 'ip', NAT_TABLE]);
  } catch (e) {
    if (/No such file or directory/.test((e as Error).message)) return undefined;
    throw e;
  }
}

/** true when the table had to be (re)written. */
export async function ensureMasquerade(r: NetRunner, clusterCidr: string): Promise<boolean> {
  const want = masqueradeTable(clusterCidr);
  const have = await currentTable(r);
  if (have !== undefined && squash(have) === squash(want)) return false;
  // add + delete + define in one transaction: the table is never missing in between.
  await r.nft(['-f', '-'], `add table ip ${NAT_TABLE}\ndelete table ip ${NAT_TABLE}\n${want}\n`);
  return true;
}

export async function removeMasquerade(r: NetRunner): Promise<boolean> {
  if ((await currentTable(r)) === undefined) return false;
  await r.nft(['delete', 'table', 'ip', NAT_TABLE]);
  return true;
}
