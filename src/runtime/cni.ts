// Pod networking through the standard CNI plugins, executed per the CNI spec: the network
// config on stdin, CNI_* variables in the environment, a JSON result on stdout.
// https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
import { access, constants, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError } from './command.ts';
import { hostRun } from './spawner.ts';

export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

/** A network configuration list (a single-plugin .conf is turned into one). */
export interface CniNetworkList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
  /** The file it came from, for messages. */
  file: string;
}

export interface CniAttachment {
  /** The last plugin's result (what DEL gets as prevResult). */
  result: Record<string, unknown>;
  ips: string[];
}

export interface CniPodArgs {
  containerId: string;
  netnsPath: string;
  ifName?: string;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  /** hostPort mappings, for plugins with the portMappings capability (portmap). */
  portMappings?: CniPortMapping[];
}

/** One entry of runtimeConfig.portMappings: https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#dynamic-plugin-specific-fields-capabilities--runtime-configuration */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  /** tcp, udp or sctp (lower case). */
  protocol: string;
  hostIP?: string;
}

/**
 * The network config the runtime uses: the lexically first .conflist/.conf/.json in confDir, as
 * CNI-using runtimes (libcni's ConfFiles + sort) pick it; undefined when there is none.
 */
export async function loadCniNetwork(confDir: string): Promise<CniNetworkList | undefined> {
  const files = (await readdir(confDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  })).filter((f) => /\.(conflist|conf|json)$/.test(f)).sort();
  if (files.length === 0) return undefined;
  const file = join(confDir, files[0]);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`CNI config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const name = String(doc.name ?? '');
  const cniVersion = String(doc.cniVersion ?? '0.4.0');
  if (!name) throw new Error(`CNI config ${file} has no "name"`);
  if (Array.isArray(doc.plugins)) {
    return { cniVersion, name, plugins: doc.plugins as Record<string, unknown>[], file };
  }
  if (typeof doc.type !== 'string') throw new Error(`CNI config ${file} has neither "plugins" nor "type"`);
  return { cniVersion, name, plugins: [doc], file };
}

/** Runs ADD through the list's plugins in order; on failure undoes what was added. */
export async function cniAdd(net: CniNetworkList, pod: CniPodArgs, binDirs = DEFAULT_CNI_BIN_DIRS): Promise<CniAttachment> {
  let prevResult: Record<string, unknown> | undefined;
  for (const plugin of net.plugins) {
    try {
      prevResult = await invoke('ADD', net, plugin, pod, binDirs, prevResult);
    } catch (err) {
      await cniDel(net, pod, prevResult, binDirs).catch(() => undefined);
      throw err;
    }
  }
  const result = prevResult ?? {};
  return { result, ips: ipsOf(result) };
}

/** Runs DEL through the plugins in reverse order; DEL must tolerate missing state, so all are tried. */
export async function cniDel(
  net: CniNetworkList, pod: CniPodArgs, prevResult?: Record<string, unknown>, binDirs = DEFAULT_CNI_BIN_DIRS,
): Promise<void> {
  const errors: string[] = [];
  for (const plugin of [...net.plugins].reverse()) {
    await invoke('DEL', net, plugin, pod, binDirs, prevResult).catch((err: Error) => errors.push(err.message));
  }
  if (errors.length) throw new Error(`CNI DEL for network ${net.name} failed: ${errors.join('; ')}`);
}

async function invoke(
  command: 'ADD' | 'DEL', net: CniNetworkList, plugin: Record<string, unknown>, pod: CniPodArgs,
  binDirs: string[], prevResult: Record<string, unknown> | undefined,
): Promise<Record<string, unknown> | undefined> {
  const type = String(plugin.type ?? '');
  if (!/^[\w.-]+$/.test(type)) throw new Error(`CNI config ${net.file}: plugin type ${JSON.stringify(type)} is not a plugin name`);
  const binary = await findPlugin(type, binDirs);
  const config = {
    ...plugin, cniVersion: net.cniVersion, name: net.name, ...runtimeConfigFor(plugin, pod), ...(prevResult ? { prevResult } : {}),
  };
  const args = [
    'IgnoreUnknown=1',
    pod.podNamespace ? `K8S_POD_NAMESPACE=${pod.podNamespace}` : '',
    pod.podName ? `K8S_POD_NAME=${pod.podName}` : '',
    `K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
    pod.podUid ? `K8S_POD_UID=${pod.podUid}` : '',
  ].filter(Boolean).join(';');
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: pod.netnsPath,
    CNI_IFNAME: pod.ifName ?? 'eth0',
    CNI_PATH: binDirs.join(':'),
    CNI_ARGS: args,
  };
  try {
    const r = await hostRun(binary, [], { env, input: JSON.stringify(config), timeoutMs: 60_000 });
    const text = r.stdout.toString().trim();
    if (command === 'DEL' || !text) return prevResult;
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    // Plugins report errors as {"code", "msg", "details"} on stdout.
    const out = err instanceof CommandError ? err.result.stdout.toString().trim() : '';
    let detail = err instanceof Error ? err.message : String(err);
    if (out.startsWith('{')) {
      try {
        const e = JSON.parse(out) as { code?: number; msg?: string; details?: string };
        detail = `error ${e.code}: ${e.msg}${e.details ? ` (${e.details})` : ''}`;
      } catch { detail = out; }
    }
    throw new Error(`CNI plugin ${type} ${command} for network ${net.name} (${net.file}) failed: ${detail}`);
  }
}

/**
 * runtimeConfig goes only to the plugins whose config declares the capability (CNI conventions),
 * and only with the capabilities the runtime has values for.
 */
function runtimeConfigFor(plugin: Record<string, unknown>, pod: CniPodArgs): { runtimeConfig?: Record<string, unknown> } {
  const capabilities = (plugin.capabilities ?? {}) as Record<string, unknown>;
  const runtimeConfig: Record<string, unknown> = { ...(plugin.runtimeConfig as Record<string, unknown> | undefined) };
  if (capabilities.portMappings === true && pod.portMappings?.length) runtimeConfig.portMappings = pod.portMappings;
  return Object.keys(runtimeConfig).length ? { runtimeConfig } : {};
}

async function findPlugin(type: string, binDirs: string[]): Promise<string> {
  for (const dir of binDirs) {
    const path = join(dir, type);
    const found = await access(path, constants.X_OK).then(() => true, () => false);
    if (found) return path;
  }
  throw new Error(`CNI plugin "${type}" not found in ${binDirs.join(', ')} (install containernetworking-plugins)`);
}

/** Pod IPs out of a result of any CNI version (0.2.0 ip4/ip6, 0.3.0+ ips[]). */
export function ipsOf(result: Record<string, unknown>): string[] {
  const strip = (cidr: unknown) => String(cidr).split('/')[0];
  if (Array.isArray(result.ips)) {
    return (result.ips as { address?: string }[]).filter((i) => i.address).map((i) => strip(i.address));
  }
  const out: string[] = [];
  for (const key of ['ip4', 'ip6']) {
    const v = result[key] as { ip?: string } | undefined;
    if (v?.ip) out.push(strip(v.ip));
  }
  return out;
}
