// Objects every cluster has from the start, created if missing on each start
// (kube-apiserver's system namespaces controller does the same).
import type { ServerParts } from './handlers/context.ts';
import { ApiError } from './errors.ts';
import { createObject } from './registry/write.ts';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function ensureSystemObjects(parts: ServerParts): Promise<void> {
  const namespaces = parts.resources.find('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) {
    try {
      await createObject(parts, namespaces, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { dryRun: false, fieldManager: 'skiff-apiserver', fieldValidation: 'Strict', warnings: [] });
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }
}
