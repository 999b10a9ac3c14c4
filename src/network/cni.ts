// The pod network's CNI config, the one the node's runtime reads: bridge skiff0 as the pods'
// gateway, host-local IPAM on the node's podCIDR, portmap for hostPorts; with the backend's MTU
// on the bridge plugin when there is a backend, so pod interfaces fit inside the VXLAN
// encapsulation. No loopback plugin: the runtimes bring `lo` up themselves (skiff's runtime with
// `ip link` beside the CNI ADD, containerd's CRI as a network of its own), so in the chain it
// was one more plugin binary run per pod for nothing.
// https://www.cni.dev/plugins/current/main/bridge/ https://www.cni.dev/plugins/current/ipam/host-local/
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BRIDGE_DEVICE } from './links.ts';

export const CNI_NETWORK_NAME = 'skiff';
export const CONFLIST_FILE = '10-skiff.conflist';
/**
 * host-local's reservations. One directory for every agent on the host: they share the skiff0
 * bridge, so two test clusters handing out the same /24 must not hand out the same address.
 */
export const IPAM_DATA_DIR = '/run/skiff/cni-ipam';

/** The conflist for podCidr; mtu absent leaves the bridge at the plugin's default. */
export function podNetworkConflist(podCidr: string, mtu?: number): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge', bridge: BRIDGE_DEVICE, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: IPAM_DATA_DIR },
        ...(mtu !== undefined ? { mtu } : {}),
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** Writes the conflist atomically when it differs; true when the file changed. */
export async function writePodNetworkConflist(confDir: string, podCidr: string, mtu?: number): Promise<boolean> {
  await mkdir(confDir, { recursive: true });
  const file = join(confDir, CONFLIST_FILE);
  const text = `${JSON.stringify(podNetworkConflist(podCidr, mtu), null, 2)}\n`;
  const current = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  if (current === text) return false;
  await writeFile(`${file}.tmp`, text, { mode: 0o644 });
  await rename(`${file}.tmp`, file);
  return true;
}
