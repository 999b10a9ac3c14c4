// The two devices the pod network owns on a node: the VXLAN tunnel endpoint `skiff.1` (flannel's
// flannel.1) and the pod bridge `skiff0` that the CNI bridge plugin attaches pods to. Each ensure*
// reads the device and changes only what differs, so calling it on every reconcile is cheap and
// repairs drift (a deleted device, a changed MTU, a stale address after the lease changed).
import { createHash } from 'node:crypto';
import type { NetRunner } from './net-runner.ts';
import { isNotFoundError } from './net-runner.ts';
import { VXLAN_DEVICE } from './peers.ts';
import { VXLAN_PORT, VXLAN_VNI } from './node-network.ts';

export const BRIDGE_DEVICE = 'skiff0';

interface IpLink {
  ifname: string;
  mtu: number;
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean } };
}
interface IpAddr { ifname: string; mtu: number; addr_info?: { family: string; local: string; prefixlen: number }[] }

/**
 * A stable VTEP MAC for a node: locally administered, unicast, derived from the node's name, so an
 * agent restart (or a recreated device) keeps the MAC the other nodes have in their FDB.
 */
export function vtepMac(nodeName: string): string {
  const h = createHash('sha256').update(`skiff-vtep/${nodeName}`).digest();
  h[0] = (h[0] & 0xfe) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export async function readLink(r: NetRunner, dev: string): Promise<IpLink | undefined> {
  try {
    return (await r.ipJson<IpLink>(['-d', 'link', 'show', 'dev', dev]))[0];
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

export async function deleteLink(r: NetRunner, dev: string): Promise<boolean> {
  try {
    await r.ip(['link', 'del', 'dev', dev]);
    return true;
  } catch (e) {
    if (isNotFoundError(e)) return false;
    throw e;
  }
}

/** The device holding ip and its MTU: the underlay the node's VXLAN packets (or host-gw routes) use. */
export async function findUnderlay(r: NetRunner, ip: string, dev?: string): Promise<{ dev: string; mtu: number }> {
  const links = await r.ipJson<IpAddr>(['-4', 'addr', 'show', ...(dev ? ['dev', dev] : [])]);
  const found = links.find((l) => (l.addr_info ?? []).some((a) => a.family === 'inet' && a.local === ip));
  const where = r.netns ? `network namespace ${r.netns}` : 'this host';
  if (!found) throw new Error(`underlay IP ${ip} is not on ${dev ? `device ${dev}` : 'any device'} in ${where} (check --underlay-ip / --node-ip)`);
  return { dev: found.ifname, mtu: found.mtu };
}

/** Makes dev's IPv4 addresses exactly [want] (CIDR notation). */
async function ensureOnlyAddress(r: NetRunner, dev: string, want: string): Promise<void> {
  const have = ((await r.ipJson<IpAddr>(['-4', 'addr', 'show', 'dev', dev]))[0]?.addr_info ?? []).filter((a) => a.family === 'inet');
  for (const a of have) {
    const cidr = `${a.local}/${a.prefixlen}`;
    if (cidr !== want) await r.ip(['addr', 'del', cidr, 'dev', dev]);
  }
  if (!have.some((a) => `${a.local}/${a.prefixlen}` === want)) await r.ip(['addr', 'replace', want, 'dev', dev]);
}

async function ensureMtuAndUp(r: NetRunner, link: IpLink, mtu: number): Promise<void> {
  if (link.mtu !== mtu) await r.ip(['link', 'set', 'dev', link.ifname, 'mtu', String(mtu)]);
  if (!(link.flags ?? []).includes('UP')) await r.ip(['link', 'set', 'dev', link.ifname, 'up']);
}

export interface VxlanDevice {
  underlayIp: string;
  underlayDev: string;
  mac: string;
  mtu: number;
  /** The lease's .0, as a /32. */
  address: string;
}

/** skiff.1: VNI 1, UDP 8472, local = the underlay IP, no learning (the agent programs the FDB), as flannel.1. */
export async function ensureVxlanDevice(r: NetRunner, want: VxlanDevice): Promise<void> {
  let link = await readLink(r, VXLAN_DEVICE);
  const d = link?.linkinfo?.info_data;
  const right = link?.linkinfo?.info_kind === 'vxlan' && d?.id === VXLAN_VNI && d.local === want.underlayIp && d.port === VXLAN_PORT &&
    d.link === want.underlayDev && d.learning === false;
  if (link && !right) {
    // A VXLAN device's VNI, port and local address cannot be changed in place (e.g. the node's IP changed).
    await deleteLink(r, VXLAN_DEVICE);
    link = undefined;
  }
  if (!link) {
    await r.ip(['link', 'add', VXLAN_DEVICE, 'address', want.mac, 'mtu', String(want.mtu), 'type', 'vxlan', 'id', String(VXLAN_VNI),
      'local', want.underlayIp, 'dev', want.underlayDev, 'dstport', String(VXLAN_PORT), 'nolearning']);
    link = await readLink(r, VXLAN_DEVICE);
    if (!link) throw new Error(`created ${VXLAN_DEVICE} but cannot read it back`);
  }
  if (link.address !== want.mac) await r.ip(['link', 'set', 'dev', VXLAN_DEVICE, 'address', want.mac]);
  await ensureMtuAndUp(r, link, want.mtu);
  await ensureOnlyAddress(r, VXLAN_DEVICE, want.address);
}

/**
 * skiff0 with the lease's gateway address (.1/24) and the backend's MTU: what the CNI bridge plugin
 * with isGateway would make on the first pod, made up front so the node routes its lease from the
 * start and pods get the right MTU.
 */
export async function ensurePodBridge(r: NetRunner, want: { gateway: string; mtu: number }): Promise<void> {
  let link = await readLink(r, BRIDGE_DEVICE);
  if (link && link.linkinfo?.info_kind !== 'bridge') {
    throw new Error(`${BRIDGE_DEVICE} exists${r.netns ? ` in ${r.netns}` : ''} but is a ${link.linkinfo?.info_kind ?? 'plain'} device, not a bridge; delete it`);
  }
  if (!link) {
    await r.ip(['link', 'add', BRIDGE_DEVICE, 'mtu', String(want.mtu), 'type', 'bridge']);
    link = await readLink(r, BRIDGE_DEVICE);
    if (!link) throw new Error(`created ${BRIDGE_DEVICE} but cannot read it back`);
  }
  await ensureMtuAndUp(r, link, want.mtu);
  await ensureOnlyAddress(r, BRIDGE_DEVICE, want.gateway);
}
