// A pod sandbox without a pause container: its namespaces (network via `ip netns`, IPC and UTS
// bind-mounted in the sandbox dir), its /dev/shm tmpfs, its /etc files and its CNI attachment.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeepPartial, PodSandboxConfig } from '../cri/types.ts';
import { cniAdd, cniDel, loadCniNetwork, type CniNetworkList, type CniPortMapping } from './cni.ts';
import { createNetns, createPodNamespaces, deleteNetns, netnsNameOf, removePodNamespaces } from './namespaces.ts';
import { hostnameOf, writeSandboxFiles } from './sandbox-files.ts';
import { run } from './command.ts';
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
    // The network namespace, the IPC/UTS namespaces and /dev/shm don't depend on each other:
    // made side by side (pod start latency), all settled before a failure is undone.
    const hostIpc = config.linux?.security_context?.namespace_options?.ipc === 'NODE';
    if (!hostNetwork(config)) record.netnsName = netnsNameOf(record.id);
    const shm = shmPathOf(dir);
    const made = await Promise.allSettled([
      record.netnsName ? createNetns(record.netnsName).then((path) => { record.netnsPath = path; }) : undefined,
      createPodNamespaces(join(dir, 'ns'), hostname).then((ns) => {
        record.ipcPath = hostIpc ? '' : ns.ipcPath;
        record.utsPath = ns.utsPath;
      }),
      mkdir(shm, { recursive: true }).then(() => run('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777,size=65536k', 'shm', shm])),
    ]);
    for (const m of made) if (m.status === 'rejected') throw m.reason;
    if (record.netnsPath) {
      const network = await loadCniNetwork(net.cniConfDir);
      if (network) {
        const attachment = await cniAdd(network, cniArgs(record), net.cniBinDirs);
        record.cniNetwork = network.name;
        record.ips = attachment.ips;
        await writeFile(join(dir, 'cni-result.json'), JSON.stringify({ network, result: attachment.result }));
      }
    }
    await writeSandboxFiles(dir, config, hostname, record.ips);
    return record;
  } catch (err) {
    await teardownSandbox(record, dir, net).catch(() => undefined);
    throw err;
  }
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
  if (record.netnsName) await deleteNetns(record.netnsName);
  const r = await run('umount', [shmPathOf(dir)], { allowFailure: true });
  if (r.code !== 0 && !/not mounted|no mount point|No such file/i.test(r.stderr.toString())) {
    throw new Error(`cannot unmount ${shmPathOf(dir)}: ${r.stderr.toString().trim()}`);
  }
  await removePodNamespaces(join(dir, 'ns'));
}
