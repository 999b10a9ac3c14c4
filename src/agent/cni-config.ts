// Pod IPs before proper networking exists: once the node has spec.podCIDR, a CNI conflist for
// the in-process runtime (bridge skiff0 as the gateway, host-local IPAM on the podCIDR,
// portmap, loopback) and `unreachable` routes for the cluster's pod and service ranges, so
// traffic to a pod IP that is not on this node's bridge dies here instead of leaving the host.
// The bridge's own /24 route is more specific and wins for local pods.
// https://www.cni.dev/plugins/current/main/bridge/ https://www.cni.dev/plugins/current/ipam/host-local/
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../runtime/command.ts';

export const BRIDGE_NAME = 'skiff0';
export const CNI_NETWORK_NAME = 'skiff';
export const CONFLIST_FILE = '10-skiff.conflist';
/** Never routed off the host: the pod range the node-ipam controller splits, and the service range. */
export const SAFETY_ROUTES = ['10.42.0.0/16', '10.43.0.0/16'];
/**
 * host-local's reservations. One directory for every agent on the host: they share the skiff0
 * bridge, so two test clusters handing out the same /24 must not hand out the same address.
 */
export const IPAM_DATA_DIR = '/run/skiff/cni-ipam';

export function conflist(podCidr: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge', bridge: BRIDGE_NAME, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: IPAM_DATA_DIR },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'loopback' },
    ],
  };
}

/** Writes (atomically, only when it differs) the conflist for podCidr; true when the file changed. */
export async function writeConflist(confDir: string, podCidr: string): Promise<boolean> {
  await mkdir(confDir, { recursive: true });
  const file = join(confDir, CONFLIST_FILE);
  const text = `${JSON.stringify(conflist(podCidr), null, 2)}\n`;
  const current = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  if (current === text) return false;
  await writeFile(`${file}.tmp`, text, { mode: 0o644 });
  await rename(`${file}.tmp`, file);
  return true;
}

/** Adds `unreachable` routes for cidrs (default SAFETY_ROUTES) that are not there yet; never changes or removes a route. */
export async function ensureSafetyRoutes(cidrs: string[] = SAFETY_ROUTES): Promise<string[]> {
  const r = await run('ip', ['-4', 'route', 'show', 'type', 'unreachable'], { allowFailure: true });
  const present = new Set(r.stdout.toString().split('\n').map((l) => l.trim().split(/\s+/)[1]).filter(Boolean));
  const added: string[] = [];
  for (const cidr of cidrs) {
    if (present.has(cidr)) continue;
    const add = await run('ip', ['route', 'add', 'unreachable', cidr], { allowFailure: true });
    // Another agent on this host may have added it a moment ago.
    if (add.code !== 0 && !/File exists/i.test(add.stderr.toString())) {
      throw new Error(`cannot add the safety route "unreachable ${cidr}": ${add.stderr.toString().trim()}`);
    }
    if (add.code === 0) added.push(cidr);
  }
  return added;
}
