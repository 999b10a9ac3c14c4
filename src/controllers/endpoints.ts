// The Endpoints controller (kube-controller-manager's "endpoint"): for every
// Service with a selector, an Endpoints object of the same name listing the
// selected pods' IPs — ready ones in `addresses`, the others in
// `notReadyAddresses` — with the Service's ports resolved on each pod.
// https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoints-v1/
//
// Services without a selector are left alone: their Endpoints are written by
// someone else (the API server itself for `default/kubernetes`).
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import { keyOf, splitKey } from '../client/cache.ts';
import { Controller } from '../client/controller.ts';
import { isForbidden, isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { ControllerContext, ControllerDefinition, RunningController } from './context.ts';
import {
  HEADLESS_LABEL, LAST_CHANGE_TRIGGER_TIME, enqueueServicesOfPods, hasSelector, isHeadless, lastChangeTriggerTime,
  podsForService,
} from './endpoint-pods.ts';
import { subsetsEqual, subsetsFor, truncateSubsets } from './endpoint-subsets.ts';

/** Tells the EndpointSlice mirroring controller that slices for these Endpoints come from the EndpointSlice controller. */
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
/** Leader-election records kept in Endpoints (old style) have no Service and must survive. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
const FIELD_MANAGER = 'endpoint-controller';

export const definition: ControllerDefinition = {
  name: 'endpoint',
  start: (ctx) => startEndpointsController(ctx),
};

export function startEndpointsController(ctx: ControllerContext, workers = 5): RunningController {
  const services = ctx.informers.informerFor<Service>(R.services);
  const pods = ctx.informers.informerFor<Pod>(R.pods);
  const endpoints = ctx.informers.informerFor<Endpoints>(R.endpoints);
  const recorder = ctx.recorder('endpoint-controller');

  const sync = async (key: string): Promise<void> => {
    const { namespace = '', name } = splitKey(key);
    const svc = services.get(key);
    const current = endpoints.get(key);
    if (!hasSelector(svc)) {
      if (current && shouldDelete(svc, current)) {
        await ctx.client.delete(R.endpoints, name, { namespace }).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
        await endpoints.waitUntil(() => endpoints.get(key)?.metadata?.uid !== current.metadata?.uid);
      }
      return;
    }

    const selected = podsForService(pods, svc);
    const { subsets, truncated } = truncateSubsets(subsetsFor(svc, selected));
    const labels = endpointsLabels(svc);
    const overCapacityOk = truncated === (current?.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] !== undefined);
    if (current && subsetsEqual(current.subsets, subsets) && sameMap(current.metadata?.labels, labels) && overCapacityOk) return;

    const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
    annotations[LAST_CHANGE_TRIGGER_TIME] = lastChangeTriggerTime(svc, selected);
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const desired: Endpoints = {
      apiVersion: 'v1', kind: 'Endpoints',
      metadata: { ...(current?.metadata ?? {}), name, namespace, labels, annotations },
      subsets,
    };
    if (!current) {
      try {
        const created = await ctx.client.create(R.endpoints, desired, { fieldManager: FIELD_MANAGER });
        await endpoints.waitUntil(() => endpoints.get(key)?.metadata?.uid === created.metadata?.uid);
      } catch (e) {
        // A terminating namespace refuses new objects; the namespace controller is deleting everything anyway.
        if (isForbidden(e) && /terminat/i.test((e as Error).message)) return;
        recorder.event(withKind(svc, 'Service'), 'Warning', 'FailedToCreateEndpoint',
          `Failed to create endpoint for service ${key}: ${(e as Error).message}`);
        throw e;
      }
      return;
    }
    try {
      const updated = await ctx.client.update(R.endpoints, desired, { fieldManager: FIELD_MANAGER });
      await endpoints.waitUntil(() => endpoints.get(key)?.metadata?.resourceVersion === updated.metadata?.resourceVersion);
    } catch (e) {
      recorder.event(withKind(current, 'Endpoints'), 'Warning', 'FailedToUpdateEndpoint',
        `Failed to update endpoint ${key}: ${(e as Error).message}`);
      throw e;
    }
  };

  const c = new Controller('endpoint', [services, pods, endpoints], sync, workers, { maxRetries: 15, log: ctx.log });
  const unregister = [
    enqueueServicesOfPods(c, services, pods),
    // Someone deleting a managed Endpoints gets it back; Endpoints found at start
    // without their Service are leftovers to clean up (checkLeftoverEndpoints).
    endpoints.addEventHandler({
      onAdd: (ep, initial) => {
        if (initial) c.enqueue(keyOf(ep));
      },
      onDelete: (ep) => c.enqueue(keyOf(ep)),
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

/**
 * Endpoints of a deleted Service go (except leader-election records). When a
 * Service merely loses its selector, only Endpoints this controller wrote (they
 * carry its trigger-time annotation) go, so hand-written ones survive.
 */
function shouldDelete(svc: Service | undefined, ep: Endpoints): boolean {
  const annotations = ep.metadata?.annotations ?? {};
  if (annotations[LEADER_ANNOTATION] !== undefined) return false;
  if (!svc) return true;
  return annotations[LAST_CHANGE_TRIGGER_TIME] !== undefined && ep.metadata?.labels?.[SKIP_MIRROR_LABEL] === 'true';
}

/** The Service's labels, plus skip-mirror, plus the headless marker for clusterIP None. */
function endpointsLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  delete labels[HEADLESS_LABEL];
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  labels[SKIP_MIRROR_LABEL] = 'true';
  return labels;
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a![k] === b[k]);
}

/** Cached objects may lack kind (lists carry it on the list); events need it. */
function withKind<T extends { kind?: string; apiVersion?: string }>(obj: T, kind: string): T & { kind: string } {
  return { ...obj, kind: obj.kind ?? kind, apiVersion: obj.apiVersion ?? 'v1' };
}
