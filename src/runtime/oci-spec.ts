// The OCI runtime spec (config.json) of one container, made from its CRI ContainerConfig, its
// pod's sandbox and its image's config. Defaults follow containerd's CRI plugin: the same 14
// capabilities, masked and read-only /proc and /sys paths, and a /dev of its own.
// https://github.com/opencontainers/runtime-spec/blob/main/config.md
import type { ContainerConfig, DeepPartial, LinuxContainerResources, Mount, NamespaceOption } from '../cri/types.ts';
import type { ImageProcessConfig } from './image-source.ts';
import type { SandboxRecord } from './state.ts';
import type { SandboxFiles } from './sandbox-files.ts';
import { defaultSeccompProfile } from './seccomp.ts';

export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export const DEFAULT_MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SpecInput {
  containerId: string;
  config: DeepPartial<ContainerConfig>;
  sandbox: SandboxRecord;
  image: ImageProcessConfig;
  rootfs: string;
  files: SandboxFiles;
  /** The pod's /dev/shm (a tmpfs in the sandbox dir), '' for one per container. */
  shmPath: string;
  /** /proc/<pid>/ns/pid of a running container of the pod, for pid: POD. */
  podPidNamespace?: string;
  cgroupsPath: string;
  /** uid/gid the image's User (or run_as_username) resolves to in the rootfs. */
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
}

type Json = Record<string, unknown>;

/** Kubernetes' command/args over the image's Entrypoint/Cmd: https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes */
export function processArgs(config: DeepPartial<ContainerConfig>, image: ImageProcessConfig): string[] {
  const command = (config.command ?? []).filter((s): s is string => s != null);
  const args = (config.args ?? []).filter((s): s is string => s != null);
  if (command.length) return [...command, ...args];
  return [...(image.Entrypoint ?? []), ...(args.length ? args : image.Cmd ?? [])];
}

/** The image's env overridden by the config's, by name. */
export function processEnv(config: DeepPartial<ContainerConfig>, image: ImageProcessConfig, hostname: string): string[] {
  const env = new Map<string, string>();
  env.set('PATH', DEFAULT_PATH);
  for (const kv of image.Env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  env.set('HOSTNAME', hostname);
  for (const kv of config.envs ?? []) {
    if (kv?.key) env.set(kv.key, kv.value == null ? '' : Buffer.from(kv.value).toString());
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export function capabilitiesOf(config: DeepPartial<ContainerConfig>): string[] {
  const sc = config.linux?.security_context;
  if (sc?.privileged) return ALL_CAPABILITIES;
  const norm = (c: string | null | undefined) => {
    const up = String(c ?? '').toUpperCase();
    return up === 'ALL' || up.startsWith('CAP_') ? up : `CAP_${up}`;
  };
  const add = (sc?.capabilities?.add_capabilities ?? []).map(norm);
  const drop = (sc?.capabilities?.drop_capabilities ?? []).map(norm);
  let caps = new Set(add.includes('ALL') ? ALL_CAPABILITIES : [...DEFAULT_CAPABILITIES, ...add]);
  if (drop.includes('ALL')) caps = new Set(add.filter((c) => c !== 'ALL'));
  for (const c of drop) caps.delete(c);
  return [...caps].filter((c) => ALL_CAPABILITIES.includes(c));
}

const PROPAGATION: Record<string, string> = {
  PROPAGATION_PRIVATE: 'rprivate', PROPAGATION_HOST_TO_CONTAINER: 'rslave', PROPAGATION_BIDIRECTIONAL: 'rshared',
};

function criMounts(mounts: DeepPartial<Mount>[]): { mounts: Json[]; rootfsPropagation?: string } {
  let rootfsPropagation: string | undefined;
  const out = mounts.filter((m) => m?.container_path && m.host_path).map((m) => {
    const propagation = PROPAGATION[m.propagation ?? 'PROPAGATION_PRIVATE'] ?? 'rprivate';
    if (propagation === 'rshared') rootfsPropagation = 'rshared';
    else if (propagation === 'rslave' && rootfsPropagation !== 'rshared') rootfsPropagation = 'rslave';
    return {
      destination: m.container_path, type: 'bind', source: m.host_path,
      options: ['rbind', propagation, m.readonly ? 'ro' : 'rw'],
    };
  });
  return { mounts: out, rootfsPropagation };
}

export function linuxResources(r: DeepPartial<LinuxContainerResources> | null | undefined): Json {
  const cpu: Json = {};
  if (r?.cpu_shares) cpu.shares = Number(r.cpu_shares);
  if (r?.cpu_quota) cpu.quota = Number(r.cpu_quota);
  if (r?.cpu_period) cpu.period = Number(r.cpu_period);
  if (r?.cpuset_cpus) cpu.cpus = r.cpuset_cpus;
  if (r?.cpuset_mems) cpu.mems = r.cpuset_mems;
  const out: Json = {};
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r?.memory_limit_in_bytes) {
    out.memory = { limit: Number(r.memory_limit_in_bytes), ...(r.memory_swap_limit_in_bytes ? { swap: Number(r.memory_swap_limit_in_bytes) } : {}) };
  }
  return out;
}

function namespaceOptions(input: SpecInput): DeepPartial<NamespaceOption> {
  return input.config.linux?.security_context?.namespace_options
    ?? input.sandbox.config.linux?.security_context?.namespace_options ?? {};
}

export function buildSpec(input: SpecInput): Json {
  const { config, sandbox, image, files } = input;
  const sc = config.linux?.security_context;
  const privileged = !!sc?.privileged;
  const ns = namespaceOptions(input);
  const namespaces: Json[] = [{ type: 'mount' }];
  if (ns.network !== 'NODE' && sandbox.netnsPath) namespaces.push({ type: 'network', path: sandbox.netnsPath });
  if (ns.ipc !== 'NODE') namespaces.push(sandbox.ipcPath ? { type: 'ipc', path: sandbox.ipcPath } : { type: 'ipc' });
  namespaces.push(sandbox.utsPath ? { type: 'uts', path: sandbox.utsPath } : { type: 'uts' });
  if (ns.pid === 'POD' && input.podPidNamespace) namespaces.push({ type: 'pid', path: input.podPidNamespace });
  else if (ns.pid !== 'NODE') namespaces.push({ type: 'pid' });
  namespaces.push({ type: 'cgroup' });

  const cri = criMounts(config.mounts ?? []);
  const taken = new Set(cri.mounts.map((m) => m.destination));
  const etc = (dest: string, source: string): Json[] =>
    taken.has(dest) ? [] : [{ destination: dest, type: 'bind', source, options: ['rbind', 'rprivate', 'rw'] }];
  const mounts: Json[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    input.shmPath
      ? { destination: '/dev/shm', type: 'bind', source: input.shmPath, options: ['rbind', 'rprivate', 'rw'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'] },
    ...etc('/etc/hosts', files.hosts),
    ...etc('/etc/resolv.conf', files.resolvConf),
    ...etc('/etc/hostname', files.hostname),
    ...cri.mounts,
  ];

  const caps = capabilitiesOf(config);
  const res = config.linux?.resources;
  const process: Json = {
    terminal: !!config.tty,
    user: { uid: input.user.uid, gid: input.user.gid, ...(input.user.additionalGids.length ? { additionalGids: input.user.additionalGids } : {}) },
    args: processArgs(config, image),
    env: processEnv(config, image, input.hostname),
    cwd: config.working_dir || image.WorkingDir || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: !!sc?.no_new_privs,
    // Never below 0: lowering oom_score_adj needs CAP_SYS_RESOURCE, which this runtime may lack.
    ...(res?.oom_score_adj && res.oom_score_adj > 0 ? { oomScoreAdj: Math.min(1000, Number(res.oom_score_adj)) } : {}),
  };
  const seccompType = sc?.seccomp?.profile_type;
  const useSeccomp = !privileged && seccompType !== 'Unconfined';
  const sysctl = sandbox.config.linux?.sysctls ?? {};

  const linux: Json = {
    namespaces,
    cgroupsPath: input.cgroupsPath,
    resources: { devices: privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }], ...linuxResources(res) },
    ...(Object.keys(sysctl).length ? { sysctl } : {}),
    ...(cri.rootfsPropagation ? { rootfsPropagation: cri.rootfsPropagation } : {}),
    ...(privileged ? {} : {
      maskedPaths: sc?.masked_paths?.length ? sc.masked_paths : DEFAULT_MASKED_PATHS,
      readonlyPaths: sc?.readonly_paths?.length ? sc.readonly_paths : DEFAULT_READONLY_PATHS,
    }),
    ...(useSeccomp ? { seccomp: defaultSeccompProfile() } : {}),
  };
  return {
    ociVersion: '1.0.2',
    process,
    root: { path: input.rootfs, readonly: !!sc?.readonly_rootfs },
    hostname: input.hostname,
    mounts,
    annotations: {
      'io.kubernetes.cri.container-type': 'container',
      'io.kubernetes.cri.sandbox-id': sandbox.id,
      'io.kubernetes.cri.container-name': config.metadata?.name ?? '',
    },
    linux,
  };
}

/**
 * The pod sandbox annotation (kubelet copies pod annotations into PodSandboxConfig) that makes an
 * init PID 1 of each of the pod's containers. Kubernetes has no field for this; the only value is
 * "tini" (Debian's tini package): it forwards signals to the command and reaps orphaned zombies.
 */
export const INIT_ANNOTATION = 'skiff.io/init';
/** Debian's statically linked tini: it runs in any image, with or without a libc. */
export const TINI_BINARY = '/usr/bin/tini-static';
/** Where tini is bind-mounted (read-only) inside the container. */
export const TINI_IN_CONTAINER = '/.skiff/tini';

/** The init the pod asks for ('' for none); throws on a value Skiff does not know. */
export function podInit(sandboxConfig: SandboxRecord['config']): '' | 'tini' {
  const value = sandboxConfig.annotations?.[INIT_ANNOTATION] ?? '';
  if (value === '' || value === 'tini') return value;
  throw new Error(`pod annotation ${INIT_ANNOTATION}: "${value}" is not a known init (the only one is "tini")`);
}

/**
 * Puts tini in front of the spec's process: `tini -s -- ARGS...`. -s makes it a subreaper, so it
 * still reaps when it is not PID 1 (a pod sharing one PID namespace).
 */
export function withTini(spec: Json, tiniBinary = TINI_BINARY): Json {
  const process = spec.process as Json;
  const mounts = spec.mounts as Json[];
  return {
    ...spec,
    process: { ...process, args: [TINI_IN_CONTAINER, '-s', '--', ...(process.args as string[])] },
    mounts: [...mounts, { destination: TINI_IN_CONTAINER, type: 'bind', source: tiniBinary, options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'] }],
  };
}
