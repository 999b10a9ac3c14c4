// What preemption does to its victims once the algorithm picked them (prepareCandidate): mark
// each with the DisruptionTarget condition, delete it (gracefully, like any eviction), and tell
// its owner why with a Preempted event.
// https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#preemption
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { isNotFound } from '../client/errors.ts';
import type { EventRecorder } from '../client/events.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { podKey } from './pod-info.ts';
import { rfc3339 } from '../api/time.ts';

export async function evictVictims(
  client: RestClient, recorder: EventRecorder, schedulerName: string, preemptor: Pod, nodeName: string, victims: Pod[],
  log: (message: string) => void,
): Promise<void> {
  await Promise.all(victims.map(async (victim) => {
    const ns = victim.metadata!.namespace!;
    const name = victim.metadata!.name!;
    try {
      if (victim.metadata?.deletionTimestamp) return; // already going: an earlier cycle preempted it
      const condition = {
        type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler',
        message: `${schedulerName}: preempting to accommodate a higher priority pod`,
        lastTransitionTime: rfc3339(),
      };
      // UpdatePodCondition: no write when the pod already carries this very condition.
      const had = victim.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
      if (!had || had.status !== 'True' || had.reason !== condition.reason || had.message !== condition.message) {
        await client.patch(R.pods, name, { status: { conditions: [condition] } }, { namespace: ns, subresource: 'status', type: 'strategic' });
      }
      await client.delete(R.pods, name, { namespace: ns, preconditions: victim.metadata?.uid ? { uid: victim.metadata.uid } : undefined });
      recorder.event(victim, 'Normal', 'Preempted', `Preempted by pod ${preemptor.metadata?.uid ?? podKey(preemptor)} on node ${nodeName}`);
    } catch (e) {
      if (!isNotFound(e)) log(`preempting pod ${podKey(victim)} for ${podKey(preemptor)} on node ${nodeName}: ${(e as Error).message}`);
    }
  }));
}
