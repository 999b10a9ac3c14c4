// The pod network's CNI config: the agent core's conflist (src/agent/cni-config.ts: bridge skiff0
// as the gateway, host-local on the node's podCIDR, portmap, loopback) with the backend's MTU on
// the bridge plugin, so pod interfaces fit inside the VXLAN encapsulation. The agent writes the
// file; this is what it should write once it knows the MTU (NetworkAgent.status().mtu).
// https://www.cni.dev/plugins/current/main/bridge/ (mtu)
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFLIST_FILE, conflist } from '../agent/cni-config.ts';

export function podNetworkConflist(podCidr: string, mtu: number): Record<string, unknown> {
  const c = conflist(podCidr) as { plugins: Record<string, unknown>[] };
  return { ...c, plugins: c.plugins.map((p) => (p.type === 'bridge' ? { ...p, mtu } : p)) };
}

/** Writes the conflist atomically when it differs; true when the file changed. */
export async function writePodNetworkConflist(confDir: string, podCidr: string, mtu: number): Promise<boolean> {
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
