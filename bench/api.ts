// npm run bench:api — the API server against its own store's physical limit, in one run.
// Prints one table: creates/s (1 and 32 clients) beside raw node:sqlite inserts of the same
// payloads, GET p50/p99, LIST of 50,000 pods (time, bytes) with the server's RSS, and the
// p99 delivery latency of one event to 500 watchers. Beside the creates, an HTTPS + JSON echo
// server with nothing behind it (bench/https-echo.ts) gives the transport's own ceiling here.
// `-- --store etcd` also starts a 3-member etcd cluster (test/helpers/etcd-cluster.ts) and runs
// the same measures on a server stored in it, printed beside the SQLite run, then raw etcd
// writes of the same payloads with the same 32 clients (bench/etcd-raw.ts), so the ratio of
// API creates to raw etcd puts can be read off the table. `--pods N` changes the LIST size.
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startServer, type TestServer } from '../test/helpers/skiff-server.ts';
import { startEtcdCluster } from '../test/helpers/etcd-cluster.ts';
import { rawEtcdRates } from './etcd-raw.ts';
import { httpsEchoRate } from './https-echo.ts';

const argv = process.argv.slice(2);
const args = new Set(argv);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const QUICK = args.has('--quick');
const STORE = flag('--store') ?? 'sqlite';
if (STORE !== 'sqlite' && STORE !== 'etcd') throw new Error(`--store must be sqlite or etcd, got "${STORE}"`);
const CREATES = QUICK ? 2000 : 10000;
// 50,000 pods through a 3-member etcd on two cores would take minutes; the row says how many.
const PODS = Number(flag('--pods') ?? (QUICK ? 5000 : STORE === 'etcd' ? 10000 : 50000));
const WATCHERS = 500;
const WATCH_EVENTS = QUICK ? 50 : 200;

function payload(i: number): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { blob: 'x'.repeat(900) } });
}

function pod(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `pod-${i}`, labels: { app: `app-${i % 100}`, 'pod-template-hash': '5d4f8c7b9' } },
    spec: { nodeName: `node-${i % 1000}`, containers: [{ name: 'app', image: 'skiff.local/busybox:latest', command: ['httpd', '-f', '-p', '8080'],
      ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function rawSqliteInsertsPerSecond(n: number): { perTx: number; oneTx: number } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-sqlite-'));
  try {
    const db = new DatabaseSync(join(dir, 'raw.db'));
    db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT)');
    const ins = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
    let t = performance.now();
    for (let i = 0; i < n; i++) ins.run(`/registry/core/configmaps/bench/cm-${i}`, payload(i));
    const perTx = n / ((performance.now() - t) / 1000);
    t = performance.now();
    db.exec('BEGIN');
    for (let i = 0; i < n; i++) ins.run(`/registry/core/configmaps/bench2/cm-${i}`, payload(i));
    db.exec('COMMIT');
    const oneTx = n / ((performance.now() - t) / 1000);
    db.close();
    return { perTx, oneTx };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Row = [measure: string, value: string, target: string];

/** The API measures on one running server. */
async function measureApi(s: TestServer, withEcho = false): Promise<{ rows: Row[]; creates32: number; echo32: number }> {
  const agent = new Agent({ connect: { ca: s.ca }, connections: 64, pipelining: 1 });
  const auth = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' };
  const call = async (method: 'GET' | 'POST', path: string, body?: string) => {
    const res = await request(s.url + path, { method, headers: auth, body, dispatcher: agent });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return text;
  };
  const rows: Row[] = [];
  let c32 = 0;
  let echo32 = 0;
  try {
    for (const ns of ['bench1', 'bench32', 'pods', 'watch']) {
      await call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    }
    const createRate = async (ns: string, clients: number, n: number) => {
      let next = 0;
      const t = performance.now();
      await Promise.all(Array.from({ length: clients }, async () => {
        for (let i = next++; i < n; i = next++) await call('POST', `/api/v1/namespaces/${ns}/configmaps`, payload(i));
      }));
      return n / ((performance.now() - t) / 1000);
    };
    const c1 = await createRate('bench1', 1, Math.min(CREATES, 3000));
    c32 = await createRate('bench32', 32, CREATES);
    // Right after, with the same client: the most any server process gets from HTTPS + JSON here.
    if (withEcho) {
      const tls = { cert: join(s.dataDir, 'tls', 'serving.crt'), key: join(s.dataDir, 'tls', 'serving.key'), ca: s.ca };
      echo32 = await httpsEchoRate(tls, CREATES, 32, payload);
    }
    rows.push(['creates/s, 1 client (1 KiB ConfigMaps)', c1.toFixed(0), '']);
    rows.push(['creates/s, 32 clients', c32.toFixed(0), '>= 3,000 (SQLite)']);

    const lat: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await call('GET', `/api/v1/namespaces/bench32/configmaps/cm-${i % CREATES}`);
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    rows.push(['GET p50 / p99 (ms)', `${pct(lat, 50).toFixed(2)} / ${pct(lat, 99).toFixed(2)}`, '']);

    await (async () => {
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        for (let i = next++; i < PODS; i = next++) await call('POST', '/api/v1/namespaces/pods/pods', pod(i));
      }));
    })();
    const rssStored = rssMb(s.proc.pid!);
    let t = performance.now();
    const list = await call('GET', '/api/v1/pods');
    const listMs = performance.now() - t;
    const count = (JSON.parse(list) as { items: unknown[] }).items.length;
    if (count < PODS) throw new Error(`LIST returned ${count} pods, expected ${PODS}`);
    rows.push([`LIST ${PODS.toLocaleString('en')} pods: time (s) / size (MB)`, `${(listMs / 1000).toFixed(2)} / ${(list.length / 1e6).toFixed(1)}`, '<= 3 s']);
    rows.push([`server RSS with ${PODS.toLocaleString('en')} pods stored, before / after the LIST (MB)`, `${rssStored.toFixed(0)} / ${rssMb(s.proc.pid!).toFixed(0)}`, '']);

    // Watch fan-out: WATCHERS streams on one namespace; each event's delivery latency is
    // measured from just before its create request to its arrival on each watcher.
    const sentAt = new Map<string, number>();
    const delivery: number[] = [];
    let received = 0;
    const watchAgent = new Agent({ connect: { ca: s.ca }, connections: WATCHERS + 10 });
    const aborter = new AbortController();
    const rv = (JSON.parse(await call('GET', '/api/v1/namespaces/watch/configmaps')) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    await Promise.all(Array.from({ length: WATCHERS }, async () => {
      const res = await request(`${s.url}/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion=${rv}`, { headers: auth, dispatcher: watchAgent, signal: aborter.signal });
      let buf = '';
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const name = /"name":"(w-\d+)"/.exec(line)?.[1];
          if (name && sentAt.has(name)) {
            delivery.push(performance.now() - sentAt.get(name)!);
            received++;
          }
        }
      });
      res.body.on('error', () => {});
    }));
    for (let i = 0; i < WATCH_EVENTS; i++) {
      const name = `w-${i}`;
      sentAt.set(name, performance.now());
      await call('POST', '/api/v1/namespaces/watch/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }));
      await new Promise((r) => setTimeout(r, 20));
    }
    t = performance.now();
    while (received < WATCHERS * WATCH_EVENTS && performance.now() - t < 20000) await new Promise((r) => setTimeout(r, 50));
    aborter.abort();
    delivery.sort((a, b) => a - b);
    rows.push([`watch delivery to ${WATCHERS} watchers: p50 / p99 (ms)`, `${pct(delivery, 50).toFixed(1)} / ${pct(delivery, 99).toFixed(1)}`, 'p99 <= 50 ms']);
    rows.push(['watch events delivered / expected', `${received} / ${WATCHERS * WATCH_EVENTS}`, '']);
    await watchAgent.close().catch(() => {});
  } finally {
    await agent.close().catch(() => {});
    await s.cleanup();
  }
  return { rows, creates32: c32, echo32 };
}

/** Prints rows of [measure, value per column..., target]. */
function printTable(columns: string[], rows: string[][]): void {
  const widths = [...columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length))), 0];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : i < columns.length ? c.padStart(widths[i]) : c)).join('  ');
  console.log(line([...columns, 'target']));
  console.log(line([...columns.map((_, i) => '-'.repeat(widths[i])), '------']));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const sqlite = await measureApi(await startServer({ extraArgs: ['--store', 'sqlite'] }), true);
  const raw = rawSqliteInsertsPerSecond(CREATES);
  const sqliteRaw: Row[] = [
    ['raw node:sqlite inserts/s, one transaction each', raw.perTx.toFixed(0), ''],
    ['raw node:sqlite inserts/s, all in one transaction', raw.oneTx.toFixed(0), ''],
    ['API creates (32 clients) / raw per-transaction inserts', `${((sqlite.creates32 / raw.perTx) * 100).toFixed(0)}%`, '>= 40%'],
    ['HTTPS + JSON echo server, no store, 32 clients (transport ceiling)', sqlite.echo32.toFixed(0), ''],
    ['  transport ceiling / raw per-transaction inserts', `${((sqlite.echo32 / raw.perTx) * 100).toFixed(0)}%`, ''],
    ['  API creates (32 clients) / transport ceiling', `${((sqlite.creates32 / sqlite.echo32) * 100).toFixed(0)}%`, ''],
  ];
  if (STORE === 'sqlite') {
    printTable(['measure', 'skiff'], [...sqlite.rows.slice(0, 2), ...sqliteRaw, ...sqlite.rows.slice(2)]);
    return;
  }
  const cluster = await startEtcdCluster(3);
  try {
    const etcdArgs = ['--store', 'etcd', '--etcd-endpoints', cluster.endpoints.join(','), '--etcd-prefix', '/skiff-bench'];
    // The machine's load moves under a long run: raw etcd is measured just before and just after
    // the API run, and the ratio uses their mean.
    const rawBefore = await rawEtcdRates(cluster.endpoints, CREATES, 32, payload);
    const etcd = await measureApi(await startServer({ extraArgs: etcdArgs, timeoutMs: 60_000 }));
    const rawAfter = await rawEtcdRates(cluster.endpoints, CREATES, 32, payload);
    const both = (k: keyof typeof rawBefore) => `${rawBefore[k].toFixed(0)} / ${rawAfter[k].toFixed(0)}`;
    const rawPuts = (rawBefore.puts + rawAfter.puts) / 2;
    const rawPinnedPuts = (rawBefore.pinnedPuts + rawAfter.pinnedPuts) / 2;
    const rows: string[][] = sqlite.rows.map(([m, v, t], i) => [m, v, etcd.rows[i][1], t]);
    const only = (r: Row, column: 'sqlite' | 'etcd') => (column === 'sqlite' ? [r[0], r[1], '', r[2]] : [r[0], '', r[1], r[2]]);
    printTable(['measure', 'sqlite', 'etcd (3 members)'], [
      ...rows.slice(0, 2),
      ...sqliteRaw.map((r) => only(r, 'sqlite')),
      ...([
        ['raw etcd puts/s, 32 clients (etcd3 client, same payloads), before / after', both('puts'), ''],
        ['raw etcd puts/s, 32 clients, all to the leader (as the API server sends), before / after', both('pinnedPuts'), ''],
        ['raw etcd create txns/s to the leader (what EtcdStore.create sends), before / after', both('createTxns'), ''],
        ['API creates (32 clients) / mean raw etcd puts (32 clients)', `${((etcd.creates32 / rawPuts) * 100).toFixed(0)}%`, '>= 50%'],
        ['  API creates / mean raw etcd puts to the leader', `${((etcd.creates32 / rawPinnedPuts) * 100).toFixed(0)}%`, ''],
      ] as Row[]).map((r) => only(r, 'etcd')),
      ...rows.slice(2),
    ]);
  } finally {
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
