// Shared by the client tests: polling with a deadline and cache-vs-server comparison.
import type { TestServer } from '../helpers/skiff-server.ts';
import type { SharedInformer } from '../../src/client/informer.ts';
import type { RestClient } from '../../src/client/rest.ts';
import type { ResourceRef } from '../../src/client/resources.ts';
import { createServer } from 'node:net';

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** name -> resourceVersion, from the server and from the informer's cache. */
export async function cacheMatchesServer(c: RestClient, r: ResourceRef, informer: SharedInformer, namespace: string): Promise<boolean> {
  const server = await c.listAll(r, { namespace });
  const cached = informer.list(namespace);
  if (server.items.length !== cached.length) return false;
  const rv = new Map(cached.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion]));
  return server.items.every((o) => rv.get(o.metadata!.name!) === o.metadata!.resourceVersion);
}

export function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/**
 * Stops the server and removes its files. Waits for the exit itself first:
 * TestServer.stop() leaves a 10 s fallback timer running, which would keep the
 * test process alive 10 s longer.
 */
export async function shutdown(s: TestServer | undefined): Promise<void> {
  if (!s) return;
  await stopServer(s);
  await s.cleanup();
}

/** TestServer.stop() without its lingering timer (the data directory stays, for a restart). */
export async function stopServer(s: TestServer): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    const exited = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10000)))]);
    clearTimeout(timer);
  }
}

/** p, or a rejection naming what did not happen within ms. */
export async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
