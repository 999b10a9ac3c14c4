// Decodes a watch response body: one JSON WatchEvent per line.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
import type { Status } from 'kubernetes-types/meta/v1.d.ts';
import type { KubeObject } from '../api/types.ts';

export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  /** Only metadata.resourceVersion is meaningful: the watch has seen everything up to it. */
  | { type: 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: Status };

export async function* parseWatchStream<T extends KubeObject>(body: AsyncIterable<Uint8Array> & { destroy?(): void }): AsyncGenerator<WatchEvent<T>> {
  const decoder = new TextDecoder();
  let buf = '';
  let ended = false;
  try {
    for await (const chunk of body) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) yield parseLine<T>(line);
      }
    }
    ended = true;
    buf += decoder.decode();
    if (buf.trim()) yield parseLine<T>(buf);
  } finally {
    // The consumer left early (break/return/throw): release the connection.
    if (!ended) body.destroy?.();
  }
}

function parseLine<T extends KubeObject>(line: string): WatchEvent<T> {
  let ev: { type?: unknown; object?: unknown };
  try {
    ev = JSON.parse(line);
  } catch (e) {
    throw new Error(`watch stream: invalid JSON line (${(e as Error).message}): ${line.slice(0, 200)}`);
  }
  if (typeof ev.type !== 'string' || typeof ev.object !== 'object' || ev.object === null) {
    throw new Error(`watch stream: not a watch event: ${line.slice(0, 200)}`);
  }
  return ev as WatchEvent<T>;
}
