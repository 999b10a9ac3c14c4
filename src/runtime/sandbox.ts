// A pod sandbox without a pause container: its namespaces (network via `ip netns`, IPC and UTS
// bind-mounted in the sandbox dir), its /dev/shm tmpfs, its /etc files and its CNI attachment.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeepPartial, PodSandboxConfig } from '../cri/types.ts';
import { cniAdd, cniDel, loadCniNetwork, type CniNetworkList, type CniPortMapping } from './cni.ts';
import { bringUpLoopback, createIpcUtsShm, createNetns, netnsNameOf, removePodNamespaces } from './namespaces.ts';
import { hostnameOf, writeSandboxFiles } from './sandbox-files.ts';
import type { SandboxRecord } from './state.ts';

export interface NetworkOptions {
  cniConfDir: string;
  cniBinDirs: string[];
}

export function shmPathOf(sandboxDir: string): string {
  return join(sandboxDir, 'shm');
}

function hostNetwork(config: DeepPartial<PodSandboxConfig>): boolean {
  return config.linux?.security_context?.namespace_options?.network === 'NODE';
}

/**
 * Makes everything the pod's containers will join. On failure, undoes what it made and rethrows,
 * so a failed RunPodSandbox leaves nothing behind.
 */
export async function setupSandbox(
  record: SandboxRecord, dir: string, net: NetworkOptions,
): Promise<SandboxRecord> {
  const config = record.config;
  const hostname = hostnameOf(config, record.id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const hostIpc = config.linux?.security_context?.namespace_options?.ipc === 'NODE';
    if (!hostNetwork(config)) record.netnsName = netnsNameOf(record.id);
    if (record.netnsName) record.netnsPath = await createNetns(record.netnsName);
    // The CNI ADD (the slowest part: bridge and IPAM plugins) runs while loopback comes up and
    // the IPC/UTS namespaces and /dev/shm are made; all settle before a failure is undone.
    const made = await Promise.allSettled([
      createIpcUtsShm({ nsDir: join(dir, 'ns'), shmPath: shmPathOf(dir), hostname }).then((ns) => {
        record.ipcPath = hostIpc ? '' : ns.ipcPath;
        record.utsPath = ns.utsPath;
      }),
      record.netnsPath ? attachNetwork(record, dir, net) : undefined,
      record.netnsName ? bringUpLoopback(record.netnsName) : undefined,
    ]);
    for (const m of made) if (m.status === 'rejected') throw m.reason;
    await writeSandboxFiles(dir, config, hostname, record.ips);
    return record;
  } catch (err) {
    await teardownSandbox(record, dir, net).catch(() => undefined);
    throw err;
  }
}

async function attachNetwork(record: SandboxRecord, dir: string, net: NetworkOptions): Promise<void> {
  const network = await loadCniNetwork(net.cniConfDir);
  if (!network) return;
  const attachment = await cniAdd(network, cniArgs(record), net.cniBinDirs);
  record.cniNetwork = network.name;
  record.ips = attachment.ips;
  await writeFile(join(dir, 'cni-result.json'), JSON.stringify({ network, result: attachment.result }));
}

function namespacesOf(record: SandboxRecord, dir: string) {
  return { netnsName: record.netnsName, nsDir: join(dir, 'ns'), shmPath: shmPathOf(dir) };
}

function cniArgs(record: SandboxRecord) {
  return {
    containerId: record.id, netnsPath: record.netnsPath,
    podName: record.config.metadata?.name ?? undefined,
    podNamespace: record.config.metadata?.namespace ?? undefined,
    podUid: record.config.metadata?.uid ?? undefined,
    portMappings: portMappingsOf(record.config),
  };
}

/** The sandbox's hostPorts as CNI portMappings (entries without a hostPort are not published, as in containerd). */
function portMappingsOf(config: DeepPartial<PodSandboxConfig>): CniPortMapping[] {
  return (config.port_mappings ?? []).filter((p) => p && Number(p.host_port) > 0).map((p) => ({
    hostPort: Number(p?.host_port), containerPort: Number(p?.container_port),
    protocol: (p?.protocol ?? 'TCP').toLowerCase(),
    ...(p?.host_ip ? { hostIP: p.host_ip } : {}),
  }));
}

/** StopPodSandbox's network part: CNI DEL with the config and result of the ADD. Idempotent. */
export async function detachNetwork(record: SandboxRecord, dir: string, net: NetworkOptions): Promise<void> {
  if (!record.cniNetwork) return;
  const saved = await readFile(join(dir, 'cni-result.json'), 'utf8').catch(() => undefined);
  if (saved) {
    const { network, result } = JSON.parse(saved) as { network: CniNetworkList; result: Record<string, unknown> };
    await cniDel(network, cniArgs(record), result, net.cniBinDirs);
  }
  record.cniNetwork = undefined;
}

/** RemovePodSandbox's part: network, namespaces, shm; the dir itself is the state store's. */
export async function teardownSandbox(record: SandboxRecord, dir: string, net: NetworkOptions): Promise<void> {
  await detachNetwork(record, dir, net);
  await removePodNamespaces(namespacesOf(record, dir));
}
