// Preemption end to end: a high-priority pod (priority from its PriorityClass) that fits nowhere
// gets nominatedNodeName, its lower-priority victim is marked and deleted with a Preempted event,
// and the preemptor is bound once the victim is gone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Pod } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { condition, createNode, podObject, startScheduler, until } from './wiring-helpers.ts';

describe('scheduler preemption', () => {
  let s: TestServer;
  let c: RestClient;
  let stopScheduler: () => Promise<void>;
  const ns = 'prio';
  const getPod = (name: string) => c.get<Pod>(R.pods, name, { namespace: ns });

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: ns } });
    await c.create(R.priorityclasses, { metadata: { name: 'high' }, value: 1000, description: 'for the test' });
    await createNode(c, 'only', { cpu: '2', memory: '4Gi' });
    ({ stop: stopScheduler } = startScheduler(c));
  });
  after(async () => {
    await stopScheduler?.();
    await c?.close();
    await s?.cleanup();
  });

  it('a high-priority pod preempts a low-priority one and is bound after the victim is gone', async () => {
    const victim = await c.create<Pod>(R.pods, podObject('low', ns, { cpu: '1500m' }));
    await until('low bound', async () => (await getPod('low')).spec?.nodeName === 'only');

    const preemptor = await c.create<Pod>(R.pods, podObject('high', ns, { cpu: '1500m', spec: { priorityClassName: 'high' } }));
    await until('the victim is being deleted', async () => !!(await getPod('low')).metadata?.deletionTimestamp, 15000);
    const low = await getPod('low');
    const disruption = condition(low, 'DisruptionTarget');
    assert.equal(disruption?.status, 'True');
    assert.equal(disruption?.reason, 'PreemptionByScheduler');
    await until('the Preempted event', async () => {
      const events = await c.list<Event>(R.events, { namespace: ns, fieldSelector: 'involvedObject.name=low' });
      return events.items.some((e) => e.reason === 'Preempted' && e.message === `Preempted by pod ${preemptor.metadata!.uid} on node only`);
    });
    await until('high nominated to the node', async () => (await getPod('high')).status?.nominatedNodeName === 'only');
    const high = await getPod('high');
    assert.equal(high.spec?.nodeName, undefined, 'bound while the victim still holds the node');
    assert.equal(condition(high, 'PodScheduled')?.status, 'False');
    assert.match(condition(high, 'PodScheduled')!.message!, /^0\/1 nodes are available: 1 Insufficient cpu\.$/);

    // A lower-priority pod pending meanwhile must not take the room the preemption frees, even
    // when it is retried first. Node events make "high" retry until its third attempt (its
    // FailedScheduling "not eligible" event counted twice): then it backs off 4 s, while "sneaky"
    // (1 s backoff) is ready when the victim goes.
    const notEligible = '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.';
    let touches = 0;
    await until('high retried three times', async () => {
      const events = await c.list<Event>(R.events, { namespace: ns, fieldSelector: 'involvedObject.name=high' });
      if (events.items.some((e) => e.message === notEligible && (e.count ?? 1) >= 2)) return true;
      await c.patch(R.nodes, 'only', { metadata: { labels: { touched: String(++touches) } } });
      await new Promise((r) => setTimeout(r, 200));
      return false;
    }, 15000);
    await c.create(R.pods, podObject('sneaky', ns, { cpu: '1500m' }));
    await until('sneaky unschedulable', async () => condition(await getPod('sneaky'), 'PodScheduled')?.status === 'False');
    await new Promise((r) => setTimeout(r, 1100));

    // No kubelet here: confirm the victim's termination the way a kubelet does (delete with grace 0).
    await c.delete(R.pods, 'low', { namespace: ns, gracePeriodSeconds: 0, preconditions: { uid: victim.metadata!.uid } });
    await until('high bound', async () => (await getPod('high')).spec?.nodeName === 'only', 15000);
    assert.equal(condition(await getPod('high'), 'PodScheduled')?.status, 'True');
    assert.equal((await getPod('sneaky')).spec?.nodeName, undefined);
    await c.delete(R.pods, 'sneaky', { namespace: ns });
  });

  it('does not preempt pods of equal or higher priority', async () => {
    await c.create(R.pods, podObject('same-priority', ns, { cpu: '1', spec: { priorityClassName: 'high' } }));
    await until('same-priority unschedulable', async () => condition(await getPod('same-priority'), 'PodScheduled')?.status === 'False');
    assert.equal(condition(await getPod('same-priority'), 'PodScheduled')?.message,
      '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
    assert.equal((await getPod('high')).metadata?.deletionTimestamp, undefined);
  });
});
