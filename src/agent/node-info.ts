// What the host says about itself, read the way kubelet's node status setters read it:
// capacity from the CPUs, /proc/meminfo and the data dir's filesystem; allocatable after the
// default hard eviction thresholds; nodeInfo from the kernel, /etc/os-release and the CRI
// runtime; and the pressure conditions against those same thresholds.
// https://kubernetes.io/docs/reference/node/node-status/
// https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#hard-eviction-thresholds
import { availableParallelism, release } from 'node:os';
import { readFile, statfs } from 'node:fs/promises';
import type { NodeCondition, NodeSystemInfo } from 'kubernetes-types/core/v1.d.ts';

export const KUBELET_VERSION = 'v1.32.0-skiff';
export const MAX_PODS = 110;
/** kubelet's default hard eviction thresholds (memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%). */
export const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;
export const EVICTION_NODEFS_FRACTION = 0.10;
export const EVICTION_INODES_FRACTION = 0.05;
/** No default pid.available threshold exists in kubelet; this one only flags a nearly exhausted pid space. */
export const PID_PRESSURE_FRACTION = 0.05;

export interface HostResources {
  cpu: number;
  memoryBytes: number;
  memoryAvailableBytes: number;
  storageBytes: number;
  storageAvailableBytes: number;
  inodes: number;
  inodesFree: number;
  pidMax: number;
  pidsInUse: number;
}

/** Kubernetes' GOARCH names for the arch label and nodeInfo.architecture. */
export function goArch(arch = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

async function meminfo(): Promise<Record<string, number>> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * (line.includes('kB') ? 1024 : 1);
  }
  return out;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then((t) => t.trim(), () => undefined);
}

export async function hostResources(dataDir: string): Promise<HostResources> {
  const mem = await meminfo();
  const fs = await statfs(dataDir);
  const pidMax = Number(await readText('/proc/sys/kernel/pid_max') ?? 32768);
  const loadavg = await readText('/proc/loadavg') ?? '';
  // The fourth field of loadavg is running/total scheduling entities (threads): what uses pids.
  const pidsInUse = Number(/\s\d+\/(\d+)\s/.exec(loadavg)?.[1] ?? 0);
  return {
    cpu: availableParallelism(),
    memoryBytes: mem.MemTotal ?? 0,
    memoryAvailableBytes: mem.MemAvailable ?? mem.MemFree ?? 0,
    storageBytes: fs.blocks * fs.bsize,
    storageAvailableBytes: fs.bavail * fs.bsize,
    inodes: fs.files,
    inodesFree: fs.ffree,
    pidMax,
    pidsInUse,
  };
}

const ki = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;

/** status.capacity and status.allocatable (capacity minus the eviction thresholds; no reservations). */
export function capacityOf(h: HostResources): { capacity: Record<string, string>; allocatable: Record<string, string> } {
  const capacity = {
    cpu: String(h.cpu), memory: ki(h.memoryBytes), 'ephemeral-storage': ki(h.storageBytes), pods: String(MAX_PODS),
    'hugepages-1Gi': '0', 'hugepages-2Mi': '0',
  };
  const allocatable = {
    ...capacity,
    memory: ki(Math.max(0, h.memoryBytes - EVICTION_MEMORY_BYTES)),
    // kubelet leaves ephemeral-storage allocatable in bytes.
    'ephemeral-storage': String(Math.max(0, Math.floor(h.storageBytes * (1 - EVICTION_NODEFS_FRACTION)))),
  };
  return { capacity, allocatable };
}

export interface PressureState {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

export function pressureOf(h: HostResources): PressureState {
  return {
    memory: h.memoryAvailableBytes < EVICTION_MEMORY_BYTES,
    disk: h.storageAvailableBytes < h.storageBytes * EVICTION_NODEFS_FRACTION
      || (h.inodes > 0 && h.inodesFree < h.inodes * EVICTION_INODES_FRACTION),
    pid: h.pidMax - h.pidsInUse < h.pidMax * PID_PRESSURE_FRACTION,
  };
}

type ConditionText = [status: 'True' | 'False', reason: string, message: string];

/** Conditions in kubelet's order and words; times are filled by withTimes(). */
export function nodeConditions(p: PressureState, notReadyMessage: string | undefined): Omit<NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'>[] {
  const list: [string, ConditionText][] = [
    ['MemoryPressure', p.memory
      ? ['True', 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available']
      : ['False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available']],
    ['DiskPressure', p.disk
      ? ['True', 'KubeletHasDiskPressure', 'kubelet has disk pressure']
      : ['False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure']],
    ['PIDPressure', p.pid
      ? ['True', 'KubeletHasInsufficientPID', 'kubelet has insufficient PID available']
      : ['False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available']],
    ['Ready', notReadyMessage === undefined
      ? ['True', 'KubeletReady', 'kubelet is posting ready status']
      : ['False', 'KubeletNotReady', notReadyMessage]],
  ];
  return list.map(([type, [status, reason, message]]) => ({ type, status, reason, message }));
}

/** Heartbeat now; lastTransitionTime kept from the current condition when the status did not change. */
export function withTimes(conditions: Omit<NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'>[], current: NodeCondition[] | undefined, now: string): NodeCondition[] {
  return conditions.map((c) => {
    const old = current?.find((o) => o.type === c.type);
    const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastHeartbeatTime: now, lastTransitionTime };
  });
}

async function osImage(): Promise<string> {
  const text = await readText('/etc/os-release') ?? await readText('/usr/lib/os-release') ?? '';
  const m = /^PRETTY_NAME=(.*)$/m.exec(text);
  return m ? m[1].replace(/^["']|["']$/g, '') : 'Linux';
}

/** status.nodeInfo; containerRuntimeVersion is `<runtime_name>://<runtime_version>` from CRI Version. */
export async function nodeSystemInfo(runtime: { runtime_name: string; runtime_version: string }): Promise<NodeSystemInfo> {
  return {
    machineID: await readText('/etc/machine-id') ?? await readText('/var/lib/dbus/machine-id') ?? '',
    systemUUID: (await readText('/sys/class/dmi/id/product_uuid') ?? '').toLowerCase(),
    bootID: await readText('/proc/sys/kernel/random/boot_id') ?? '',
    kernelVersion: release(),
    osImage: await osImage(),
    containerRuntimeVersion: `${runtime.runtime_name}://${runtime.runtime_version}`,
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: '',
    operatingSystem: 'linux',
    architecture: goArch(),
  };
}
