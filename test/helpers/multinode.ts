// Clusters of several nodes on one machine, for tests: every node is a network namespace of its
// own (`skiff-n<i>-<id>`), joined by a veth to a bridge in an underlay namespace
// (`skiff-ul-<id>`), like machines on one LAN. Underlay addresses (192.168.77.0/24 by default)
// exist only inside these namespaces and none of them has a route out, so nothing a test sends
// can reach the host's own network. Fake pods are namespaces (`skiff-p<k>-<id>`) with a veth on
// a node's skiff0 bridge. cleanup() deletes every namespace (and with it every link) it made; a
// run that died before its cleanup is swept by the next createMultiNode (see sweepDeadRuns).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from '../../src/runtime/command.ts';
import { formatIpv4, parseIpv4, parseIpv4Cidr } from '../../src/network/cidr.ts';

const IP = '/usr/sbin/ip';
export const UNDERLAY_BRIDGE = 'skiff-ulbr';
/** The node's end of its underlay veth. */
export const NODE_UNDERLAY_DEV = 'skiffeth0';

export interface TestNode {
  index: number;
  /** Node name to register in the API. */
  name: string;
  netns: string;
  underlayIp: string;
  underlayDev: string;
}

export interface FakePod {
  name: string;
  netns: string;
  node: TestNode;
  ip: string;
  /** Runs a program inside the pod's namespace; never throws (inspect code). */
  exec(file: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** busybox ping inside the pod: true when a reply came. */
  ping(ip: string, opts?: { count?: number; timeoutSeconds?: number }): Promise<boolean>;
  remove(): Promise<void>;
}

export interface MultiNode {
  id: string;
  underlayNs: string;
  /** The underlay bridge's own address: "outside the cluster" for pods (e.g. to test masquerade). */
  underlayGateway: string;
  nodes: TestNode[];
  /** Runs a program inside a node's namespace; never throws (inspect code). */
  exec(node: TestNode | number, file: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** `ip <args>` inside a node's namespace; stdout; throws on failure. */
  ip(node: TestNode | number, args: string[]): Promise<string>;
  /** A fake pod on node's skiff0 bridge with the given address (or the next free one, from .10) of podCidr. */
  addPod(node: TestNode | number, podCidr: string, opts?: { ip?: string }): Promise<FakePod>;
  cleanup(): Promise<void>;
}

/** One file per live harness: the pid that made it and its namespaces. */
const RUNS_DIR = '/run/skiff/multinode';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes the namespaces of harnesses whose process is gone (killed tests never ran cleanup). */
export async function sweepDeadRuns(): Promise<string[]> {
  const swept: string[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(RUNS_DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return swept;
    throw e;
  }
  for (const f of files) {
    const file = join(RUNS_DIR, f);
    const run0 = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; namespaces: string[] };
    if (alive(run0.pid)) continue;
    for (const ns of run0.namespaces.filter((n) => n.startsWith('skiff-'))) {
      const r = await run(IP, ['netns', 'del', ns], { allowFailure: true });
      if (r.code === 0) swept.push(ns);
    }
    rmSync(file, { force: true });
  }
  return swept;
}

async function ip(args: string[], opts?: RunOptions): Promise<string> {
  return (await run(IP, args, opts)).stdout.toString();
}

export async function createMultiNode(opts: { nodes?: number; underlayCidr?: string } = {}): Promise<MultiNode> {
  if (process.getuid?.() !== 0) throw new Error('the multi-node harness needs root (network namespaces)');
  const count = opts.nodes ?? 3;
  const underlay = parseIpv4Cidr(opts.underlayCidr ?? '192.168.77.0/24');
  if (count < 1 || count > 50) throw new Error(`nodes must be 1..50, got ${count}`);
  const id = randomBytes(3).toString('hex');
  const underlayNs = `skiff-ul-${id}`;
  const created: string[] = []; // namespaces, deleted in reverse
  const pods = new Set<FakePod>();
  const nextPodOffset = new Map<number, number>();
  let podCount = 0;
  await sweepDeadRuns();
  mkdirSync(RUNS_DIR, { recursive: true });
  const runFile = join(RUNS_DIR, `${id}.json`);
  const record = () => writeFileSync(runFile, JSON.stringify({ pid: process.pid, namespaces: created }));

  const addNs = async (name: string) => {
    created.push(name);
    record(); // before it exists: a crash right after still leaves it findable
    try {
      await ip(['netns', 'add', name]);
    } catch (e) {
      created.splice(created.indexOf(name), 1); // not ours to delete later
      record();
      throw e;
    }
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  };

  const cleanup = async () => {
    const errors: string[] = [];
    for (const p of [...pods]) await p.remove().catch((e: Error) => errors.push(e.message));
    for (const ns of created.splice(0).reverse()) {
      const r = await run(IP, ['netns', 'del', ns], { allowFailure: true });
      if (r.code !== 0 && !/No such file/.test(r.stderr.toString())) errors.push(`ip netns del ${ns}: ${r.stderr.toString().trim()}`);
    }
    if (!errors.length) rmSync(runFile, { force: true });
    if (errors.length) throw new Error(`multinode cleanup: ${errors.join('; ')}`);
  };

  const nodes: TestNode[] = [];
  const underlayGateway = formatIpv4(underlay.base + 1);
  try {
    await addNs(underlayNs);
    await ip(['-n', underlayNs, 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge']);
    await ip(['-n', underlayNs, 'addr', 'add', `${underlayGateway}/${underlay.prefix}`, 'dev', UNDERLAY_BRIDGE]);
    await ip(['-n', underlayNs, 'link', 'set', UNDERLAY_BRIDGE, 'up']);
    for (let i = 0; i < count; i++) {
      const netns = `skiff-n${i}-${id}`;
      await addNs(netns);
      const port = `skiff-ul${i}`;
      await ip(['-n', underlayNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', NODE_UNDERLAY_DEV, 'netns', netns]);
      await ip(['-n', underlayNs, 'link', 'set', port, 'master', UNDERLAY_BRIDGE, 'up']);
      const underlayIp = formatIpv4(underlay.base + 11 + i);
      await ip(['-n', netns, 'addr', 'add', `${underlayIp}/${underlay.prefix}`, 'dev', NODE_UNDERLAY_DEV]);
      await ip(['-n', netns, 'link', 'set', NODE_UNDERLAY_DEV, 'up']);
      nodes.push({ index: i, name: netns, netns, underlayIp, underlayDev: NODE_UNDERLAY_DEV });
    }
  } catch (e) {
    await cleanup().catch(() => undefined); // the setup error is the one to report
    throw e;
  }

  const nodeOf = (n: TestNode | number) => (typeof n === 'number' ? nodes[n] : n);
  const exec = (netns: string, file: string, args: string[], o?: RunOptions) =>
    run(IP, ['netns', 'exec', netns, file, ...args], { ...o, allowFailure: true });

  const addPod = async (n: TestNode | number, podCidr: string, o: { ip?: string } = {}): Promise<FakePod> => {
    const node = nodeOf(n);
    const cidr = parseIpv4Cidr(podCidr);
    let podIp = o.ip;
    if (!podIp) {
      const offset = nextPodOffset.get(node.index) ?? 10;
      nextPodOffset.set(node.index, offset + 1);
      podIp = formatIpv4(cidr.base + offset);
    }
    const bridge = JSON.parse(await ip(['-n', node.netns, '-j', 'link', 'show', 'dev', 'skiff0']).catch((e: Error) => {
      throw new Error(`node ${node.name} has no skiff0 bridge yet (the network agent makes it): ${e.message}`);
    })) as { mtu: number }[];
    const mtu = bridge[0].mtu;
    const k = podCount++;
    const name = `skiff-p${k}-${id}`;
    const hostSide = `skiffv${k}`;
    await addNs(name);
    const pod: FakePod = {
      name, netns: name, node, ip: podIp,
      exec: (file, args, ro) => exec(name, file, args, ro),
      async ping(target, po = {}) {
        const r = await exec(name, '/bin/busybox', ['ping', '-c', String(po.count ?? 1), '-W', String(po.timeoutSeconds ?? 2), target],
          { timeoutMs: ((po.timeoutSeconds ?? 2) * (po.count ?? 1) + 10) * 1000 });
        return r.code === 0;
      },
      async remove() {
        pods.delete(pod);
        const i = created.indexOf(name);
        if (i >= 0) created.splice(i, 1);
        record();
        await run(IP, ['-n', node.netns, 'link', 'del', hostSide], { allowFailure: true }); // gone with the netns anyway
        const r = await run(IP, ['netns', 'del', name], { allowFailure: true });
        if (r.code !== 0 && !/No such file/.test(r.stderr.toString())) throw new Error(`ip netns del ${name}: ${r.stderr.toString().trim()}`);
      },
    };
    pods.add(pod);
    await ip(['-n', node.netns, 'link', 'add', hostSide, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(mtu), 'netns', name]);
    await ip(['-n', node.netns, 'link', 'set', hostSide, 'master', 'skiff0', 'up']);
    await ip(['-n', name, 'addr', 'add', `${podIp}/${cidr.prefix}`, 'dev', 'eth0']);
    await ip(['-n', name, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', name, 'route', 'add', 'default', 'via', formatIpv4(cidr.base + 1), 'dev', 'eth0']);
    return pod;
  };

  return {
    id, underlayNs, underlayGateway, nodes,
    exec: (n, file, args, o) => exec(nodeOf(n).netns, file, args, o),
    ip: (n, args) => ip(['-n', nodeOf(n).netns, ...args]),
    addPod,
    cleanup,
  };
}

/** Whether ipText lies in cidrText. */
export function inCidr(ipText: string, cidrText: string): boolean {
  const c = parseIpv4Cidr(cidrText);
  const n = parseIpv4(ipText);
  return n >= c.base && n < c.base + 2 ** (32 - c.prefix);
}
