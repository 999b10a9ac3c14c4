// configMap and secret volumes (and projected sources): which keys become which files, with
// which mode (kubelet's MakePayload for both plugins).
import type { KeyToPath } from 'kubernetes-types/core/v1.d.ts';
import type { Payload } from './atomic-writer.ts';

/** Kubernetes' default mode of volume files (defaultMode: 0644). */
export const DEFAULT_MODE = 0o644;

/**
 * Every key as a file named after it, or only the listed items at their paths. A listed key that
 * is missing fails the volume unless the source is optional.
 */
export function keyPayload(data: Map<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number | undefined,
  optional: boolean, kind: 'configmap' | 'secret'): Payload {
  const mode = defaultMode ?? DEFAULT_MODE;
  const payload: Payload = new Map();
  if (!items?.length) {
    for (const [k, v] of data) payload.set(k, { data: v, mode });
    return payload;
  }
  for (const item of items) {
    const v = data.get(item.key);
    if (v === undefined) {
      if (optional) continue;
      throw new Error(kind === 'configmap' ? `configmap references non-existent config key: ${item.key}` : `references non-existent secret key: ${item.key}`);
    }
    payload.set(item.path, { data: v, mode: item.mode ?? mode });
  }
  return payload;
}
