// @kubernetes/client-node's informer (list + watch) against skiff server: it stays
// equal to the store through 1,000 random writes and, across a server restart,
// resumes from its last resourceVersion without missing an event.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { freePort, until } from '../helpers/wait.ts';



describe('client-node informer', () => {
  let s: TestServer;
  let dataDir: string;
  let port: number;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-informer-'));
    port = await freePort();
    s = await startServer({ dataDir, port });
  });
  after(async () => {
    await s?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('mirrors the store through random writes and a server restart', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = 'informer';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
    const seenVersions: number[] = [];
    const record = (obj: k8s.V1ConfigMap) => seenVersions.push(Number(obj.metadata?.resourceVersion));
    informer.on('add', record);
    informer.on('update', record);
    informer.on('delete', record);
    let restarts = 0;
    let finished = false;
    // client-node's documented pattern: an informer stops on a connection error and is restarted by its owner.
    informer.on('error', () => {
      if (finished) return;
      restarts++;
      setTimeout(() => void (finished ? undefined : informer.start().catch(() => {})), 300);
    });
    await informer.start();
    try {

    const written = new Set<number>();
    const live = new Map<string, string>(); // name -> data value
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const busy = new Set<string>(); // names with a request in flight: no two ops race on one name
    const randomOp = async () => {
      const names = [...live.keys()].filter((n) => !busy.has(n));
      const op = names.length === 0 ? 0 : rand(3);
      const name = op === 0 ? `cm-${rand(1_000_000)}` : names[rand(names.length)];
      if (busy.has(name) || (op === 0 && live.has(name))) return;
      busy.add(name);
      try {
        if (op === 0) {
          live.set(name, '0');
          const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v: '0' } } });
          written.add(Number(cm.metadata!.resourceVersion));
        } else if (op === 1) {
          const v = String(rand(1000));
          live.set(name, v);
          const cm = await core.patchNamespacedConfigMap({ namespace: ns, name, body: { data: { v } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
          written.add(Number(cm.metadata!.resourceVersion));
        } else {
          live.delete(name);
          await core.deleteNamespacedConfigMap({ namespace: ns, name });
        }
      } finally {
        busy.delete(name);
      }
    };
    const equalToStore = async () => {
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      const cached = informer.list(ns);
      if (cached.length !== list.items.length) return false;
      const byName = new Map(cached.map((c) => [c.metadata!.name!, c.metadata!.resourceVersion]));
      return list.items.every((i) => byName.get(i.metadata!.name!) === i.metadata!.resourceVersion);
    };

    // Writes run serially per name but several at once overall; names are random so order interleaves.
    for (let i = 0; i < 1000; i += 8) await Promise.all(Array.from({ length: Math.min(8, 1000 - i) }, randomOp));
    await until('informer equal to the store', equalToStore);
    for (const name of live.keys()) assert.equal(informer.get(name, ns)?.data?.v, live.get(name));

    // Restart the server on the same port and data directory; the informer resumes its watch.
    await s.stop();
    s = await startServer({ dataDir, port });
    for (let i = 0; i < 200; i += 8) await Promise.all(Array.from({ length: 8 }, randomOp));
    await until('informer equal to the store after restart', equalToStore, 40000);
    assert.ok(restarts >= 1, 'the informer noticed the restart');
    for (const v of written) assert.ok(seenVersions.includes(v), `informer missed the write at resourceVersion ${v}`);
    for (let i = 1; i < seenVersions.length; i++) {
      assert.ok(seenVersions[i] > seenVersions[i - 1] || seenVersions[i] === seenVersions[i - 1], `resourceVersion went backwards at ${i}`);
    }
    } finally {
      finished = true;
      await informer.stop();
    }
  });
});
