import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatefulSet } from 'kubernetes-types/apps/v1.d.ts';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R, SharedInformer } from '../../src/client/index.ts';
import { definition } from '../../src/controllers/statefulset.ts';
import { fakeKubelet, until } from './apps-helpers.ts';
import { type Harness, startHarness } from './harness.ts';

const NS = 'sts-test';

function statefulSet(name: string, replicas: number, extra: Partial<StatefulSet['spec']> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: NS },
    spec: {
      replicas, serviceName: name, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      ...extra,
    },
  };
}

describe('statefulset controller', () => {
  let c: Harness;
  let kubelet: ReturnType<typeof fakeKubelet>;
  let watcher: SharedInformer<Pod>;
  // What a user watching pods sees: when each pod (by name and uid) appeared, became ready, went away.
  const added: { name: string; uid: string; image: string; at: number }[] = [];
  const readyAt = new Map<string, number>(); // by uid
  const deleted: { name: string; at: number }[] = [];

  before(async () => {
    c = await startHarness([definition]);
    await c.k(['create', 'namespace', NS]);
    kubelet = fakeKubelet(c.client, NS, 150);
    watcher = new SharedInformer<Pod>(c.client, R.pods, { namespace: NS });
    const seen = (p: Pod) => {
      if (p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') && !readyAt.has(p.metadata!.uid!)) {
        readyAt.set(p.metadata!.uid!, Date.now());
      }
    };
    watcher.addEventHandler({
      onAdd: (p) => {
        added.push({ name: p.metadata!.name!, uid: p.metadata!.uid!, image: p.spec!.containers[0].image!, at: Date.now() });
        seen(p);
      },
      onUpdate: (_o, p) => seen(p),
      onDelete: (p) => deleted.push({ name: p.metadata!.name!, at: Date.now() }),
    });
    watcher.start();
  });
  after(async () => {
    await watcher?.stop();
    await kubelet?.stop();
    await c?.stop();
  });

  const getSet = (name: string) => c.client.get<StatefulSet>(R.statefulsets, name, { namespace: NS });
  const podsOf = async (app: string) => (await c.client.list<Pod>(R.pods, { namespace: NS, labelSelector: `app=${app}` })).items
    .filter((p) => !p.metadata?.deletionTimestamp);
  const firstAdd = (name: string) => added.find((a) => a.name === name)!;

  it('creates web-0, web-1, web-2 in order, each after the previous is Ready, with identity and claims', async () => {
    await c.client.create(R.statefulsets, statefulSet('web', 3, {
      volumeClaimTemplates: [{
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }],
    }));
    await until('3 ready replicas', async () => {
      const s = await getSet('web');
      return s.status?.readyReplicas === 3 && s.status.replicas === 3 && s.status.observedGeneration === s.metadata?.generation;
    }, 20_000);
    for (const [prev, next] of [['web-0', 'web-1'], ['web-1', 'web-2']]) {
      const prevReady = readyAt.get(firstAdd(prev).uid);
      assert.ok(prevReady !== undefined, `${prev} became ready`);
      assert.ok(firstAdd(next).at >= prevReady, `${next} was created only after ${prev} was Ready`);
    }
    const pods = (await podsOf('web')).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    assert.deepEqual(pods.map((p) => p.metadata!.name), ['web-0', 'web-1', 'web-2']);
    const set = await getSet('web');
    for (const [i, p] of pods.entries()) {
      assert.equal(p.spec?.hostname, `web-${i}`);
      assert.equal(p.spec?.subdomain, 'web');
      assert.equal(p.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], `web-${i}`);
      assert.equal(p.metadata?.labels?.['apps.kubernetes.io/pod-index'], String(i));
      assert.equal(p.metadata?.labels?.['controller-revision-hash'], set.status?.updateRevision);
      assert.deepEqual(p.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim, { claimName: `data-web-${i}` });
      assert.equal(p.metadata?.ownerReferences?.[0]?.uid, set.metadata?.uid);
    }
    const claims = (await c.client.list<PersistentVolumeClaim>(R.persistentvolumeclaims, { namespace: NS })).items.map((x) => x.metadata!.name).sort();
    assert.deepEqual(claims, ['data-web-0', 'data-web-1', 'data-web-2']);
    assert.match(set.status!.updateRevision!, /^web-/);
    assert.equal(set.status?.currentRevision, set.status?.updateRevision);
    const revs = await c.k(['get', 'controllerrevisions', '-n', NS, '-o', 'name']);
    assert.equal(revs.trim(), `controllerrevision.apps/${set.status!.updateRevision}`);
    await c.k(['rollout', 'status', '-n', NS, 'statefulset/web', '--timeout=10s']);
  });

  it('rolls an image update from the highest ordinal down to the partition only', async () => {
    const before = await getSet('web');
    await c.client.patch(R.statefulsets, 'web', {
      spec: {
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } },
        template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } },
      },
    }, { namespace: NS, type: 'strategic' });
    await until('web-2 and web-1 run nginx:2 and are ready', async () => {
      const s = await getSet('web');
      return s.status?.updatedReplicas === 2 && s.status.readyReplicas === 3 && s.status.observedGeneration === s.metadata?.generation;
    }, 20_000);
    const images = Object.fromEntries((await podsOf('web')).map((p) => [p.metadata!.name, p.spec!.containers[0].image]));
    assert.deepEqual(images, { 'web-0': 'nginx:1', 'web-1': 'nginx:2', 'web-2': 'nginx:2' });
    const updated = added.filter((a) => a.image === 'nginx:2');
    assert.deepEqual(updated.map((a) => a.name), ['web-2', 'web-1'], 'highest ordinal first');
    assert.ok(updated[1].at >= readyAt.get(updated[0].uid)!, 'web-1 replaced only after the new web-2 was Ready');
    const s = await getSet('web');
    assert.equal(s.status?.currentRevision, before.status?.currentRevision, 'a partitioned rollout keeps the current revision');
    assert.notEqual(s.status?.updateRevision, s.status?.currentRevision);
    assert.match(await c.k(['rollout', 'status', '-n', NS, 'statefulset/web', '--timeout=10s']), /partitioned roll out complete/);

    await c.client.patch(R.statefulsets, 'web', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, { namespace: NS, type: 'merge' });
    await c.k(['rollout', 'status', '-n', NS, 'statefulset/web', '--timeout=15s']);
    const done = await getSet('web');
    assert.equal(done.status?.currentRevision, done.status?.updateRevision);
    assert.equal(done.status?.updatedReplicas, 3);
    assert.equal(done.status?.currentReplicas, 3);
  });

  it('scales down from the highest ordinal, one at a time', async () => {
    deleted.length = 0;
    await c.k(['scale', '-n', NS, 'statefulset/web', '--replicas=1']);
    await until('1 replica', async () => (await getSet('web')).status?.replicas === 1 && (await podsOf('web')).length === 1, 15_000);
    assert.deepEqual(deleted.map((d) => d.name), ['web-2', 'web-1']);
    assert.deepEqual((await podsOf('web')).map((p) => p.metadata!.name), ['web-0']);
    // Claims stay (persistentVolumeClaimRetentionPolicy defaults to Retain).
    const claims = (await c.client.list<PersistentVolumeClaim>(R.persistentvolumeclaims, { namespace: NS })).items.length;
    assert.equal(claims, 3);
  });

  it('with minReadySeconds, OrderedReady creates the next pod only once the previous one is available', async () => {
    await c.client.create(R.statefulsets, statefulSet('slow', 2, { minReadySeconds: 2 }));
    await until('slow-0 ready but not yet available', async () => {
      const s = (await getSet('slow')).status;
      return s?.readyReplicas === 1 && (s.availableReplicas ?? 0) === 0;
    }, 15_000);
    await until('2 available replicas', async () => (await getSet('slow')).status?.availableReplicas === 2, 20_000);
    const ready0 = readyAt.get(firstAdd('slow-0').uid)!;
    // lastTransitionTime has whole seconds, so availability may come up to 1 s before ready + 2 s.
    assert.ok(firstAdd('slow-1').at >= ready0 + 1000, `slow-1 created ${firstAdd('slow-1').at - ready0} ms after slow-0 was Ready`);
  });

  it('creates all pods at once with podManagementPolicy Parallel', async () => {
    kubelet.paused = true;
    try {
      await c.client.create(R.statefulsets, statefulSet('par', 3, { podManagementPolicy: 'Parallel' }));
      await until('3 pods exist while none is ready', async () => (await podsOf('par')).length === 3, 10_000);
      assert.ok((await podsOf('par')).every((p) => p.status?.phase !== 'Running'));
      assert.equal((await getSet('par')).status?.readyReplicas ?? 0, 0);
    } finally {
      kubelet.paused = false;
    }
  });
});
