// Pods on a real agent: running with an IP and kubectl's view of the containers, deletion that
// waits for the containers to be gone, and a failed container under restartPolicy Never.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { R } from '../../src/client/resources.ts';
import { POD_UID_LABEL } from '../../src/agent/labels.ts';
import { BUSYBOX, busyboxPod, sleepForever, startAgentEnv, type AgentEnv } from './helpers.ts';

let env: AgentEnv;

before(async () => {
  env = await startAgentEnv();
});

after(async () => {
  await env?.cleanup();
});

test('a busybox pod runs with a pod IP and the container statuses kubectl shows', async () => {
  await env.client.create(R.pods, busyboxPod('web', sleepForever(), { container: { env: [{ name: 'GREETING', value: 'hi' }] } }));
  const pod = await env.waitPod('web', 'Running and Ready', (p) => p.status?.phase === 'Running'
    && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  const s = pod.status!;
  assert.match(s.podIP ?? '', /^10\.42\.\d+\.\d+$/);
  assert.deepEqual(s.podIPs, [{ ip: s.podIP }]);
  assert.equal(s.hostIP, '127.0.0.1');
  assert.equal(s.qosClass, 'BestEffort');
  assert.ok(s.startTime);
  const cs = s.containerStatuses!;
  assert.equal(cs.length, 1);
  assert.equal(cs[0].name, 'main');
  assert.equal(cs[0].ready, true);
  assert.equal(cs[0].started, true);
  assert.equal(cs[0].restartCount, 0);
  assert.equal(cs[0].image, BUSYBOX);
  assert.match(cs[0].imageID, /^sha256:[0-9a-f]{64}$/);
  assert.match(cs[0].containerID ?? '', /^skiff:\/\/[0-9a-f]{64}$/);
  assert.ok(cs[0].state?.running?.startedAt);
  const types = (s.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();
  assert.deepEqual(types, ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True']);
  const out = await env.server.k(['get', 'pods', 'web', '-o', 'wide']);
  assert.match(out, /web\s+1\/1\s+Running\s+0\s+\S+\s+10\.42\.\d+\.\d+\s+/);
  // The container really runs with the pod's env and hostname.
  const [c] = (await env.agent.cri.listContainers({ filter: { label_selector: { [POD_UID_LABEL]: pod.metadata!.uid! } } })).containers;
  const r = await env.agent.cri.execSync({ container_id: c.id, cmd: ['sh', '-c', 'echo $GREETING $(hostname)'], timeout: 10 });
  assert.equal(Buffer.from(r.stdout).toString().trim(), 'hi web');
});

test('kubectl delete pod returns once the containers and the sandbox are gone', async () => {
  const pod = await env.getPod('web');
  const uid = pod!.metadata!.uid!;
  const started = Date.now();
  await env.server.k(['delete', 'pod', 'web', '--timeout=60s']);
  assert.ok(Date.now() - started < 30_000, 'deleted well within the grace period');
  assert.equal(await env.getPod('web'), undefined);
  const selector = { [POD_UID_LABEL]: uid };
  assert.deepEqual((await env.agent.cri.listPodSandbox({ filter: { label_selector: selector } })).items, []);
  assert.deepEqual((await env.agent.cri.listContainers({ filter: { label_selector: selector } })).containers, []);
});

test('restartPolicy Never and exit 3: the pod is Failed with exit code 3 and the termination message', async () => {
  await env.client.create(R.pods, busyboxPod('fail', ['sh', '-c', 'echo -n "bad input" > /dev/termination-log; exit 3'], { restartPolicy: 'Never' }));
  const pod = await env.waitPod('fail', 'Failed', (p) => p.status?.phase === 'Failed');
  const t = pod.status!.containerStatuses![0].state!.terminated!;
  assert.equal(t.exitCode, 3);
  assert.equal(t.reason, 'Error');
  assert.equal(t.message, 'bad input');
  assert.ok(t.startedAt && t.finishedAt);
  assert.equal(pod.status!.containerStatuses![0].restartCount, 0);
  assert.equal(pod.status!.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  const out = await env.server.k(['get', 'pod', 'fail']);
  assert.match(out, /fail\s+0\/1\s+Error\s+0/);
  // It stays Failed (no restart) and its sandbox is stopped.
  await new Promise((r) => setTimeout(r, 2000));
  const again = await env.getPod('fail');
  assert.equal(again?.status?.phase, 'Failed');
  assert.equal(again?.status?.containerStatuses?.[0].restartCount, 0);
  const { items } = await env.agent.cri.listPodSandbox({ filter: { label_selector: { [POD_UID_LABEL]: pod.metadata!.uid! } } });
  assert.deepEqual(items.map((s) => s.state), ['SANDBOX_NOTREADY']);
  await env.server.k(['delete', 'pod', 'fail']);
});

test('image pull policies: Never with a missing image is ErrImageNeverPull; a failed pull backs off', async () => {
  await env.client.create(R.pods, busyboxPod('never', ['true'], { container: { image: 'skiff.local/absent:1', imagePullPolicy: 'Never' } }));
  await env.client.create(R.pods, busyboxPod('pull', ['true'], { container: { image: 'skiff.local/absent:2', imagePullPolicy: 'IfNotPresent' } }));
  const never = await env.waitPod('never', 'ErrImageNeverPull', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull');
  assert.equal(never.status?.containerStatuses?.[0]?.state?.waiting?.message, 'Container image "skiff.local/absent:1" is not present with pull policy of Never');
  assert.equal(never.status?.phase, 'Pending');
  // ErrImagePull shows until the next sync finds the pull in back-off.
  const pulling = await env.waitPod('pull', 'ImagePullBackOff', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
  assert.equal(pulling.status?.containerStatuses?.[0]?.state?.waiting?.message, 'Back-off pulling image "skiff.local/absent:2"');
  const events = await env.server.k(['get', 'events', '--field-selector', 'involvedObject.name=pull', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
  assert.match(events, /^Failed: Failed to pull image "skiff\.local\/absent:2": skiff\.local images are made by the Skiff runtime/m);
  assert.match(events, /^BackOff: Back-off pulling image "skiff\.local\/absent:2"/m);
  assert.match(await env.server.k(['get', 'pod', 'never']), /never\s+0\/1\s+ErrImageNeverPull/);
  await env.server.k(['delete', 'pod', 'never', 'pull']);
});

test('requests and limits reach the container\'s cgroup; a postStart hook runs', async () => {
  await env.client.create(R.pods, busyboxPod('limited', sleepForever(), {
    container: {
      resources: { requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
      lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo started > /tmp/poststart'] } } },
    },
  }));
  const pod = await env.waitPod('limited', 'Running', (p) => !!p.status?.containerStatuses?.[0]?.ready);
  assert.equal(pod.status?.qosClass, 'Burstable');
  const id = pod.status!.containerStatuses![0].containerID!.replace('skiff://', '');
  const cg = `/skiff/kubepods/burstable/pod${pod.metadata!.uid}/${id}`;
  assert.equal((await readFile(`/sys/fs/cgroup/memory${cg}/memory.limit_in_bytes`, 'utf8')).trim(), String(64 * 1024 * 1024));
  assert.equal((await readFile(`/sys/fs/cgroup/cpu${cg}/cpu.cfs_quota_us`, 'utf8')).trim(), '20000');
  assert.equal((await readFile(`/sys/fs/cgroup/cpu${cg}/cpu.shares`, 'utf8')).trim(), '102');
  const r = await env.agent.cri.execSync({ container_id: id, cmd: ['cat', '/tmp/poststart'], timeout: 10 });
  assert.equal(Buffer.from(r.stdout).toString().trim(), 'started');
  await env.server.k(['delete', 'pod', 'limited']);
});

test('a hostNetwork pod gets the node\'s IP; ClusterFirst without cluster DNS uses the host\'s resolver', async () => {
  await env.client.create(R.pods, busyboxPod('hostnet', sleepForever(), { spec: { hostNetwork: true } }));
  const pod = await env.waitPod('hostnet', 'Running', (p) => !!p.status?.containerStatuses?.[0]?.ready);
  assert.equal(pod.status?.podIP, '127.0.0.1');
  const id = pod.status!.containerStatuses![0].containerID!.replace('skiff://', '');
  const r = await env.agent.cri.execSync({ container_id: id, cmd: ['cat', '/etc/resolv.conf'], timeout: 10 });
  const servers = (s: string) => s.split('\n').filter((l) => l.startsWith('nameserver')).map((l) => l.trim());
  assert.deepEqual(servers(Buffer.from(r.stdout).toString()), servers(await readFile('/etc/resolv.conf', 'utf8')));
  await env.server.k(['delete', 'pod', 'hostnet']);
});
