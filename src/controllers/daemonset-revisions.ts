// A DaemonSet's template history as ControllerRevisions `<ds>-<hash>` (what
// `kubectl rollout history/undo ds` read), and the hash label its pods carry
// (kube's pkg/controller/daemon/update.go constructHistory / cleanupHistory).
// https://kubernetes.io/docs/tasks/manage-daemon/rollback-daemon-set/
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { controllerOf } from '../client/controller.ts';
import { isAlreadyExists, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { computeHash } from './deployment-util.ts';
import { controllerRefTo } from './pod-control.ts';
import { cloneJson } from '../api/json-clone.ts';

/** The label on daemon pods and revisions naming the template they come from. */
export const REVISION_HASH_LABEL = 'controller-revision-hash';

export function templateHash(ds: DaemonSet): string {
  return computeHash(ds.spec!.template, ds.status?.collisionCount);
}

/** The revision's data: a strategic-merge patch replacing the template (as kube stores it). */
function revisionData(ds: DaemonSet): object {
  return { spec: { template: { ...cloneJson(ds.spec!.template), $patch: 'replace' } } };
}

function sameData(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown => Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/**
 * Makes sure the current template has a ControllerRevision holding the highest
 * revision number (a rollback to an old template renumbers that revision).
 * revisions: this DaemonSet's revisions. Returns the hash of the current one.
 */
export async function ensureCurrentRevision(client: RestClient, ds: DaemonSet, revisions: ControllerRevision[]): Promise<string> {
  const hash = templateHash(ds);
  const ns = ds.metadata!.namespace!;
  const name = `${ds.metadata!.name}-${hash}`;
  const max = Math.max(0, ...revisions.map((r) => r.revision ?? 0));
  const existing = revisions.find((r) => r.metadata?.name === name);
  if (existing) {
    if (!sameData(existing.data, revisionData(ds))) {
      throw new Error(`controller revision ${ns}/${name} exists with another template (hash collision)`);
    }
    if ((existing.revision ?? 0) < max) {
      await client.patch(R.controllerrevisions, name, { revision: max + 1 }, { namespace: ns });
    }
    return hash;
  }
  const cr: ControllerRevision = {
    apiVersion: 'apps/v1', kind: 'ControllerRevision',
    metadata: {
      name, namespace: ns,
      labels: { ...ds.spec!.template.metadata?.labels, [REVISION_HASH_LABEL]: hash },
      ownerReferences: [controllerRefTo(ds as never)],
    },
    data: revisionData(ds) as never,
    revision: max + 1,
  };
  try {
    await client.create(R.controllerrevisions, cr);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    // Ours from a sync the cache has not shown yet: check it holds this template.
    const found = await client.get<ControllerRevision>(R.controllerrevisions, name, { namespace: ns });
    if (controllerOf(found)?.uid !== ds.metadata!.uid || !sameData(found.data, revisionData(ds))) {
      throw new Error(`controller revision ${ns}/${name} exists and is not this DaemonSet's template (hash collision)`);
    }
  }
  return hash;
}

/** Deletes the oldest revisions beyond spec.revisionHistoryLimit (default 10) that no live pod uses. */
export async function cleanupHistory(client: RestClient, ds: DaemonSet, revisions: ControllerRevision[], pods: Pod[], currentHash: string): Promise<void> {
  const limit = ds.spec?.revisionHistoryLimit ?? 10;
  const inUse = new Set(pods.map((p) => p.metadata?.labels?.[REVISION_HASH_LABEL]).filter(Boolean));
  const old = revisions
    .filter((r) => r.metadata?.labels?.[REVISION_HASH_LABEL] !== currentHash && !inUse.has(r.metadata?.labels?.[REVISION_HASH_LABEL]))
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  const excess = old.length - limit;
  for (const r of old.slice(0, Math.max(0, excess))) {
    try {
      await client.delete(R.controllerrevisions, r.metadata!.name!, { namespace: r.metadata!.namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
