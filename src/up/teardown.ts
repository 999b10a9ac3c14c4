// `skiff down`: stops a `skiff up` cluster and removes everything it made on the machine, as
// k3s's killall script does: the running `skiff up`, every container and pod sandbox (through
// the runtime itself, so CNI, mounts and cgroups are undone the same way a pod removal does),
// then whatever is left: mounts under the data dir, the pod bridge, the cluster's nft tables,
// the unreachable routes for the cluster and service CIDRs, and Skiff's cgroups.
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCriClient } from '../cri/client.ts';
import { run } from '../runtime/command.ts';
import { runtimeMain } from '../runtime/main.ts';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from '../network/index.ts';
import { BRIDGE_DEVICE } from '../network/links.ts';
import { clusterLayout } from './layout.ts';

export interface TeardownOptions {
  dataDir: string;
  purge: boolean;
  /** Progress lines for the user. */
  log: (line: string) => void;
}

/** The cluster and service CIDRs whose `unreachable` safety routes a cluster installs. */
export const SAFETY_ROUTES = [DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR];
/** Links the single-node cluster makes in the host's network namespace. */
export const CLUSTER_LINKS = [BRIDGE_DEVICE];
const CGROUP_ROOT = '/sys/fs/cgroup';

/** The PID of the `skiff up` that owns dataDir, if one is running. */
export function runningUpPid(dataDir: string): number | undefined {
  const file = clusterLayout(dataDir).pidFile;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // A recycled PID is not ours: the process must be a skiff `up`.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('skiff') || a.endsWith('main.ts')) && cmdline.includes('up') ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopRunningUp(dataDir: string, log: (l: string) => void): Promise<void> {
  const pid = runningUpPid(dataDir);
  if (!pid) return;
  log(`stopping skiff up (pid ${pid})`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 100));
  if (existsSync(`/proc/${pid}`)) {
    log(`skiff up (pid ${pid}) did not stop within 30 s: killing it`);
    process.kill(pid, 'SIGKILL');
  }
}

/** Stops and removes every pod sandbox (and so every container) the cluster's runtime knows. */
async function removeAllPods(runtimeRoot: string, log: (l: string) => void): Promise<void> {
  if (!existsSync(runtimeRoot)) return;
  const socket = join(tmpdir(), `skiff-down-${process.pid}.sock`);
  const daemon = await runtimeMain({ root: runtimeRoot, listen: `unix://${socket}`, log: () => undefined });
  const cri = createCriClient(daemon.server.endpoint, { timeoutMs: 60_000 });
  try {
    const { items } = await cri.listPodSandbox({});
    if (items.length) log(`removing ${items.length} pod sandbox(es) and their containers`);
    for (const s of items) {
      // A zero timeout: the cluster is going away, as kubelet's pods would on a node shutdown past its grace.
      for (const c of (await cri.listContainers({ filter: { pod_sandbox_id: s.id } })).containers) {
        await cri.stopContainer({ container_id: c.id, timeout: 0 });
      }
      await cri.stopPodSandbox({ pod_sandbox_id: s.id });
      await cri.removePodSandbox({ pod_sandbox_id: s.id });
    }
  } finally {
    cri.close();
    await daemon.close();
    await rm(socket, { force: true });
  }
}

/** Mount points at or under dir, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string, log: (l: string) => void): Promise<void> {
  const points = mountsUnder(dir);
  if (points.length) log(`unmounting ${points.length} mount(s) under ${dir}`);
  for (const p of points) {
    const r = await run('umount', ['-l', p], { allowFailure: true });
    if (r.code !== 0 && mountsUnder(p).includes(p)) log(`warning: cannot unmount ${p}: ${r.stderr.toString().trim()}`);
  }
}

async function removeLinks(log: (l: string) => void): Promise<void> {
  for (const link of CLUSTER_LINKS) {
    if (!existsSync(`/sys/class/net/${link}`)) continue;
    log(`deleting link ${link}`);
    await run('ip', ['link', 'delete', link], { allowFailure: true });
  }
}

async function removeNftTables(log: (l: string) => void): Promise<void> {
  const r = await run('nft', ['list', 'tables'], { allowFailure: true });
  if (r.code !== 0) return; // no nft binary: then Skiff made no tables either
  for (const line of r.stdout.toString().split('\n')) {
    const m = /^table (\S+) (skiff\S*)$/.exec(line.trim());
    if (!m) continue;
    log(`deleting nft table ${m[1]} ${m[2]}`);
    await run('nft', ['delete', 'table', m[1], m[2]], { allowFailure: true });
  }
}

async function removeSafetyRoutes(log: (l: string) => void): Promise<void> {
  const r = await run('ip', ['-4', 'route', 'show', 'type', 'unreachable'], { allowFailure: true });
  // Every unreachable route for the cluster's ranges, whatever its metric (older agents added them at 0).
  for (const line of r.stdout.toString().split('\n')) {
    const [, cidr, ...rest] = line.trim().split(/\s+/);
    if (!cidr || !SAFETY_ROUTES.includes(cidr)) continue;
    const metric = rest[rest.indexOf('metric') + 1];
    log(`deleting route unreachable ${cidr}`);
    await run('ip', ['route', 'delete', 'unreachable', cidr, ...(rest.includes('metric') ? ['metric', metric] : [])], { allowFailure: true });
  }
}

/** Removes the agent's empty pod cgroups (/skiff/kubepods in each hierarchy), deepest first. */
async function removeCgroups(log: (l: string) => void): Promise<void> {
  const hierarchies = existsSync(join(CGROUP_ROOT, 'cgroup.controllers')) ? [CGROUP_ROOT]
    : (await readdir(CGROUP_ROOT)).map((c) => join(CGROUP_ROOT, c));
  let removed = 0;
  const prune = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await prune(join(dir, e.name));
    if (await rmdir(dir).then(() => true, () => false)) removed++;
  };
  for (const h of hierarchies) if (existsSync(join(h, 'skiff', 'kubepods'))) await prune(join(h, 'skiff', 'kubepods'));
  if (removed) log(`removed ${removed} cgroup(s)`);
}

export async function teardownCluster(o: TeardownOptions): Promise<void> {
  const layout = clusterLayout(o.dataDir);
  await stopRunningUp(o.dataDir, o.log);
  await removeAllPods(layout.runtimeRoot, o.log);
  await unmountUnder(o.dataDir, o.log);
  await removeLinks(o.log);
  await removeNftTables(o.log);
  await removeSafetyRoutes(o.log);
  await removeCgroups(o.log);
  await rm(layout.pidFile, { force: true });
  if (o.purge) {
    o.log(`deleting ${o.dataDir}`);
    await rm(o.dataDir, { recursive: true, force: true });
  }
}
