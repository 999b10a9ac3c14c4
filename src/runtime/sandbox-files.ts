// The per-pod files bind-mounted into every container: /etc/hostname, /etc/hosts and
// /etc/resolv.conf, written from the PodSandboxConfig as kubelet expects a runtime to.
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-dns-config
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeepPartial, DNSConfig, PodSandboxConfig } from '../cri/types.ts';

export interface SandboxFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function sandboxFilesIn(dir: string): SandboxFiles {
  return { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
}

/** The pod's hostname: the config's, else the pod name, else the sandbox id's prefix. */
export function hostnameOf(config: DeepPartial<PodSandboxConfig>, sandboxId: string): string {
  return (config.hostname || config.metadata?.name || sandboxId.slice(0, 12)).slice(0, 63);
}

export function hostsFile(hostname: string, ips: string[]): string {
  const lines = [
    '# Kubernetes-managed hosts file (written by skiff).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return `${lines.join('\n')}\n`;
}

/**
 * resolv.conf from the pod's DNSConfig; without one (or with an empty one), the host's file,
 * as the Default dnsPolicy would give.
 */
export async function resolvConf(dns: DeepPartial<DNSConfig> | null | undefined, hostResolvConf = '/etc/resolv.conf'): Promise<string> {
  const servers = (dns?.servers ?? []).filter((s): s is string => !!s);
  const searches = (dns?.searches ?? []).filter((s): s is string => !!s);
  const options = (dns?.options ?? []).filter((s): s is string => !!s);
  if (servers.length === 0 && searches.length === 0 && options.length === 0) {
    return readFile(hostResolvConf, 'utf8').catch(() => '');
  }
  const lines: string[] = [];
  if (searches.length) lines.push(`search ${searches.join(' ')}`);
  for (const s of servers) lines.push(`nameserver ${s}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

export async function writeSandboxFiles(
  dir: string, config: DeepPartial<PodSandboxConfig>, hostname: string, ips: string[],
): Promise<SandboxFiles> {
  const files = sandboxFilesIn(dir);
  await writeFile(files.hostname, `${hostname}\n`, { mode: 0o644 });
  await writeFile(files.hosts, hostsFile(hostname, ips), { mode: 0o644 });
  await writeFile(files.resolvConf, await resolvConf(config.dns_config), { mode: 0o644 });
  return files;
}
