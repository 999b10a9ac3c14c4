// Shared by the ReplicaSet and Deployment controller tests (the server and the
// controllers come from harness.ts): a deadline poll and a stand-in kubelet that
// makes new pods Running and Ready through the pods/status subresource.
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { R, type RestClient, SharedInformer } from '../../src/client/index.ts';

export { until } from '../helpers/wait.ts';


/**
 * Marks every pod of namespace Running and Ready delayMs after it appears, as a
 * kubelet would once its containers start. stop() ends it.
 */
export function fakeKubelet(client: RestClient, namespace: string, delayMs = 150): { stop(): Promise<void>; paused: boolean } {
  const informer = new SharedInformer<Pod>(client, R.pods, { namespace });
  const timers = new Set<NodeJS.Timeout>();
  const state = { paused: false, stop: async () => {} };
  const makeReady = (pod: Pod) => {
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Running') return;
    const timer = setTimeout(async () => {
      timers.delete(timer);
      if (state.paused) return;
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
      try {
        await client.patch(R.pods, pod.metadata!.name!, {
          status: {
            phase: 'Running', startTime: now,
            conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map(condition),
            containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
              name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
            })),
          },
        }, { namespace, subresource: 'status' });
      } catch (e) {
        if ((e as { code?: number }).code !== 404) console.error(`fake kubelet: ${(e as Error).message}`);
      }
    }, delayMs);
    timers.add(timer);
  };
  informer.addEventHandler({ onAdd: makeReady, onUpdate: (_o, p) => makeReady(p) });
  informer.start();
  state.stop = async () => {
    for (const t of timers) clearTimeout(t);
    await informer.stop();
  };
  return state;
}
