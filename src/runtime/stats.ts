// Container usage from cgroup v1 files (this host's hierarchy): cpuacct.usage for CPU time and
// memory usage minus inactive file pages for the working set, as cAdvisor and kubelet compute it.
// https://kubernetes.io/docs/reference/instrumentation/node-metrics/
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpuUsage, DeepPartial, MemoryUsage } from '../cri/types.ts';

export const CGROUP_ROOT = '/sys/fs/cgroup';

async function readNumber(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

async function memoryStat(dir: string): Promise<Record<string, number>> {
  const text = await readFile(join(dir, 'memory.stat'), 'utf8').catch(() => '');
  return Object.fromEntries(text.split('\n').filter(Boolean).map((l) => {
    const [k, v] = l.split(' ');
    return [k, Number(v)];
  }));
}

export interface CgroupUsage {
  cpu: DeepPartial<CpuUsage>;
  memory: DeepPartial<MemoryUsage>;
}

export async function cgroupUsage(cgroupsPath: string, now = Date.now() * 1e6): Promise<CgroupUsage> {
  const cpuNs = await readNumber(join(CGROUP_ROOT, 'cpuacct', cgroupsPath, 'cpuacct.usage'));
  const memDir = join(CGROUP_ROOT, 'memory', cgroupsPath);
  const usage = await readNumber(join(memDir, 'memory.usage_in_bytes'));
  const limit = await readNumber(join(memDir, 'memory.limit_in_bytes'));
  const stat = await memoryStat(memDir);
  const inactiveFile = stat.total_inactive_file ?? stat.inactive_file ?? 0;
  const workingSet = usage === undefined ? undefined : Math.max(0, usage - inactiveFile);
  return {
    cpu: { timestamp: now, usage_core_nano_seconds: cpuNs === undefined ? null : { value: cpuNs } },
    memory: {
      timestamp: now,
      working_set_bytes: workingSet === undefined ? null : { value: workingSet },
      usage_bytes: usage === undefined ? null : { value: usage },
      rss_bytes: stat.total_rss !== undefined ? { value: stat.total_rss } : null,
      available_bytes: limit !== undefined && workingSet !== undefined && limit < 2 ** 62 ? { value: Math.max(0, limit - workingSet) } : null,
      page_faults: stat.total_pgfault !== undefined ? { value: stat.total_pgfault } : null,
      major_page_faults: stat.total_pgmajfault !== undefined ? { value: stat.total_pgmajfault } : null,
    },
  };
}

/** Whether the kernel OOM-killed a process of the cgroup (cgroup v1 memory.oom_control). */
export async function wasOomKilled(cgroupsPath: string): Promise<boolean> {
  const text = await readFile(join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.oom_control'), 'utf8').catch(() => '');
  const m = /oom_kill (\d+)/.exec(text);
  return !!m && Number(m[1]) > 0;
}

/** Removes a (pod-level) cgroup directory from every v1 hierarchy; runc removes containers' own. */
export async function removeCgroup(cgroupsPath: string): Promise<void> {
  for (const controller of await readdir(CGROUP_ROOT).catch(() => [] as string[])) {
    await rmdir(join(CGROUP_ROOT, controller, cgroupsPath)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') throw new Error(`cannot remove cgroup ${controller}${cgroupsPath}: ${err.message}`);
    });
  }
}
