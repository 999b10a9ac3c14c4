// Quality of service and a container's Linux resources, computed as kubelet does from requests
// and limits: cpu shares from the request, a CFS quota from the limit, the memory limit, and an
// oom_score_adj by class (never negative here: lowering it needs CAP_SYS_RESOURCE).
// https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/
// https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#node-out-of-memory-behavior
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { DeepPartial, LinuxContainerResources } from '../cri/types.ts';
import { intValue, milliValue } from '../scheduler/resources.ts';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export const MIN_CPU_SHARES = 2;
export const CPU_PERIOD_US = 100_000;
export const MIN_CPU_QUOTA_US = 1000;

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/** The pod's QoS class (status.qosClass). */
export function qosClass(pod: Pod): QosClass {
  let any = false;
  let guaranteed = true;
  for (const c of allContainers(pod)) {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const req = requests[r];
      const lim = limits[r];
      if (req !== undefined || lim !== undefined) any = true;
      if (lim === undefined) guaranteed = false;
      else if (req !== undefined && milliValue(req) !== milliValue(lim)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The pod's cgroup under Skiff's own hierarchy, laid out as kubelet's cgroupfs driver lays out /kubepods. */
export function podCgroupParent(pod: Pod): string {
  const qos = qosClass(pod);
  const tier = qos === 'Guaranteed' ? '' : `/${qos.toLowerCase()}`;
  return `/skiff/kubepods${tier}/pod${pod.metadata?.uid ?? ''}`;
}

/** kubelet's MilliCPUToShares. */
export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_CPU_SHARES;
  return Math.max(MIN_CPU_SHARES, Math.floor((milli * 1024) / 1000));
}

/** kubelet's MilliCPUToQuota for the default 100 ms period. */
export function milliCpuToQuota(milli: number): number {
  if (milli === 0) return 0;
  return Math.max(MIN_CPU_QUOTA_US, Math.floor((milli * CPU_PERIOD_US) / 1000));
}

/**
 * oom_score_adj by class (kubelet's GetContainerOOMScoreAdjust) except that Guaranteed gets 0
 * instead of -997: this host cannot lower scores.
 */
export function oomScoreAdj(pod: Pod, container: Container, memoryCapacityBytes: number): number {
  const qos = qosClass(pod);
  if (qos === 'Guaranteed') return 0;
  if (qos === 'BestEffort') return 1000;
  const request = container.resources?.requests?.memory;
  const memRequest = request === undefined ? 0 : intValue(request);
  if (memoryCapacityBytes <= 0) return 999;
  const adj = 1000 - Math.floor((1000 * memRequest) / memoryCapacityBytes);
  return Math.min(999, Math.max(2, adj));
}

export function linuxResources(pod: Pod, container: Container, memoryCapacityBytes: number): DeepPartial<LinuxContainerResources> {
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  // An unset request defaults to the limit (API defaulting does it too; this covers static pods).
  const cpuRequest = requests.cpu ?? limits.cpu;
  const out: DeepPartial<LinuxContainerResources> = {
    cpu_shares: milliCpuToShares(cpuRequest === undefined ? 0 : milliValue(cpuRequest)),
    oom_score_adj: oomScoreAdj(pod, container, memoryCapacityBytes),
  };
  if (limits.cpu !== undefined) {
    out.cpu_period = CPU_PERIOD_US;
    out.cpu_quota = milliCpuToQuota(milliValue(limits.cpu));
  }
  if (limits.memory !== undefined) out.memory_limit_in_bytes = intValue(limits.memory);
  return out;
}
