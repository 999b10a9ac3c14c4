import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.d.ts';
import { controllerOf, R, SharedInformer } from '../../src/client/index.ts';
import { definition as deploymentController } from '../../src/controllers/deployment.ts';
import { computeHash, resolveFenceposts } from '../../src/controllers/deployment-util.ts';
import { definition as replicaSetController } from '../../src/controllers/replicaset.ts';
import { fakeKubelet, until } from './apps-helpers.ts';
import { type Harness, startHarness } from './harness.ts';

const NS = 'deploy-test';
const STUCK_NS = 'deploy-stuck'; // no kubelet: pods never become ready

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('deployment controller', () => {
  let c: Harness;
  let kubelet: ReturnType<typeof fakeKubelet>;
  const k = (args: string[]) => c.k(['-n', NS, ...args]);

  before(async () => {
    c = await startHarness([replicaSetController, deploymentController]);
    await c.k(['create', 'namespace', NS]);
    await c.k(['create', 'namespace', STUCK_NS]);
    kubelet = fakeKubelet(c.client, NS);
  });
  after(async () => {
    await kubelet?.stop();
    await c?.stop();
  });

  const getD = (name: string, ns = NS) => c.client.get<Deployment>(R.deployments, name, { namespace: ns });
  const rsOf = async (name: string, ns = NS) => (await c.client.list<ReplicaSet>(R.replicasets, { namespace: ns })).items
    .filter((rs) => rs.metadata?.ownerReferences?.[0]?.name === name)
    .sort((a, b) => Number(a.metadata!.annotations!['deployment.kubernetes.io/revision']) - Number(b.metadata!.annotations!['deployment.kubernetes.io/revision']));
  const revision = (o: { metadata?: { annotations?: Record<string, string> } }) => o.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const rolloutStatus = (name: string) => k(['rollout', 'status', `deployment/${name}`, '--timeout=30s']);

  /** Watches web's pods and ReplicaSets during a rollout and records every moment the strategy's bounds are broken. */
  function watchBounds(name: string, replicas: number, surge: number, unavailable: number) {
    const pods = new SharedInformer<Pod>(c.client, R.pods, { namespace: NS, labelSelector: `app=${name}` });
    const rss = new SharedInformer<ReplicaSet>(c.client, R.replicasets, { namespace: NS, labelSelector: `app=${name}` });
    const violations: string[] = [];
    let checks = 0;
    const check = () => {
      if (!pods.hasSynced() || !rss.hasSynced()) return;
      checks++;
      const active = pods.list().filter((p) => !p.metadata?.deletionTimestamp);
      const ready = active.filter(isReady).length;
      if (active.length > replicas + surge) violations.push(`${active.length} pods > ${replicas} + maxSurge ${surge}`);
      if (ready < replicas - unavailable) violations.push(`${ready} available pods < ${replicas} - maxUnavailable ${unavailable}`);
      const specSum = rss.list().reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
      const availableSum = rss.list().reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
      if (specSum > replicas + surge) violations.push(`ReplicaSets want ${specSum} pods > ${replicas + surge}`);
      if (availableSum < replicas - unavailable) violations.push(`ReplicaSets report ${availableSum} available < ${replicas - unavailable}`);
    };
    for (const i of [pods, rss] as SharedInformer[]) {
      i.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
      i.start();
    }
    return {
      violations, checks: () => checks,
      synced: () => until('bound watchers synced', () => pods.hasSynced() && rss.hasSynced()),
      stop: async () => { await pods.stop(); await rss.stop(); },
    };
  }

  it('creates web-<hash> with revision 1 and `kubectl rollout status` returns', async () => {
    await k(['create', 'deployment', 'web', '--image=busybox', '--replicas=3']);
    const out = await rolloutStatus('web');
    assert.match(out, /deployment "web" successfully rolled out/);
    const d = await getD('web');
    assert.equal(revision(d), '1');
    assert.equal(d.status?.observedGeneration, d.metadata?.generation);
    assert.deepEqual([d.status?.replicas, d.status?.updatedReplicas, d.status?.readyReplicas, d.status?.availableReplicas, d.status?.unavailableReplicas],
      [3, 3, 3, 3, undefined]);
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((x) => [x.type, `${x.status}/${x.reason}`]));
    assert.deepEqual(conds, { Available: 'True/MinimumReplicasAvailable', Progressing: 'True/NewReplicaSetAvailable' });
    const [rs] = await rsOf('web');
    const hash = rs.metadata!.labels!['pod-template-hash'];
    assert.equal(rs.metadata!.name, `web-${hash}`);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs.spec?.selector?.matchLabels?.['pod-template-hash'], hash);
    assert.deepEqual([revision(rs), rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas']],
      ['1', '3', '4']);
    assert.equal(controllerOf(rs)?.uid, d.metadata?.uid);
    const pods = (await c.client.list<Pod>(R.pods, { namespace: NS, labelSelector: 'app=web' })).items;
    assert.equal(pods.length, 3);
    for (const p of pods) assert.match(p.metadata!.name!, new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
  });

  it('rolls out a new image within maxSurge and maxUnavailable', async () => {
    // 3 replicas with the default 25%: surge rounds up to 1, unavailable rounds down to 0.
    const bounds = watchBounds('web', 3, 1, 0);
    await bounds.synced();
    try {
      await k(['set', 'image', 'deployment/web', 'busybox=busybox:v2']);
      await rolloutStatus('web');
      await until('the old ReplicaSet has no pods', async () => (await rsOf('web'))[0].status?.replicas === 0);
    } finally {
      await bounds.stop();
    }
    assert.deepEqual(bounds.violations, []);
    assert.ok(bounds.checks() > 5, `the watch saw the rollout (${bounds.checks()} checks)`);
    const rss = await rsOf('web');
    assert.deepEqual(rss.map((rs) => [revision(rs), rs.spec?.replicas, rs.spec?.template?.spec?.containers[0].image]),
      [['1', 0, 'busybox'], ['2', 3, 'busybox:v2']]);
    assert.equal(revision(await getD('web')), '2');
    const events = await k(['get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    assert.match(events, new RegExp(`Scaled down replica set ${rss[0].metadata!.name} from 1 to 0`));
  });

  it('lists revisions with `kubectl rollout history`', async () => {
    const out = await k(['rollout', 'history', 'deployment/web']);
    assert.match(out, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const detail = await k(['rollout', 'history', 'deployment/web', '--revision=1']);
    assert.match(detail, /Image:\s+busybox\n/);
  });

  it('`kubectl rollout undo` reuses the old ReplicaSet under a new revision', async () => {
    const [first] = await rsOf('web');
    const bounds = watchBounds('web', 3, 1, 0);
    await bounds.synced();
    try {
      await k(['rollout', 'undo', 'deployment/web']);
      await rolloutStatus('web');
    } finally {
      await bounds.stop();
    }
    assert.deepEqual(bounds.violations, []);
    const rss = await rsOf('web');
    assert.equal(rss.length, 2, 'no third ReplicaSet');
    const reused = rss.find((rs) => rs.metadata!.uid === first.metadata!.uid)!;
    assert.equal(revision(reused), '3');
    assert.equal(reused.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(reused.spec?.replicas, 3);
    const d = await getD('web');
    assert.equal(revision(d), '3');
    assert.equal(d.spec?.template?.spec?.containers[0].image, 'busybox');
    assert.match(await k(['rollout', 'history', 'deployment/web']), /\n2\s+<none>\n3\s+<none>/);
  });

  it('scales to 0 and back', async () => {
    await k(['scale', 'deployment/web', '--replicas=0']);
    await until('no pods and status 0', async () => {
      const d = await getD('web');
      const pods = (await c.client.list<Pod>(R.pods, { namespace: NS, labelSelector: 'app=web' })).items;
      return pods.length === 0 && !d.status?.replicas && d.status?.observedGeneration === d.metadata?.generation;
    });
    await k(['scale', 'deployment/web', '--replicas=3']);
    await rolloutStatus('web');
    assert.equal((await getD('web')).status?.availableReplicas, 3);
    assert.equal((await rsOf('web')).length, 2, 'scaling makes no new ReplicaSet');
  });

  it('does not roll out while paused, and does after resume', async () => {
    await k(['rollout', 'pause', 'deployment/web']);
    await k(['set', 'image', 'deployment/web', 'busybox=busybox:v3']);
    await until('the paused condition and observedGeneration', async () => {
      const d = await getD('web');
      const p = d.status?.conditions?.find((x) => x.type === 'Progressing');
      return p?.reason === 'DeploymentPaused' && p.status === 'Unknown' && d.status?.observedGeneration === d.metadata?.generation;
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await rsOf('web')).length, 2, 'no new ReplicaSet while paused');
    await k(['rollout', 'resume', 'deployment/web']);
    await rolloutStatus('web');
    const rss = await rsOf('web');
    assert.equal(rss.at(-1)!.spec?.template?.spec?.containers[0].image, 'busybox:v3');
    assert.equal(revision(rss.at(-1)!), '4');
  });

  it('`kubectl rollout restart` starts a new rollout', async () => {
    await k(['rollout', 'restart', 'deployment/web']);
    await rolloutStatus('web');
    const newest = (await rsOf('web')).at(-1)!;
    assert.equal(revision(newest), '5');
    assert.ok(newest.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
  });

  it('keeps only revisionHistoryLimit old ReplicaSets', async () => {
    await k(['patch', 'deployment/web', '-p', '{"spec":{"revisionHistoryLimit":1}}']);
    await until('old ReplicaSets pruned to 1', async () => (await rsOf('web')).length === 2);
    const rss = await rsOf('web');
    assert.deepEqual(rss.map(revision), ['4', '5']);
  });

  it('Recreate scales the old pods away before any new pod starts', async () => {
    const manifest = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'rec', namespace: NS },
      spec: {
        replicas: 2, strategy: { type: 'Recreate' }, selector: { matchLabels: { app: 'rec' } },
        template: { metadata: { labels: { app: 'rec' } }, spec: { containers: [{ name: 'busybox', image: 'busybox' }] } },
      },
    };
    await c.k(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    await rolloutStatus('rec');
    const pods = new SharedInformer<Pod>(c.client, R.pods, { namespace: NS, labelSelector: 'app=rec' });
    const mixed: string[] = [];
    const check = () => {
      const images = new Set(pods.list().map((p) => p.spec?.containers[0].image));
      if (images.size > 1) mixed.push([...images].join(','));
    };
    pods.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
    pods.start();
    try {
      await until('pod watch synced', () => pods.hasSynced());
      await k(['set', 'image', 'deployment/rec', 'busybox=busybox:v2']);
      await rolloutStatus('rec');
    } finally {
      await pods.stop();
    }
    assert.deepEqual(mixed, [], 'old and new pods never run together');
    const rss = await rsOf('rec');
    assert.deepEqual(rss.map((rs) => rs.spec?.replicas), [0, 2]);
  });

  it('scales a rollout in progress proportionally', async () => {
    const kn = (args: string[]) => c.k(['-n', STUCK_NS, ...args]);
    const sizes = async () => (await rsOf('prop', STUCK_NS)).map((rs) => rs.spec?.replicas);
    await kn(['create', 'deployment', 'prop', '--image=busybox', '--replicas=10']);
    await until('10 replicas wanted', async () => (await sizes()).join() === '10');
    // Pods never become ready here: with surge 3 and unavailable 2 the rollout stops at old 8 + new 5.
    await kn(['set', 'image', 'deployment/prop', 'busybox=busybox:v2']);
    await until('the rollout stalls at 8 + 5', async () => (await sizes()).join() === '8,5');
    // 20 replicas allow 25 pods: the 12 extra are split 8:5 (rounded), as the sizes were.
    await kn(['scale', 'deployment/prop', '--replicas=20']);
    await until('15 + 10', async () => (await sizes()).join() === '15,10');
    const rss = await rsOf('prop', STUCK_NS);
    for (const rs of rss) {
      assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '20');
      assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '25');
    }
  });

  it('reports ProgressDeadlineExceeded when pods never become available', async () => {
    await c.k(['-n', STUCK_NS, 'create', 'deployment', 'stuck', '--image=busybox', '--replicas=1']);
    await c.k(['-n', STUCK_NS, 'patch', 'deployment/stuck', '-p', '{"spec":{"progressDeadlineSeconds":1}}']);
    await until('the deadline is exceeded', async () => {
      const p = (await getD('stuck', STUCK_NS)).status?.conditions?.find((x) => x.type === 'Progressing');
      return p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded';
    }, 10000);
    const r = await c.kubectl(['-n', STUCK_NS, 'rollout', 'status', 'deployment/stuck', '--timeout=10s']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exceeded its progress deadline/);
    const d = await getD('stuck', STUCK_NS);
    const a = d.status?.conditions?.find((x) => x.type === 'Available');
    assert.equal(`${a?.status}/${a?.reason}`, 'False/MinimumReplicasUnavailable');
    assert.equal(d.status?.unavailableReplicas, 1);
  });
});

describe('deployment pure parts', () => {
  it('rounds maxSurge up and maxUnavailable down', () => {
    const d = (replicas: number, maxSurge: number | string, maxUnavailable: number | string): Deployment => ({
      metadata: {}, spec: { replicas, selector: {}, template: {}, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } } },
    });
    assert.deepEqual(resolveFenceposts(d(10, '25%', '25%')), { surge: 3, unavailable: 2 });
    assert.deepEqual(resolveFenceposts(d(3, '25%', '25%')), { surge: 1, unavailable: 0 });
    assert.deepEqual(resolveFenceposts(d(5, 0, 0)), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(d(4, 2, '50%')), { surge: 2, unavailable: 2 });
  });

  it('hashes templates stably and differently per collisionCount', () => {
    const t = { metadata: { labels: { b: '1', a: '2' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    const same = { spec: { containers: [{ image: 'x', name: 'c' }] }, metadata: { labels: { a: '2', b: '1' } } };
    assert.equal(computeHash(t), computeHash(same));
    assert.notEqual(computeHash(t), computeHash(t, 1));
    assert.notEqual(computeHash(t), computeHash({ ...t, spec: { containers: [{ name: 'c', image: 'y' }] } }));
  });
});
