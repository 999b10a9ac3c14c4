// What the volume and env tests share: a real `skiff server`, a Node with allocatable resources
// and addresses (as an agent would register it), pods created through the API, and a pods
// directory in a temp dir whose tmpfs mounts are always cleaned up.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { unmountUnder } from '../../src/agent/volumes/mounts.ts';

export const NODE = 'skiff-vol-node';

export interface Cluster {
  s: TestServer;
  client: RestClient;
  podsDir: string;
  ctx: { client: RestClient; nodeName: string; podsDir: string };
  /** Creates the pod through the API (so it has a uid) and returns it as stored. */
  pod(name: string, spec: Partial<Pod['spec']> & object, meta?: { labels?: Record<string, string>; annotations?: Record<string, string>; namespace?: string }): Promise<Pod>;
  apply(obj: object): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const s = await startServer();
  const client = RestClient.fromKubeconfig(s.kubeconfig);
  const podsDir = mkdtempSync(join(tmpdir(), 'skiff-pods-'));
  await s.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } }) });
  await client.patch(R.nodes, NODE, { status: {
    capacity: { cpu: '4', memory: '8Gi', 'ephemeral-storage': '100Gi', pods: '110' },
    allocatable: { cpu: '3500m', memory: '7Gi', 'ephemeral-storage': '90Gi', pods: '110' },
    addresses: [{ type: 'Hostname', address: NODE }, { type: 'InternalIP', address: '127.0.0.1' }],
  } }, { subresource: 'status' });
  await waitFor('the default service account', async () => (await s.kubectl(['get', 'sa', 'default'])).code === 0, 30_000);
  await waitFor('the kube-root-ca.crt configmap', async () => (await s.kubectl(['get', 'cm', 'kube-root-ca.crt'])).code === 0, 30_000);
  return {
    s, client, podsDir, ctx: { client, nodeName: NODE, podsDir },
    async pod(name, spec, meta = {}) {
      return client.create<Pod>(R.pods, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: meta.namespace ?? 'default', labels: meta.labels, annotations: meta.annotations },
        spec: { containers: [{ name: 'c', image: 'skiff.local/busybox:latest' }], ...spec },
      });
    },
    async apply(obj) {
      await s.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    },
    async cleanup() {
      try {
        await unmountUnder(podsDir);
      } finally {
        rmSync(podsDir, { recursive: true, force: true });
        await client.close();
        await s.cleanup();
      }
    },
  };
}

/** The tmpfs mount (mountinfo fields) at dir, if any. */
export function tmpfsAt(dir: string): { options: string } | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== dir) continue;
    const sep = f.indexOf('-');
    if (f[sep + 1] === 'tmpfs') return { options: f[sep + 3] };
  }
  return undefined;
}
