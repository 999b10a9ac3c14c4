// Restarts: a crash loop under restartPolicy Always (CrashLoopBackOff, growing restartCount), a
// Job's pod running to completion, init containers in order, and an agent restart that adopts
// running containers and tears down sandboxes of pods deleted meanwhile.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'kubernetes-types/batch/v1.d.ts';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { POD_UID_LABEL } from '../../src/agent/labels.ts';
import { waitFor } from '../helpers/wait.ts';
import { BUSYBOX, busyboxPod, sleepForever, startAgentEnv, type AgentEnv } from './helpers.ts';

let env: AgentEnv;

before(async () => {
  env = await startAgentEnv();
});

after(async () => {
  await env?.cleanup();
});

const mainStatus = (p: Pod) => p.status?.containerStatuses?.[0];

test('a crashing container under restartPolicy Always shows CrashLoopBackOff and a growing restartCount', async () => {
  await env.client.create(R.pods, busyboxPod('crash', ['sh', '-c', 'echo boom; exit 1']));
  const looping = await env.waitPod('crash', 'in CrashLoopBackOff', (p) => mainStatus(p)?.state?.waiting?.reason === 'CrashLoopBackOff');
  const cs = mainStatus(looping)!;
  assert.ok(cs.restartCount >= 1);
  assert.match(cs.state!.waiting!.message ?? '', /^back-off \d+s restarting failed container=main pod=crash_default\(/);
  assert.equal(cs.lastState?.terminated?.exitCode, 1);
  assert.equal(cs.lastState?.terminated?.reason, 'Error');
  assert.equal(looping.status?.phase, 'Running');
  const out = await env.server.k(['get', 'pod', 'crash']);
  assert.match(out, /crash\s+0\/1\s+CrashLoopBackOff\s+\d/);
  // After the back-off the container runs again: restartCount grows.
  await env.waitPod('crash', 'restarted after the back-off', (p) => (mainStatus(p)?.restartCount ?? 0) > cs.restartCount, 45_000);
  await env.server.k(['delete', 'pod', 'crash']);
});

test('a Job\'s pod runs to completion', async () => {
  await env.server.k(['create', 'job', 'once', `--image=${BUSYBOX}`, '--', 'sh', '-c', 'echo done']);
  const job = await waitFor('job complete', async () => {
    const j = await env.client.get<Job>(R.jobs, 'once', { namespace: 'default' });
    return (j.status?.succeeded ?? 0) >= 1 ? j : undefined;
  }, 60_000, 250);
  assert.equal(job.status?.succeeded, 1);
  const pods = await env.client.list<Pod>(R.pods, { namespace: 'default', labelSelector: 'job-name=once' });
  assert.equal(pods.items[0]?.status?.phase, 'Succeeded');
  const t = mainStatus(pods.items[0])?.state?.terminated;
  assert.equal(t?.exitCode, 0);
  assert.equal(t?.reason, 'Completed');
  await env.server.k(['delete', 'job', 'once']);
});

test('init containers run one by one before the containers', async () => {
  await env.client.create(R.pods, busyboxPod('init', sleepForever(), {
    spec: {
      initContainers: [
        { name: 'first', image: BUSYBOX, command: ['sh', '-c', 'sleep 1'] },
        { name: 'second', image: BUSYBOX, command: ['true'] },
      ],
    },
  }));
  const pod = await env.waitPod('init', 'Running', (p) => p.status?.phase === 'Running' && !!mainStatus(p)?.state?.running);
  const [first, second] = pod.status!.initContainerStatuses!;
  assert.equal(first.name, 'first');
  assert.equal(first.state?.terminated?.reason, 'Completed');
  assert.equal(second.state?.terminated?.exitCode, 0);
  assert.ok(Date.parse(second.state!.terminated!.startedAt!) >= Date.parse(first.state!.terminated!.finishedAt!));
  assert.equal(pod.status!.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
  await env.server.k(['delete', 'pod', 'init']);
});

test('a restarted agent adopts running containers and tears down sandboxes of pods deleted meanwhile', async () => {
  await env.client.create(R.pods, busyboxPod('keep', sleepForever()));
  await env.client.create(R.pods, busyboxPod('gone', sleepForever()));
  const keep = await env.waitPod('keep', 'Running', (p) => !!mainStatus(p)?.ready);
  const gone = await env.waitPod('gone', 'Running', (p) => !!mainStatus(p)?.ready);
  await env.stopAgent();
  // While the agent is away, `gone` is removed from the API outright.
  await env.server.k(['delete', 'pod', 'gone', '--force', '--grace-period=0']);
  await env.startAgent();
  const goneSelector = { [POD_UID_LABEL]: gone.metadata!.uid! };
  await waitFor('the deleted pod\'s sandbox torn down', async () =>
    (await env.agent.cri.listPodSandbox({ filter: { label_selector: goneSelector } })).items.length === 0, 30_000, 200);
  // Give the new agent a few syncs, then the kept pod must be the same container, never restarted.
  await new Promise((r) => setTimeout(r, 3000));
  const after = await env.waitPod('keep', 'Running and ready again', (p) => !!mainStatus(p)?.ready);
  const before = mainStatus(keep)!;
  const now = mainStatus(after)!;
  assert.equal(now.containerID, before.containerID);
  assert.equal(now.state?.running?.startedAt, before.state?.running?.startedAt);
  assert.equal(now.restartCount, 0);
  assert.equal(after.status?.podIP, keep.status?.podIP);
  await env.server.k(['delete', 'pod', 'keep']);
});

test('deletion runs the preStop hook, then kills a container that ignores SIGTERM when the grace period ends', async () => {
  const out = await mkdtemp(join(tmpdir(), 'skiff-prestop-'));
  try {
    // sleep as PID 1 ignores SIGTERM: only the SIGKILL at the end of the grace period stops it.
    await env.client.create(R.pods, busyboxPod('stubborn', ['sleep', '3600'], {
      grace: 3,
      spec: { volumes: [{ name: 'out', hostPath: { path: out, type: 'Directory' } }] },
      container: {
        volumeMounts: [{ name: 'out', mountPath: '/out' }],
        lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye > /out/prestop'] } } },
      },
    }));
    await env.waitPod('stubborn', 'Running', (p) => !!mainStatus(p)?.ready);
    const started = Date.now();
    await env.server.k(['delete', 'pod', 'stubborn', '--timeout=60s']);
    const took = Date.now() - started;
    assert.ok(took >= 2500, `the grace period was waited out (${took} ms)`);
    assert.ok(took < 20_000, `and not much longer (${took} ms)`);
    assert.equal((await readFile(join(out, 'prestop'), 'utf8')).trim(), 'bye');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
