// volumeMounts' subPath / subPathExpr: a path inside the volume, made if missing, that must
// stay inside the volume once symlinks are resolved (CVE-2017-1002101 is why kubelet checks).
// https://kubernetes.io/docs/concepts/storage/volumes/#using-subpath
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { expandVars } from '../env.ts';

export function resolveSubPath(volumePath: string, subPath: string, mountName: string, containerName: string): string {
  const prefix = `failed to prepare subPath for volumeMount "${mountName}" of container "${containerName}"`;
  if (subPath.startsWith('/')) throw new Error(`${prefix}: subPath ${subPath} must be a relative path`);
  if (subPath.split('/').includes('..')) throw new Error(`${prefix}: subPath ${subPath} must not contain '..'`);
  const root = realpathSync(volumePath);
  const full = join(root, subPath);
  let resolved: string;
  try {
    resolved = realpathSync(full);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${prefix}: ${(e as Error).message}`);
    // Kubernetes makes a missing subPath as a directory, with the volume root's permissions.
    mkdirSync(full, { recursive: true, mode: statSync(root).mode & 0o7777 });
    resolved = realpathSync(full);
  }
  if (resolved !== root && !resolved.startsWith(root + sep)) {
    throw new Error(`${prefix}: subpath "${resolved}" not within volume path "${root}"`);
  }
  return resolved;
}

/** Expands $(VAR) in subPathExpr from the container's environment; a variable without a value is an error, as in kubelet. */
export function expandSubPathExpr(expr: string, env: Map<string, string>, mountName: string, containerName: string): string {
  const missing = new Set<string>();
  const out = expandVars(expr, (name) => {
    const v = env.get(name);
    if (!v) missing.add(name);
    return v ?? '';
  });
  if (missing.size > 0) {
    throw new Error(`failed to prepare subPath for volumeMount "${mountName}" of container "${containerName}": missing value for ${[...missing].sort().join(', ')}`);
  }
  return out;
}
