// emptyDir volumes: a directory of the pod's, on the node's disk or (medium: Memory) a tmpfs
// whose size is the sizeLimit, capped by the pod's memory limit.
// https://kubernetes.io/docs/concepts/storage/volumes/#emptydir
import type { EmptyDirVolumeSource, Pod } from 'kubernetes-types/core/v1.d.ts';
import { chmod, chown, mkdir, stat } from 'node:fs/promises';
import { parseQuantity } from '../../api/validation/quantity.ts';
import { ensureTmpfs, isMountPoint } from './mounts.ts';

/** The pod's memory limit, when every container has one (kubelet sizes memory emptyDirs by it). */
function podMemoryLimit(pod: Pod): number | undefined {
  let total = 0;
  for (const c of pod.spec?.containers ?? []) {
    const limit = parseQuantity(c.resources?.limits?.memory);
    if (limit === undefined) return undefined;
    total += limit;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const limit = parseQuantity(c.resources?.limits?.memory);
    if (limit === undefined) return undefined;
    total = Math.max(total, limit);
  }
  return total > 0 ? total : undefined;
}

export async function setUpEmptyDir(pod: Pod, source: EmptyDirVolumeSource, dir: string, nodeMemory: () => Promise<number | undefined>): Promise<void> {
  const medium = source.medium ?? '';
  await mkdir(dir, { recursive: true, mode: 0o750 });
  if (medium === 'Memory' && !isMountPoint(dir)) {
    const sizeLimit = parseQuantity(source.sizeLimit);
    const podLimit = podMemoryLimit(pod) ?? await nodeMemory();
    const candidates = [sizeLimit, podLimit].filter((n): n is number => n !== undefined && n > 0);
    await ensureTmpfs(dir, { sizeBytes: candidates.length ? Math.min(...candidates) : undefined });
  } else if (medium !== '' && medium !== 'Memory') {
    throw new Error(`emptyDir medium ${medium} is not supported by skiff (use "" or Memory)`);
  }
  // Anyone in the pod may write an emptyDir: kubelet makes it 0777 (a tmpfs root already is, 1777).
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  const st = await stat(dir);
  let mode = (st.mode & 0o777) === 0o777 ? st.mode & 0o7777 : 0o777;
  if (fsGroup !== undefined) {
    if (st.gid !== fsGroup) await chown(dir, st.uid, fsGroup);
    mode |= 0o2000;
  }
  if ((st.mode & 0o7777) !== mode) await chmod(dir, mode);
}
