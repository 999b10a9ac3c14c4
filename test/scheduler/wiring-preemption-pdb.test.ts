// Preemption against a real server reads PodDisruptionBudgets: of two nodes where evicting one pod
// makes room, the scheduler spares the pod a budget protects, even though it is the lower-priority
// (otherwise preferred) victim.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { builtin, R } from '../../src/client/resources.ts';
import { condition, createNode, podObject, startScheduler, until } from './wiring-helpers.ts';

const PDBS = builtin('poddisruptionbudgets.policy');

describe('scheduler preemption with PodDisruptionBudgets', () => {
  let s: TestServer;
  let c: RestClient;
  let stopScheduler: () => Promise<void>;
  const ns = 'prio-pdb';
  const getPod = (name: string) => c.get<Pod>(R.pods, name, { namespace: ns });

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] });
    c = RestClient.fromKubeconfig(s.kubeconfig);
    await c.create(R.namespaces, { metadata: { name: ns } });
    await c.create(R.priorityclasses, { metadata: { name: 'mid' }, value: 100, description: 'batch' });
    await c.create(R.priorityclasses, { metadata: { name: 'top' }, value: 1000, description: 'the preemptor' });
    await createNode(c, 'a', { cpu: '2' });
    await createNode(c, 'b', { cpu: '2' });
    // A budget no disruption controller updates: its status stays at zero disruptions allowed.
    await c.create<PodDisruptionBudget>(PDBS, { metadata: { name: 'db', namespace: ns }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } } });
    await c.create<Pod>(R.pods, { ...podObject('db', ns, { cpu: '2', spec: { nodeName: 'a' } }), metadata: { name: 'db', namespace: ns, labels: { app: 'db' } } });
    await c.create<Pod>(R.pods, podObject('batch', ns, { cpu: '2', spec: { nodeName: 'b', priorityClassName: 'mid' } }));
    ({ stop: stopScheduler } = startScheduler(c));
  });
  after(async () => {
    await stopScheduler?.();
    await c?.close();
    await s?.cleanup();
  });

  it('preempts the higher-priority pod on the other node rather than violate the budget', async () => {
    const pdb = await c.get<PodDisruptionBudget>(PDBS, 'db', { namespace: ns });
    assert.equal(pdb.status?.disruptionsAllowed, 0);
    await c.create<Pod>(R.pods, podObject('critical', ns, { cpu: '2', spec: { priorityClassName: 'top' } }));
    await until('critical nominated', async () => !!(await getPod('critical')).status?.nominatedNodeName, 15_000);
    assert.equal((await getPod('critical')).status?.nominatedNodeName, 'b');
    await until('batch is being deleted', async () => !!(await getPod('batch').catch(() => undefined))?.metadata?.deletionTimestamp ||
      (await c.list<Pod>(R.pods, { namespace: ns })).items.every((p) => p.metadata!.name !== 'batch'), 15_000);
    const db = await getPod('db');
    assert.equal(db.metadata?.deletionTimestamp, undefined);
    assert.equal(condition(db, 'DisruptionTarget'), undefined);
  });
});
