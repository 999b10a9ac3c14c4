// The EndpointSlice controller (kube-controller-manager's "endpointslice"):
// for every Service with a selector, discovery.k8s.io/v1 EndpointSlices of at
// most 100 endpoints listing the selected pods with their ready / serving /
// terminating conditions, node and zone, owned by the Service.
// https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/
//
// Slices of a deleted Service are deleted here too (not only by the garbage
// collector through their ownerReference), as are those of a Service that loses
// its selector or becomes ExternalName. Only slices labelled as managed by this
// controller are ever touched.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { splitKey } from '../client/cache.ts';
import { Controller } from '../client/controller.ts';
import { isForbidden, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import type { SharedInformer } from '../client/informer.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import {
  LAST_CHANGE_TRIGGER_TIME, addressTypesOf, enqueueServicesOfNodes, enqueueServicesOfPods, hasSelector, lastChangeTriggerTime,
  podsForService,
} from './endpoint-pods.ts';
import { CONTROLLER_NAME, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type SlicePlan, desiredEndpoints, planSlices } from './endpoint-slices.ts';

const FIELD_MANAGER = 'endpointslice-controller';

export const definition: ControllerDefinition = {
  name: 'endpointslice',
  start: (ctx) => startEndpointSliceController(ctx),
};

export function startEndpointSliceController(ctx: ControllerContext, workers = 5): RunningController {
  const services = ctx.informers.informerFor<Service>(R.services);
  const pods = ctx.informers.informerFor<Pod>(R.pods);
  const nodes = ctx.informers.informerFor<Node>(R.nodes);
  const slices = ctx.informers.informerFor<EndpointSlice>(R.endpointslices, { labelSelector: `${MANAGED_BY_LABEL}=${CONTROLLER_NAME}` });
  const recorder = ctx.recorder('endpoint-slice-controller');

  const sync = async (key: string): Promise<void> => {
    const { namespace = '', name } = splitKey(key);
    const svc = services.get(key);
    const existing = slices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === name);
    if (!hasSelector(svc)) {
      await applyPlan(ctx.client, slices, { create: [], update: [], delete: existing }, '');
      return;
    }
    const selected = podsForService(pods, svc);
    const triggerTime = lastChangeTriggerTime(svc, selected);
    const types = addressTypesOf(svc);
    const plan: SlicePlan = { create: [], update: [], delete: existing.filter((s) => !types.includes(s.addressType as never)) };
    const unknownNodes = new Set<string>();
    for (const type of types) {
      const desired = desiredEndpoints(svc, selected, (n) => nodes.get(n), type);
      for (const p of desired.podsOnUnknownNodes) unknownNodes.add(p);
      const p = planSlices(svc, type, existing.filter((s) => s.addressType === type), desired.groups);
      plan.create.push(...p.create);
      plan.update.push(...p.update);
      plan.delete.push(...p.delete);
    }
    // Replacing slices of a Service being deleted would race the garbage collector.
    if (svc.metadata?.deletionTimestamp) plan.create = [];
    try {
      await applyPlan(ctx.client, slices, plan, triggerTime);
    } catch (e) {
      if (isForbidden(e) && /terminat/i.test((e as Error).message)) return; // namespace going away
      recorder.event({ ...svc, apiVersion: 'v1', kind: 'Service' }, 'Warning', 'FailedToUpdateEndpointSlices',
        `Error updating Endpoint Slices for Service ${key}: ${(e as Error).message}`);
      throw e;
    }
    if (unknownNodes.size) {
      // Retried with backoff (and woken early when the node appears).
      throw new Error(`service ${key}: left out pods on nodes that do not exist (yet): ${[...unknownNodes].join(', ')}`);
    }
  };

  const c = new Controller('endpointslice', [services, pods, nodes, slices], sync, workers, { maxRetries: 15, log: ctx.log });
  const unregister = [
    enqueueServicesOfPods(c, services, pods),
    enqueueServicesOfNodes(c, services, pods, nodes),
    // A slice changed or deleted by someone else is put back.
    slices.addEventHandler({
      onAdd: (s) => enqueueOwner(c, s),
      onUpdate: (_old, s) => enqueueOwner(c, s),
      onDelete: (s) => enqueueOwner(c, s),
    }),
  ];
  return {
    run: () => c.run(),
    stop: async () => {
      for (const u of unregister) u();
      await c.stop();
    },
  };
}

function enqueueOwner(c: Controller, s: EndpointSlice): void {
  const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (svc && s.metadata?.namespace) c.enqueue(`${s.metadata.namespace}/${svc}`);
}

/**
 * Creates, updates, then deletes; then waits until the informer shows every
 * write, so the next sync of this Service never works from a stale list (which
 * would create duplicate slices).
 */
async function applyPlan(client: RestClient, cache: SharedInformer<EndpointSlice>, plan: SlicePlan, triggerTime: string): Promise<void> {
  const seen: (() => boolean)[] = [];
  const stamp = (s: EndpointSlice): EndpointSlice =>
    ({ ...s, metadata: { ...s.metadata, annotations: { ...(s.metadata?.annotations ?? {}), [LAST_CHANGE_TRIGGER_TIME]: triggerTime } } });
  try {
    for (const s of plan.create) {
      const created = await client.create(R.endpointslices, stamp(s), { fieldManager: FIELD_MANAGER });
      const key = `${created.metadata?.namespace}/${created.metadata?.name}`;
      seen.push(() => cache.get(key) !== undefined);
    }
    for (const s of plan.update) {
      const updated = await client.update(R.endpointslices, stamp(s), { fieldManager: FIELD_MANAGER });
      const key = `${updated.metadata?.namespace}/${updated.metadata?.name}`;
      const oldVersion = s.metadata?.resourceVersion;
      seen.push(() => cache.get(key)?.metadata?.resourceVersion !== oldVersion);
    }
    for (const s of plan.delete) {
      await client.delete(R.endpointslices, s.metadata!.name!, { namespace: s.metadata?.namespace }).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
      const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
      seen.push(() => cache.get(key)?.metadata?.uid !== s.metadata?.uid);
    }
  } finally {
    await cache.waitUntil(() => seen.every((f) => f()));
  }
}
