// npm run bench:proxy — the service proxy's data plane at 1 to 50,000 Services (5 endpoints
// each), beside the classic kube-proxy iptables layout, in one run, entirely inside a network
// namespace the bench creates (skiff-bench-proxy-<pid>; deleted at the end).
//
// The bench drives the proxy's rule layer directly (ProxyState → nft, the same code and nft
// session startProxy uses), without an API server, to measure the data plane alone:
//   (a) full sync: plan + one `nft -f` transaction of the whole table (start-up form);
//   (b) add or remove one Service: incremental transaction through the proxy's nft session;
//   (c) one endpoint of one Service replaced: same;
//   (d) TCP connect latency (median of CONNECTS) to the first, middle and last Service: a real
//       connect from inside the namespace through the DNAT to a listener there.
// Baseline: a chain per Service and per endpoint, `-m statistic --mode random`, one full
// `iptables-restore` per change (Debian's iptables, nf_tables backend); it stops at the first
// count where one change takes more than 60 s.
//
// Addresses (inside the namespace only): Services 10.43.0.0/16 routed to a veth;
// endpoints 10.42.0.0/16 as a local route, so the listener on 0.0.0.0 answers for all of them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect, createServer } from 'node:net';
import type { ServicePort } from '../src/proxy/model.ts';
import { NftSession, runNft } from '../src/proxy/nft.ts';
import { ProxyState } from '../src/proxy/state.ts';

const ENDPOINTS = 5;
const BASE_PORT = 8000;
const CONNECTS = 300;
const CHANGES = 10;
const BASELINE_LIMIT_MS = 60_000;
const CLIENT_ADDRESS = '10.42.255.254';

const vip = (i: number) => `10.43.${(i >> 8) & 255}.${i & 255}`;
// Endpoint k of Service i: distinct addresses in 10.42.0.0/16 (wrapping; the maps are keyed by Service and slot).
const epIP = (i: number, k: number) => {
  const n = (i * ENDPOINTS + k) % 65000 + 1;
  return `10.42.${n >> 8}.${n & 255}`;
};

function servicePort(i: number, variant = 0): ServicePort {
  return {
    key: `bench/svc-${i}/http`, protocol: 'tcp', port: 80, clusterIPs: [vip(i)], externalIPs: [], internalLocal: false, externalLocal: false,
    endpoints: Array.from({ length: ENDPOINTS }, (_, k) => ({ ip: k === 0 && variant ? `10.42.254.${variant}` : epIP(i, k), port: BASE_PORT + k, nodeName: 'node-b' })),
  };
}

// ---- the connector: runs inside the namespace (ip netns exec ... bench/proxy.ts --connector) ----
async function connector(): Promise<void> {
  for (let k = 0; k < ENDPOINTS; k++) {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((res) => server.listen(BASE_PORT + k, '0.0.0.0', res));
  }
  const once = (host: string) => new Promise<number>((res, rej) => {
    const t = performance.now();
    const s = connect({ host, port: 80, localAddress: CLIENT_ADDRESS });
    const timer = setTimeout(() => { s.destroy(); rej(new Error(`connect to ${host}:80 timed out`)); }, 5000);
    s.once('connect', () => { clearTimeout(timer); res(performance.now() - t); s.destroy(); });
    s.once('error', (e) => { clearTimeout(timer); rej(e); });
  });
  console.log('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const [list, n] = line.split(' ');
    const hosts = list.split(',');
    try {
      // Warm up, then interleave the targets so that machine load drifts hit them alike.
      for (const h of hosts) for (let i = 0; i < 10; i++) await once(h);
      const times = hosts.map(() => [] as number[]);
      for (let i = 0; i < Number(n); i++) for (const [j, h] of hosts.entries()) times[j].push(await once(h));
      console.log(JSON.stringify({ medians: times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]) }));
    } catch (e) {
      console.log(JSON.stringify({ error: (e as Error).message }));
    }
  }
}

// ---- the bench ----
function sh(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.slice(0, 6).join(' ')} failed (${code}): ${err.slice(0, 500)}`))));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

class Connector {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(netns: string) {
    this.child = spawn('ip', ['netns', 'exec', netns, process.execPath, import.meta.filename, '--connector'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async ready(): Promise<void> {
    const l = await this.lines.next();
    if (l.value !== 'ready') throw new Error(`connector did not start: ${l.value}`);
  }
  async medians(hosts: string[]): Promise<[number, number, number]> {
    this.child.stdin!.write(`${hosts.join(',')} ${CONNECTS}\n`);
    const r = JSON.parse((await this.lines.next()).value) as { medians?: [number, number, number]; error?: string };
    if (r.error) throw new Error(r.error);
    return r.medians!;
  }
  stop(): void {
    this.child.kill();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

interface Row { full: number; change: number; endpoint: number; connect: [number, number, number] }

async function benchNft(netns: string, counts: number[], connector: Connector): Promise<Map<number, Row>> {
  const rows = new Map<number, Row>();
  const cfg = { nodeName: 'node-a', nodeAddresses: [], clusterCidr: '10.42.0.0/16' };
  const state = new ProxyState(cfg);
  const session = new NftSession(netns);
  let have = 0;
  try {
    for (const n of counts) {
      for (; have < n; have++) state.setService(`bench/svc-${have}`, [servicePort(have)]);
      const full = await time(async () => {
        const plan = state.planFull(true);
        await runNft(netns, ['-f', '-'], plan.script);
        plan.commit();
      });
      const apply = async () => {
        const plan = state.planIncremental();
        await session.apply(plan.script);
        plan.commit();
      };
      // Warm-up: the first transaction after a full sync refreshes the session's cache.
      state.setService('bench/warmup', [{ ...servicePort(60100), key: 'bench/warmup/http', clusterIPs: ['10.43.254.1'] }]);
      await apply();
      state.setService('bench/warmup', []);
      await apply();
      const changes: number[] = [];
      for (let c = 0; c < CHANGES; c++) {
        changes.push(await time(async () => { state.setService(`bench/extra-${c}`, [{ ...servicePort(60000 + c), key: `bench/extra-${c}/http`, clusterIPs: [`10.43.255.${c + 1}`] }]); await apply(); }));
        changes.push(await time(async () => { state.setService(`bench/extra-${c}`, []); await apply(); }));
      }
      const mid = Math.floor(n / 2);
      const endpoint: number[] = [];
      for (let c = 0; c < CHANGES; c++) endpoint.push(await time(async () => { state.setService(`bench/svc-${mid}`, [servicePort(mid, c + 1)]); await apply(); }));
      state.setService(`bench/svc-${mid}`, [servicePort(mid)]);
      await apply();
      const connect = await connector.medians([vip(0), vip(mid), vip(n - 1)]);
      rows.set(n, { full, change: median(changes), endpoint: median(endpoint), connect });
      console.error(`nft ${n}: ${JSON.stringify(rows.get(n))}`);
    }
  } finally {
    await session.close();
    await runNft(netns, ['-f', '-'], 'add table ip skiff-proxy\ndelete table ip skiff-proxy\n');
  }
  return rows;
}

/** kube-proxy's iptables layout for services 0..n-1 plus extras. */
function iptablesRules(ports: ServicePort[]): string {
  const chains: string[] = [':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]'];
  const rules: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  ];
  ports.forEach((sp, s) => {
    const svc = `KUBE-SVC-${s.toString(36).toUpperCase().padStart(8, '0')}`;
    chains.push(`:${svc} - [0:0]`);
    const ip = sp.clusterIPs[0];
    rules.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "${sp.key} cluster IP" -m tcp --dport ${sp.port} -j ${svc}`);
    rules.push(`-A ${svc} ! -s 10.42.0.0/16 -d ${ip}/32 -p tcp -m tcp --dport ${sp.port} -j KUBE-MARK-MASQ`);
    sp.endpoints.forEach((ep, k) => {
      const sep = `KUBE-SEP-${s.toString(36).toUpperCase().padStart(8, '0')}${k}`;
      chains.push(`:${sep} - [0:0]`);
      const left = sp.endpoints.length - k;
      rules.push(left > 1
        ? `-A ${svc} -m comment --comment "${sp.key} -> ${ep.ip}:${ep.port}" -m statistic --mode random --probability ${(1 / left).toFixed(11)} -j ${sep}`
        : `-A ${svc} -m comment --comment "${sp.key} -> ${ep.ip}:${ep.port}" -j ${sep}`);
      rules.push(`-A ${sep} -s ${ep.ip}/32 -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -p tcp -m tcp -j DNAT --to-destination ${ep.ip}:${ep.port}`);
    });
  });
  return `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${chains.join('\n')}\n${rules.join('\n')}\nCOMMIT\n`;
}

async function benchIptables(netns: string, counts: number[], connector: Connector): Promise<Map<number, Row | 'stopped'>> {
  const rows = new Map<number, Row | 'stopped'>();
  const restore = (ports: ServicePort[]) => time(() => sh('ip', ['netns', 'exec', netns, 'iptables-restore'], iptablesRules(ports)));
  let stopped = false;
  for (const n of counts) {
    if (stopped) {
      rows.set(n, 'stopped');
      continue;
    }
    const ports = Array.from({ length: n }, (_, i) => servicePort(i));
    const full = await restore(ports);
    // One change is one full restore (kube-proxy rewrites its chains on every sync).
    const change = await restore([...ports, { ...servicePort(60000), key: 'bench/extra/http', clusterIPs: ['10.43.255.1'] }]);
    const mid = Math.floor(n / 2);
    let endpoint = Number.NaN; // not measured once a change is over the limit
    if (change <= BASELINE_LIMIT_MS) {
      const changed = [...ports];
      changed[mid] = servicePort(mid, 1);
      endpoint = await restore(changed);
      await restore(ports);
    }
    const connect = await connector.medians([vip(0), vip(mid), vip(n - 1)]);
    rows.set(n, { full, change, endpoint, connect });
    console.error(`iptables ${n}: ${JSON.stringify(rows.get(n))}`);
    if (Math.max(change, endpoint) > BASELINE_LIMIT_MS) stopped = true;
  }
  await sh('ip', ['netns', 'exec', netns, 'iptables-restore'], '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n');
  return rows;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const counts = quick ? [1, 1000, 5000] : [1, 1000, 5000, 20000, 50000];
  const netns = `skiff-bench-proxy-${process.pid}`;
  await sh('ip', ['netns', 'add', netns]);
  let connector: Connector | undefined;
  try {
    const inNs = (args: string[]) => sh('ip', ['netns', 'exec', netns, ...args]);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);
    // A veth pair stands in for a dummy device (no dummy module on this kernel).
    await inNs(['ip', 'link', 'add', 'skiffsvc0', 'type', 'veth', 'peer', 'name', 'skiffsvc1']);
    await inNs(['ip', 'link', 'set', 'skiffsvc0', 'up']);
    await inNs(['ip', 'link', 'set', 'skiffsvc1', 'up']);
    await inNs(['ip', 'route', 'add', '10.43.0.0/16', 'dev', 'skiffsvc0']);
    await inNs(['ip', 'route', 'add', 'local', '10.42.0.0/16', 'dev', 'lo']);
    connector = new Connector(netns);
    await connector.ready();
    const nft = await benchNft(netns, counts, connector);
    // --no-baseline: skiff only (the baseline takes most of the run's 25 minutes).
    const ipt = process.argv.includes('--no-baseline') ? new Map<number, Row | 'stopped'>() : await benchIptables(netns, counts, connector);
    printTable(counts, nft, ipt);
  } finally {
    connector?.stop();
    await sh('ip', ['netns', 'delete', netns]).catch((e: Error) => console.error(e.message));
  }
}

function printTable(counts: number[], nft: Map<number, Row>, ipt: Map<number, Row | 'stopped'>): void {
  const ms = (x: number) => (Number.isNaN(x) ? 'skipped' : x >= 10_000 ? `${(x / 1000).toFixed(0)} s` : x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
  const cell = (r: Row | 'stopped' | undefined, f: (r: Row) => string) => (r === undefined ? '' : r === 'stopped' ? 'stopped (>60 s/change)' : f(r));
  const measures: [string, (r: Row) => string, string][] = [
    ['(a) full sync', (r) => ms(r.full), '<= 10 s at 50,000'],
    ['(b) add/remove one service', (r) => ms(r.change), '<= 5 ms at 50,000'],
    ['(c) one endpoint change', (r) => ms(r.endpoint), '<= 5 ms at 50,000'],
    ['(d) connect first / middle / last (ms)', (r) => r.connect.map((c) => c.toFixed(3)).join(' / '), 'flat within 10%'],
  ];
  const rows: string[][] = [];
  for (const [name, f, target] of measures) {
    for (const n of counts) {
      rows.push([`${name}, ${n.toLocaleString('en')} services`, cell(nft.get(n), f), cell(ipt.get(n), f), n === counts[counts.length - 1] ? target : '']);
    }
  }
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['measure', 'skiff nftables', 'iptables baseline'][i].length));
  console.log(`${'measure'.padEnd(w[0])}  ${'skiff nftables'.padStart(w[1])}  ${'iptables baseline'.padStart(w[2])}  target`);
  console.log(`${'-'.repeat(w[0])}  ${'-'.repeat(w[1])}  ${'-'.repeat(w[2])}  ------`);
  for (const r of rows) console.log(`${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}  ${r[3]}`);
  console.log(`\n${ENDPOINTS} endpoints per service; changes are medians of ${CHANGES * 2} (b) and ${CHANGES} (c); connects are medians of ${CONNECTS}.`);
  console.log('skiff: the proxy\'s rule layer (ProxyState) and nft session driven directly, no API server. Baseline: iptables-restore (nf_tables backend) of the whole nat table per change.');
}

if (process.argv.includes('--connector')) {
  connector().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
