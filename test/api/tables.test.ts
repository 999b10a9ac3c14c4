import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { KubeObject, ResourceInfo } from '../../src/api/types.ts';
import { type Table, humanDuration, toTable } from '../../src/api/tables/index.ts';

const NOW = new Date('2024-05-10T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString().replace('.000Z', 'Z');
const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

export const resource = (group: string, plural: string): ResourceInfo => {
  const r = BUILTIN_RESOURCES.find((x) => x.group === group && x.plural === plural);
  assert.ok(r, `${group}/${plural} is served`);
  return r;
};

/** Header names as kubectl prints them (upper-cased), split into default and `-o wide` ones. */
function headers(t: Table): { normal: string[]; wide: string[] } {
  const cols = t.columnDefinitions ?? [];
  return {
    normal: cols.filter((c) => c.priority === 0).map((c) => c.name.toUpperCase()),
    wide: cols.filter((c) => c.priority > 0).map((c) => c.name.toUpperCase()),
  };
}

/** A row as kubectl shows it: the default columns, or all of them with wide. */
function shown(t: Table, row: number, wide = false): unknown[] {
  const cols = t.columnDefinitions ?? [];
  return t.rows[row].cells.filter((_, i) => wide || cols[i].priority === 0);
}

const pods = resource('', 'pods');
const podTable = (pod: KubeObject) => toTable(pods, [pod], { now: NOW });

function pod(spec: Record<string, unknown>, status: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web-7d4b9c-x2x5q', namespace: 'default', creationTimestamp: ago(2 * DAY + 3 * HOUR + 5 * MIN), ...meta },
    spec: { containers: [{ name: 'web', image: 'nginx:1.25' }, { name: 'sidecar', image: 'envoy:1.29' }], ...spec },
    status,
  };
}

const running = (name: string, ready: boolean, restartCount = 0, extra: Record<string, unknown> = {}) => ({
  name, ready, restartCount, started: true, state: { running: { startedAt: ago(HOUR) } }, ...extra,
});

describe('HumanDuration', () => {
  it('keeps about two significant figures, as kubectl ages do', () => {
    const cases: [number, string][] = [
      [-5, '<invalid>'], [-1.5, '0s'], [0, '0s'], [5, '5s'], [119, '119s'], [120, '2m'], [200, '3m20s'], [9 * MIN + 59, '9m59s'],
      [10 * MIN + 30, '10m'], [179 * MIN, '179m'], [3 * HOUR, '3h'], [3 * HOUR + 25 * MIN, '3h25m'], [7 * HOUR + 59 * MIN, '7h59m'],
      [8 * HOUR + 30 * MIN, '8h'], [47 * HOUR, '47h'], [2 * DAY, '2d'], [2 * DAY + 3 * HOUR, '2d3h'], [7 * DAY + 23 * HOUR, '7d23h'],
      [8 * DAY, '8d'], [729 * DAY, '729d'], [730 * DAY, '2y'], [800 * DAY, '2y70d'], [8 * 365 * DAY, '8y'], [9 * 365 * DAY + 40 * DAY, '9y'],
    ];
    for (const [seconds, want] of cases) assert.equal(humanDuration(seconds * 1000), want, `${seconds}s`);
  });
});

describe('Pod table', () => {
  it('has kubectl get pods columns, wide ones at priority 1', () => {
    const t = podTable(pod({}, { phase: 'Pending' }));
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.equal(t.kind, 'Table');
    assert.deepEqual(headers(t), {
      normal: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
      wide: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
    });
    assert.equal(t.columnDefinitions![0].format, 'name');
  });

  it('a running pod with 1/2 ready and 3 restarts, the last 5 minutes ago', () => {
    const t = podTable(pod({ nodeName: 'node-1' }, {
      phase: 'Running', podIP: '10.244.1.7', podIPs: [{ ip: '10.244.1.7' }],
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        running('web', true, 3, { lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(5 * MIN) } } }),
        running('sidecar', false),
      ],
    }));
    assert.deepEqual(shown(t, 0), ['web-7d4b9c-x2x5q', '1/2', 'Running', '3 (5m ago)', '2d3h']);
    assert.deepEqual(shown(t, 0, true).slice(5), ['10.244.1.7', 'node-1', '<none>', '<none>']);
  });

  it('a container in CrashLoopBackOff shows the waiting reason', () => {
    const t = podTable(pod({}, {
      phase: 'Running',
      containerStatuses: [
        { name: 'web', ready: false, restartCount: 12, state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: ago(90) } } },
        running('sidecar', true),
      ],
    }));
    assert.deepEqual(shown(t, 0).slice(1, 4), ['1/2', 'CrashLoopBackOff', '12 (90s ago)']);
  });

  it('image pull errors and ContainerCreating before anything runs', () => {
    const waiting = (reason: string) => podTable(pod({}, {
      phase: 'Pending',
      containerStatuses: [
        { name: 'web', ready: false, restartCount: 0, state: { waiting: { reason } } },
        { name: 'sidecar', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
      ],
    }));
    assert.deepEqual(shown(waiting('ImagePullBackOff'), 0).slice(1, 4), ['0/2', 'ImagePullBackOff', '0']);
    assert.equal(shown(waiting('ContainerCreating'), 0)[2], 'ContainerCreating');
  });

  it('init containers: Init:x/y while they run, Init:<reason> when one fails', () => {
    const spec = { initContainers: [{ name: 'migrate', image: 'tool' }, { name: 'seed', image: 'tool' }] };
    const t1 = podTable(pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'migrate', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'seed', ready: false, restartCount: 0, state: { running: {} } },
      ],
      containerStatuses: [
        { name: 'web', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
      ],
    }));
    assert.deepEqual(shown(t1, 0).slice(1, 4), ['0/2', 'Init:1/2', '0']);

    const t2 = podTable(pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'migrate', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(30) } } },
      ],
    }));
    assert.deepEqual(shown(t2, 0).slice(1, 4), ['0/2', 'Init:CrashLoopBackOff', '4 (30s ago)']);

    const t3 = podTable(pod(spec, {
      phase: 'Pending',
      initContainerStatuses: [{ name: 'migrate', ready: false, restartCount: 0, state: { terminated: { exitCode: 2 } } }],
    }));
    assert.equal(shown(t3, 0)[2], 'Init:ExitCode:2');
  });

  it('a restartable init container (sidecar) counts towards READY', () => {
    const t = podTable(pod({ initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] }, {
      phase: 'Running',
      conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
      initContainerStatuses: [running('proxy', true, 1, { lastState: { terminated: { exitCode: 1, finishedAt: ago(2 * HOUR) } } })],
      containerStatuses: [running('web', true), running('sidecar', true)],
    }));
    assert.deepEqual(shown(t, 0).slice(1, 4), ['3/3', 'Running', '1 (120m ago)']);
  });

  it('a pod being deleted is Terminating; a finished one Completed, with a row condition', () => {
    const deleting = podTable(pod({}, { phase: 'Running', containerStatuses: [running('web', true), running('sidecar', true)] },
      { deletionTimestamp: ago(10) }));
    assert.equal(shown(deleting, 0)[2], 'Terminating');

    const done = podTable(pod({}, {
      phase: 'Succeeded',
      containerStatuses: [
        { name: 'web', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'sidecar', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      ],
    }));
    assert.deepEqual(shown(done, 0).slice(1, 4), ['0/2', 'Completed', '0']);
    assert.deepEqual(done.rows[0].conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  });

  it('evicted pods show the pod-level reason; readiness gates count true conditions', () => {
    const evicted = podTable(pod({}, { phase: 'Failed', reason: 'Evicted', message: 'low on memory' }));
    assert.equal(shown(evicted, 0)[2], 'Evicted');

    const gated = podTable(pod({ readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] }, {
      phase: 'Running', nominatedNodeName: 'node-2', conditions: [{ type: 'example.com/lb', status: 'True' }],
    }));
    assert.deepEqual(shown(gated, 0, true).slice(5), ['<none>', '<none>', 'node-2', '1/2']);
  });

  it('rows carry PartialObjectMetadata by default, the object for Object, nothing for None', () => {
    const p = pod({}, { phase: 'Running' });
    assert.deepEqual(toTable(pods, [p], { now: NOW }).rows[0].object,
      { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: p.metadata });
    assert.equal(toTable(pods, [p], { now: NOW, includeObject: 'Object' }).rows[0].object, p);
    assert.equal('object' in toTable(pods, [p], { now: NOW, includeObject: 'None' }).rows[0], false);
  });

  it('wide: false drops the priority 1 columns and their cells; noHeaders drops the definitions', () => {
    const t = toTable(pods, [pod({}, { phase: 'Running' })], { now: NOW, wide: false });
    assert.equal(t.columnDefinitions!.length, 5);
    assert.equal(t.rows[0].cells.length, 5);
    assert.equal(toTable(pods, [], { noHeaders: true }).columnDefinitions, undefined);
  });
});

describe('workload tables', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }, { name: 'log', image: 'fluentbit:3' }] } };

  it('Deployment: NAME READY UP-TO-DATE AVAILABLE AGE | CONTAINERS IMAGES SELECTOR', () => {
    const t = toTable(resource('apps', 'deployments'), [{
      metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(45 * MIN) },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    }], { now: NOW });
    assert.deepEqual(headers(t), { normal: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'], wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'] });
    assert.deepEqual(shown(t, 0, true), ['web', '2/3', 3, 2, '45m', 'web,log', 'nginx:1.25,fluentbit:3', 'app=web']);
  });

  it('ReplicaSet: NAME DESIRED CURRENT READY AGE | CONTAINERS IMAGES SELECTOR', () => {
    const t = toTable(resource('apps', 'replicasets'), [{
      metadata: { name: 'web-7d4b9c', creationTimestamp: ago(5 * DAY) },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9c' } }, template },
      status: { replicas: 3, readyReplicas: 3 },
    }], { now: NOW });
    assert.deepEqual(headers(t).normal, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    assert.deepEqual(shown(t, 0, true), ['web-7d4b9c', 3, 3, 3, '5d', 'web,log', 'nginx:1.25,fluentbit:3', 'app=web,pod-template-hash=7d4b9c']);
  });

  it('StatefulSet and DaemonSet', () => {
    const sts = toTable(resource('apps', 'statefulsets'), [{
      metadata: { name: 'db', creationTimestamp: ago(10 * DAY) }, spec: { replicas: 3, template }, status: { readyReplicas: 1 },
    }], { now: NOW });
    assert.deepEqual(headers(sts), { normal: ['NAME', 'READY', 'AGE'], wide: ['CONTAINERS', 'IMAGES'] });
    assert.deepEqual(shown(sts, 0), ['db', '1/3', '10d']);

    const ds = toTable(resource('apps', 'daemonsets'), [{
      metadata: { name: 'agent', creationTimestamp: ago(3 * HOUR) },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } } },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
    }], { now: NOW });
    assert.deepEqual(headers(ds).normal, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE']);
    assert.deepEqual(shown(ds, 0), ['agent', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '3h']);
  });

  it('Job: status, completions and duration', () => {
    const jobs = resource('batch', 'jobs');
    const t = toTable(jobs, [
      { metadata: { name: 'pi', creationTimestamp: ago(10 * MIN) }, spec: { completions: 1, parallelism: 1, template },
        status: { succeeded: 1, startTime: ago(10 * MIN), completionTime: ago(10 * MIN - 47), conditions: [{ type: 'Complete', status: 'True' }] } },
      { metadata: { name: 'work', creationTimestamp: ago(200) }, spec: { parallelism: 3, template }, status: { active: 3, startTime: ago(200) } },
      { metadata: { name: 'bad', creationTimestamp: ago(DAY) }, spec: { completions: 5, template },
        status: { failed: 6, startTime: ago(DAY), conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } },
    ], { now: NOW });
    assert.deepEqual(headers(t).normal, ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE']);
    assert.deepEqual(shown(t, 0), ['pi', 'Complete', '1/1', '47s', '10m']);
    assert.deepEqual(shown(t, 1), ['work', 'Running', '0/1 of 3', '3m20s', '3m20s']);
    assert.deepEqual(shown(t, 2), ['bad', 'Failed', '0/5', '24h', '24h']);
  });

  it('CronJob', () => {
    const t = toTable(resource('batch', 'cronjobs'), [{
      metadata: { name: 'nightly', creationTimestamp: ago(30 * DAY) },
      spec: { schedule: '0 3 * * *', suspend: false, jobTemplate: { spec: { template } } },
      status: { active: [{ name: 'nightly-1' }], lastScheduleTime: ago(9 * HOUR) },
    }], { now: NOW });
    assert.deepEqual(headers(t).normal, ['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE']);
    assert.deepEqual(shown(t, 0), ['nightly', '0 3 * * *', '<none>', 'False', 1, '9h', '30d']);
  });

  it('ControllerRevision names its controller as kind.group/name', () => {
    const t = toTable(resource('apps', 'controllerrevisions'), [{
      metadata: { name: 'db-6c8f', creationTimestamp: ago(DAY),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] },
      revision: 2,
    }], { now: NOW });
    assert.deepEqual(shown(t, 0), ['db-6c8f', 'statefulset.apps/db', 2, '24h']);
  });
});
