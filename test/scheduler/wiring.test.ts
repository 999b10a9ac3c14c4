// The scheduler against a real API server: pods land on nodes that fit them (resources,
// nodeSelector, taints, node affinity), a pod that fits nowhere says why exactly as
// kube-scheduler does (PodScheduled=False + FailedScheduling), and a node added later gets it placed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Pod } from 'kubernetes-types/core/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { condition, createNode, podObject, startScheduler, until } from './wiring-helpers.ts';

describe('scheduler wiring', () => {
  let s: TestServer;
  let c: RestClient;
  let stopScheduler: () => Promise<void>;
  const ns = 'sched';
  const getPod = (name: string) => c.get<Pod>(R.pods, name, { namespace: ns });
  const boundNode = async (name: string) => (await getPod(name)).spec?.nodeName;

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: ns } });
    await createNode(c, 'small', { cpu: '1', memory: '2Gi' });
    await createNode(c, 'big', { cpu: '8', memory: '16Gi', labels: { disk: 'ssd' } });
    await createNode(c, 'gpu', { cpu: '8', memory: '16Gi', labels: { zone: 'b' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    ({ stop: stopScheduler } = startScheduler(c));
  });
  after(async () => {
    await stopScheduler?.();
    await c?.close();
    await s?.cleanup();
  });

  it('binds pods to nodes that fit them, honouring requests, nodeSelector, taints and node affinity', async () => {
    await c.create(R.pods, podObject('needs-2-cpus', ns, { cpu: '2' }));
    await c.create(R.pods, podObject('wants-ssd', ns, { cpu: '100m', spec: { nodeSelector: { disk: 'ssd' } } }));
    await c.create(R.pods, podObject('gpu-job', ns, {
      cpu: '100m',
      spec: {
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }],
        } } },
      },
    }));
    for (let i = 0; i < 6; i++) await c.create(R.pods, podObject(`tiny-${i}`, ns, { cpu: '50m' }));
    const names = ['needs-2-cpus', 'wants-ssd', 'gpu-job', ...Array.from({ length: 6 }, (_, i) => `tiny-${i}`)];
    await until('every pod bound', async () => (await Promise.all(names.map(boundNode))).every(Boolean), 15000);

    assert.equal(await boundNode('needs-2-cpus'), 'big'); // too big for small, gpu is tainted
    assert.equal(await boundNode('wants-ssd'), 'big');
    assert.equal(await boundNode('gpu-job'), 'gpu');
    for (let i = 0; i < 6; i++) assert.notEqual(await boundNode(`tiny-${i}`), 'gpu', `tiny-${i} went to the tainted node`);
    const pod = await getPod('gpu-job');
    assert.equal(condition(pod, 'PodScheduled')?.status, 'True');
    await until('the Scheduled event', async () => {
      const events = await c.list<Event>(R.events, { namespace: ns, fieldSelector: 'involvedObject.name=gpu-job' });
      return events.items.some((e) => e.reason === 'Scheduled' && e.message === `Successfully assigned ${ns}/gpu-job to gpu`
        && e.source?.component === 'default-scheduler');
    });
  });

  it('leaves a pod too big for every node Pending with the FitError in its condition and a FailedScheduling event', async () => {
    await c.create(R.pods, podObject('huge', ns, { cpu: '100' }));
    const want = '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. '
      + 'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
    await until('PodScheduled=False', async () => condition(await getPod('huge'), 'PodScheduled')?.status === 'False');
    const pod = await getPod('huge');
    assert.equal(pod.spec?.nodeName, undefined);
    assert.equal(pod.status?.phase, 'Pending');
    const cond = condition(pod, 'PodScheduled')!;
    assert.equal(cond.reason, 'Unschedulable');
    assert.equal(cond.message, want);

    const json = JSON.parse(await s.k(['get', 'pod', 'huge', '-n', ns, '-o', 'jsonpath={.status.conditions}']));
    assert.deepEqual(json.map((x: { type: string; status: string; reason: string; message: string }) => [x.type, x.status, x.reason, x.message]),
      [['PodScheduled', 'False', 'Unschedulable', want]]);
    await until('the FailedScheduling event', async () => (await s.k(['describe', 'pod', 'huge', '-n', ns])).includes('FailedScheduling'));
    const describe = await s.k(['describe', 'pod', 'huge', '-n', ns]);
    const line = describe.split('\n').find((l) => l.includes('FailedScheduling'))!;
    assert.match(line, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available/);
    assert.ok(line.trimEnd().endsWith(want), `describe shows:\n${line}`);
  });

  it('schedules the pending pod once a node that fits it is added', async () => {
    await createNode(c, 'huge-node', { cpu: '128', memory: '256Gi' });
    await until('huge bound', async () => (await boundNode('huge')) === 'huge-node', 15000);
    assert.equal(condition(await getPod('huge'), 'PodScheduled')?.status, 'True');
  });

  it('places a pod with required pod affinity once the pod it follows is bound', async () => {
    await c.create(R.pods, podObject('follower', ns, {
      cpu: '10m',
      spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'leader' } }, topologyKey: 'kubernetes.io/hostname' },
      ] } } },
    }));
    await until('follower unschedulable', async () => condition(await getPod('follower'), 'PodScheduled')?.status === 'False');
    assert.match(condition(await getPod('follower'), 'PodScheduled')!.message!, /node\(s\) didn't match pod affinity rules/);
    const leader = podObject('leader', ns, { cpu: '10m', spec: { nodeSelector: { disk: 'ssd' } } });
    leader.metadata!.labels = { app: 'leader' };
    await c.create(R.pods, leader);
    await until('follower bound next to the leader', async () => (await boundNode('follower')) === 'big', 15000);
  });

  it('leaves pods of other schedulers alone', async () => {
    await c.create(R.pods, podObject('not-mine', ns, { cpu: '10m', spec: { schedulerName: 'my-scheduler' } }));
    await c.create(R.pods, podObject('mine', ns, { cpu: '10m' }));
    await until('mine bound', async () => !!(await boundNode('mine')));
    await new Promise((r) => setTimeout(r, 300));
    const other = await getPod('not-mine');
    assert.equal(other.spec?.nodeName, undefined);
    assert.equal(condition(other, 'PodScheduled'), undefined);
  });
});
