// The transport ceiling for bench:api: what this machine gives a server process that does
// nothing but HTTPS and JSON. A child process (like `skiff server`) with the API server's own
// certificate answers each POST with the parsed body, a uid added, re-serialized, as 201; the
// benchmark drives it with the same client, payloads and 32 connections as the API creates. No
// API server can create faster than this here, whatever its store.
// Run directly (`node bench/https-echo.ts serve CERT KEY`) it is that server and prints its port.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

function serve(certFile: string, keyFile: string): void {
  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const obj = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata?: Record<string, unknown> };
      obj.metadata = { ...obj.metadata, uid: '00000000-0000-0000-0000-000000000000' };
      const body = JSON.stringify(obj);
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
}

/** POSTs/s the echo server answers with `clients` concurrent clients. */
export async function httpsEchoRate(tls: { cert: string; key: string; ca: string }, n: number, clients: number, payload: (i: number) => string): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', tls.cert, tls.key], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the echo server did not start within 30 s')), 30_000);
      child.once('message', (m) => { clearTimeout(timer); resolve(Number(m)); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the echo server exited with ${code}`)); });
    });
    const agent = new Agent({ connect: { ca: tls.ca }, connections: 64, pipelining: 1 });
    let next = 0;
    const t = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      for (let i = next++; i < n; i = next++) {
        const res = await request(`https://127.0.0.1:${port}/api/v1/namespaces/echo/configmaps`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: payload(i), dispatcher: agent,
        });
        await res.body.text();
        if (res.statusCode !== 201) throw new Error(`echo server answered ${res.statusCode}`);
      }
    }));
    const rate = n / ((performance.now() - t) / 1000);
    await agent.close();
    return rate;
  } finally {
    child.disconnect();
  }
}

if (process.argv[2] === 'serve' && process.argv[1] === fileURLToPath(import.meta.url)) serve(process.argv[3]!, process.argv[4]!);
