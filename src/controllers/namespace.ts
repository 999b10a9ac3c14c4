// The namespace controller: empties a namespace that is being deleted, then
// removes its `kubernetes` finalizer so the API server can delete it
// (kube-controller-manager's namespace controller, pkg/controller/namespace).
// https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/
//
// Content is every namespaced resource discovery lists (/api and /apis, so
// custom resources count too). While content remains, the namespace's status
// conditions say why (NamespaceContentRemaining, NamespaceFinalizersRemaining,
// ...) and the namespace is looked at again shortly.
import type { Namespace, NamespaceCondition } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../api/types.ts';
import { type ApiResource, Controller, type Discovery, discoverResources, isConflict, isNotFound, R, type RestClient, resourcePath } from '../client/index.ts';
import type { ControllerContext, ControllerDefinition } from './context.ts';
import { rfc3339 } from '../api/time.ts';

const FINALIZER = 'kubernetes';

/** What one pass over a namespace's content found. */
interface ContentResult {
  /** "pods." → objects still there. */
  remaining: Map<string, number>;
  /** finalizer → objects still holding it. */
  finalizers: Map<string, number>;
  /** Resources whose content could not be deleted or listed, with why. */
  failures: string[];
  /** Longest graceful termination still running, in seconds (pods). */
  estimateSeconds: number;
}

export const definition: ControllerDefinition = {
  name: 'namespace',
  start(ctx: ControllerContext) {
    const informer = ctx.informers.informerFor<Namespace>(R.namespaces);
    const attempts = new Map<string, number>();
    const controller: Controller = new Controller('namespace', [informer], async (key) => {
      const remaining = await syncNamespace(ctx, key);
      if (remaining === undefined) {
        attempts.delete(key);
        return;
      }
      // Kubernetes waits estimate/2 + 1 s; back off further while nothing changes.
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      const waitMs = Math.max((remaining / 2 + 1) * 1000, n <= 10 ? 1000 : 5000);
      controller.enqueueAfter(key, waitMs);
    }, 2, { log: ctx.log });
    return controller;
  },
};

/**
 * One pass over a namespace. Returns undefined when there is nothing (more) to do,
 * or the estimated seconds until remaining content is gone (look again later).
 */
async function syncNamespace(ctx: ControllerContext, name: string): Promise<number | undefined> {
  const { client } = ctx;
  let ns: Namespace;
  try {
    ns = await client.get<Namespace>(R.namespaces, name); // the cache may lag; deleting content is not to be done on a hunch
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  if (!ns.metadata?.deletionTimestamp || !(ns.spec?.finalizers ?? []).includes(FINALIZER)) return undefined;

  let discovery: Discovery;
  try {
    discovery = await discoverResources(client);
  } catch (e) {
    discovery = { resources: [], failed: new Map([['*', (e as Error).message]]) };
  }
  const content = await deleteAllContent(client, name, discovery.resources);
  ns = await updateConditions(client, ns, discovery, content);
  const left = content.remaining.size > 0 || content.failures.length > 0 || discovery.failed.size > 0;
  if (left) return content.estimateSeconds;

  // Everything is gone: hand the namespace back to the API server, which deletes it.
  const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER);
  try {
    await client.update<Namespace>(R.namespaces, { ...ns, spec: { ...ns.spec, finalizers } }, { subresource: 'finalize' });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  ctx.log(`namespace ${name}: content deleted, finalized`);
  return undefined;
}

/** Deletes every namespaced object in namespace, then counts what is left. */
async function deleteAllContent(client: RestClient, namespace: string, resources: ApiResource[]): Promise<ContentResult> {
  const result: ContentResult = { remaining: new Map(), finalizers: new Map(), failures: [], estimateSeconds: 0 };
  const targets = resources.filter((r) => r.namespaced && r.verbs.includes('list') && (r.verbs.includes('delete') || r.verbs.includes('deletecollection')));
  await Promise.all(targets.map(async (r) => {
    const label = `${r.plural}.${r.group}`;
    try {
      await deleteContentOf(client, namespace, r);
      const left = await client.listAll<KubeObject>(r, { namespace });
      if (left.items.length === 0) return;
      result.remaining.set(label, left.items.length);
      for (const item of left.items) {
        for (const f of item.metadata?.finalizers ?? []) result.finalizers.set(f, (result.finalizers.get(f) ?? 0) + 1);
        const grace = item.metadata?.deletionGracePeriodSeconds ?? 0;
        if (r.group === '' && r.plural === 'pods' && grace > result.estimateSeconds) result.estimateSeconds = grace;
      }
    } catch (e) {
      if (isNotFound(e)) return; // the resource went away (a CRD deleted meanwhile)
      result.failures.push(`${label}: ${(e as Error).message}`);
    }
  }));
  return result;
}

async function deleteContentOf(client: RestClient, namespace: string, r: ApiResource): Promise<void> {
  const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' };
  if (r.verbs.includes('deletecollection')) {
    await client.call('DELETE', resourcePath(r, namespace), { body });
    return;
  }
  const { items } = await client.listAll<KubeObject>(r, { namespace });
  for (const item of items) {
    if (item.metadata?.deletionTimestamp) continue;
    try {
      await client.delete(r, item.metadata!.name!, { namespace, propagationPolicy: 'Background' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The five deletion conditions Kubernetes keeps on a terminating namespace. */
function deletionConditions(discovery: Discovery, c: ContentResult): Omit<NamespaceCondition, 'lastTransitionTime'>[] {
  const cond = (type: string, bad: boolean, badReason: string, badMessage: string, okReason: string, okMessage: string) =>
    bad ? { type, status: 'True', reason: badReason, message: badMessage } : { type, status: 'False', reason: okReason, message: okMessage };
  const failedGroups = [...discovery.failed].map(([gv, why]) => `${gv}: ${why}`);
  return [
    cond('NamespaceDeletionDiscoveryFailure', discovery.failed.size > 0, 'DiscoveryFailed',
      `Discovery failed for some groups, ${discovery.failed.size} failing: ${failedGroups.join(', ')}`,
      'ResourcesDiscovered', 'All resources successfully discovered'),
    cond('NamespaceDeletionGroupVersionParsingFailure', false, 'GroupVersionParsingFailed', '',
      'ParsedGroupVersions', 'All legacy kube types successfully parsed'),
    cond('NamespaceDeletionContentFailure', c.failures.length > 0, 'ContentDeletionFailed',
      `Failed to delete all resource types, ${c.failures.length} remaining: ${c.failures.join(', ')}`,
      'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'),
    cond('NamespaceContentRemaining', c.remaining.size > 0, 'SomeResourcesRemain',
      `Some resources are remaining: ${[...c.remaining].map(([r, n]) => `${r} has ${n} resource instances`).sort().join(', ')}`,
      'ContentRemoved', 'All content successfully removed'),
    cond('NamespaceFinalizersRemaining', c.finalizers.size > 0, 'SomeFinalizersRemain',
      `Some content in the namespace has finalizers remaining: ${[...c.finalizers].map(([f, n]) => `${f} in ${n} resource instances`).sort().join(', ')}`,
      'ContentHasNoFinalizers', 'All content-preserving finalizers finished'),
  ];
}

/** Writes the conditions through the status subresource when they changed; returns the namespace as stored. */
async function updateConditions(client: RestClient, ns: Namespace, discovery: Discovery, content: ContentResult): Promise<Namespace> {
  const now = rfc3339();
  const old = ns.status?.conditions ?? [];
  const desired = deletionConditions(discovery, content);
  let changed = false;
  const conditions: NamespaceCondition[] = old.filter((o) => !desired.some((d) => d.type === o.type));
  for (const d of desired) {
    const prev = old.find((o) => o.type === d.type);
    if (prev && prev.status === d.status && prev.reason === d.reason && prev.message === d.message) {
      conditions.push(prev);
      continue;
    }
    changed = true;
    conditions.push({ ...d, lastTransitionTime: prev && prev.status === d.status ? prev.lastTransitionTime : now });
  }
  if (!changed) return ns;
  try {
    return await client.updateStatus<Namespace>(R.namespaces, { ...ns, status: { ...ns.status, phase: 'Terminating', conditions } });
  } catch (e) {
    if (isConflict(e)) throw new Error(`namespace ${ns.metadata?.name} changed while its conditions were written; retrying`);
    throw e;
  }
}
