// npm run bench:api — the API server against its own store's physical limit, in one run.
// Prints one table: creates/s (1 and 32 clients) beside raw node:sqlite inserts of the same
// payloads, GET p50/p99, LIST of 50,000 pods (time, bytes) with the server's RSS, and the
// p99 delivery latency of one event to 500 watchers.
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startServer } from '../test/helpers/skiff-server.ts';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const CREATES = QUICK ? 2000 : 10000;
const PODS = QUICK ? 5000 : 50000;
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

async function main(): Promise<void> {
  const s = await startServer();
  const agent = new Agent({ connect: { ca: s.ca }, connections: 64, pipelining: 1 });
  const auth = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' };
  const call = async (method: 'GET' | 'POST', path: string, body?: string) => {
    const res = await request(s.url + path, { method, headers: auth, body, dispatcher: agent });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return text;
  };
  const rows: [string, string, string][] = [];
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
    const c32 = await createRate('bench32', 32, CREATES);
    const raw = rawSqliteInsertsPerSecond(CREATES);
    rows.push(['creates/s, 1 client (1 KiB ConfigMaps)', c1.toFixed(0), '']);
    rows.push(['creates/s, 32 clients', c32.toFixed(0), '>= 3,000']);
    rows.push(['raw node:sqlite inserts/s, one transaction each', raw.perTx.toFixed(0), '']);
    rows.push(['raw node:sqlite inserts/s, all in one transaction', raw.oneTx.toFixed(0), '']);
    rows.push(['API creates (32 clients) / raw per-transaction inserts', `${((c32 / raw.perTx) * 100).toFixed(0)}%`, '>= 40%']);

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
  const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.max(...rows.map((r) => r[1].length), 8);
  console.log(`${'measure'.padEnd(w0)}  ${'skiff'.padStart(w1)}  target`);
  console.log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ------`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
