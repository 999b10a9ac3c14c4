// Static pods: pod manifests in a directory on the node (--pod-manifest-path), run by the agent
// without anyone creating them through the API. Each one is mirrored into the API as a pod named
// `<name>-<node>`, bound to this node and annotated kubernetes.io/config.mirror, so kubectl sees
// it. Skiff runs the mirror pod through the ordinary pod workers: a changed manifest replaces the
// mirror pod, a removed one deletes it. (kubelet runs the file's pod and would keep it running if
// the mirror pod were deleted; here deleting the mirror restarts the pod when it is recreated.)
// https://kubernetes.io/docs/tasks/configure-pod-container/static-pod/
import { BackgroundLoop } from './background-loop.ts';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { isAlreadyExists, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { sleep } from '../client/wait.ts';
import { canonical } from './pod-status.ts';

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export const CONFIG_HASH_ANNOTATION = 'kubernetes.io/config.hash';
export const CONFIG_SOURCE_ANNOTATION = 'kubernetes.io/config.source';
/** kubelet's fileCheckFrequency. */
export const MANIFEST_CHECK_MS = 20_000;

export interface StaticPodsOptions {
  client: RestClient;
  nodeName: string;
  dir: string;
  node: () => Node | undefined;
  log: (line: string) => void;
  intervalMs?: number;
}

/** The mirror pod of one manifest: renamed, namespaced, bound here and annotated with its content hash. */
export function mirrorPod(manifest: Pod, nodeName: string, file: string): Pod {
  const name = `${manifest.metadata?.name ?? ''}-${nodeName}`;
  const hash = createHash('sha256').update(canonical(manifest)).update(nodeName).digest('hex').slice(0, 32);
  const meta = manifest.metadata ?? {};
  return {
    ...manifest, apiVersion: 'v1', kind: 'Pod',
    metadata: {
      ...meta, name, namespace: meta.namespace ?? 'default', uid: undefined, resourceVersion: undefined,
      annotations: { ...meta.annotations, [MIRROR_ANNOTATION]: hash, [CONFIG_HASH_ANNOTATION]: hash, [CONFIG_SOURCE_ANNOTATION]: 'file', 'kubernetes.io/config.file': file },
    },
    spec: { ...manifest.spec!, nodeName },
    status: undefined,
  };
}

/** Every pod manifest in dir (.yaml, .yml, .json; hidden files skipped, as kubelet does). */
export async function readManifests(dir: string, log: (line: string) => void): Promise<{ pod: Pod; file: string }[]> {
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const out: { pod: Pod; file: string }[] = [];
  for (const n of names.filter((n) => !n.startsWith('.') && /\.(ya?ml|json)$/.test(n)).sort()) {
    const file = join(dir, n);
    try {
      for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
        const pod = doc.toJS() as Pod | null;
        if (!pod) continue;
        if (pod.kind !== 'Pod' || !pod.metadata?.name || !pod.spec?.containers?.length) throw new Error('not a Pod with a name and containers');
        out.push({ pod, file });
      }
    } catch (e) {
      log(`static pod manifest ${file} skipped: ${(e as Error).message}`);
    }
  }
  return out;
}

export class StaticPods {
  private readonly o: StaticPodsOptions;
  private readonly loop = new BackgroundLoop((signal) => this.run(signal));

  constructor(o: StaticPodsOptions) {
    this.o = o;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let pending = true;
      try {
        pending = await this.sync();
      } catch (e) {
        if (!signal.aborted) this.o.log(`static pods from ${this.o.dir}: ${(e as Error).message}`);
      }
      await sleep(pending ? 1000 : this.o.intervalMs ?? MANIFEST_CHECK_MS, signal);
    }
  }

  /** Makes the API's mirror pods match the manifests; true when some change has to wait (look again soon). */
  async sync(): Promise<boolean> {
    const node = this.o.node();
    if (!node?.metadata?.uid) return true; // mirror pods are owned by the Node: wait for it
    const { client, nodeName } = this.o;
    const want = new Map<string, Pod>();
    for (const { pod, file } of await readManifests(this.o.dir, this.o.log)) {
      const m = mirrorPod(pod, nodeName, file);
      m.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid, controller: true }];
      want.set(`${m.metadata!.namespace}/${m.metadata!.name}`, m);
    }
    const existing = await client.list<Pod>(R.pods, { fieldSelector: `spec.nodeName=${nodeName}` });
    const mirrors = existing.items.filter((p) => p.metadata?.annotations?.[MIRROR_ANNOTATION]);
    for (const p of mirrors) {
      const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
      const w = want.get(key);
      if (w && w.metadata!.annotations![MIRROR_ANNOTATION] === p.metadata!.annotations![MIRROR_ANNOTATION]) {
        want.delete(key);
        continue;
      }
      if (p.metadata?.deletionTimestamp) continue;
      this.o.log(`static pod ${key}: ${w ? 'manifest changed' : 'manifest removed'}: deleting its mirror pod`);
      await client.delete(R.pods, p.metadata!.name!, { namespace: p.metadata!.namespace, preconditions: { uid: p.metadata!.uid! } })
        .catch((e: unknown) => { if (!isNotFound(e)) throw e; });
    }
    let pending = false;
    for (const [key, pod] of want) {
      try {
        await client.create(R.pods, pod);
        this.o.log(`static pod ${key}: mirror pod created`);
      } catch (e) {
        // The old mirror pod of a changed manifest is still terminating: the next pass creates it.
        if (!isAlreadyExists(e)) throw e;
        pending = true;
      }
    }
    return pending;
  }
}
