// Objects every cluster has from the start, created if missing on each start
// (kube-apiserver's system namespaces controller does the same).
import type { ServerParts } from './handlers/context.ts';
import { ApiError } from './errors.ts';
import { createObject, updateObject } from './registry/write.ts';
import type { KubeObject } from '../api/types.ts';
import { LOCAL_PATH_STORAGE_CLASS } from '../controllers/local-path-class.ts';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function createIfMissing(parts: ServerParts, plural: string, namespace: string, obj: KubeObject, group = ''): Promise<void> {
  try {
    await createObject(parts, parts.resources.find(group, 'v1', plural)!, namespace, obj,
      { dryRun: false, fieldManager: 'skiff-apiserver', fieldValidation: 'Strict', warnings: [] });
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  }
}

/**
 * The system namespaces, the default StorageClass, and the `kubernetes` Service in `default` with its Endpoints, which
 * kube-apiserver keeps pointing at itself so that pods can reach the API at kubernetes.default.svc.
 */
export async function ensureSystemObjects(parts: ServerParts, api: { serviceIp: string; address: string; port: number }): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) await createIfMissing(parts, 'namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  await createIfMissing(parts, 'services', 'default', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels },
    spec: { clusterIP: api.serviceIp, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: api.port }], sessionAffinity: 'None', type: 'ClusterIP' },
  });
  // k3s's default StorageClass: claims without a class get node-local directories from the
  // local-path provisioner (src/controllers/local-path-provisioner.ts) once their pod is scheduled.
  await createIfMissing(parts, 'storageclasses', '', LOCAL_PATH_STORAGE_CLASS, 'storage.k8s.io');
  // The endpoints follow this server's address and port, which may change between starts.
  await updateObject(parts, parts.resources.find('', 'v1', 'endpoints')!, 'default', 'kubernetes', {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: api.address }], ports: [{ name: 'https', port: api.port, protocol: 'TCP' }] }],
  }, '', { dryRun: false, fieldManager: 'skiff-apiserver', fieldValidation: 'Strict', warnings: [] }, true);
}
