// The acceptance checks of issue 5 §3, each a function over a Cluster (up-cluster.ts), so the same
// checks run on `skiff up` (test/e2e/up-*.test.ts) and on an agent over containerd
// (test/e2e/agent-containerd.test.ts). Everything goes through the real kubectl and the API, as a
// user would check it; the runtime is read through CRI only to see containers stop.
import assert from 'node:assert/strict';
import { release } from 'node:os';
import type { Endpoints, Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import { R } from '../../src/client/resources.ts';
import { POD_UID_LABEL } from '../../src/agent/labels.ts';
import { waitFor } from '../helpers/wait.ts';
import { nodeIsReady, waitPod, type Cluster } from './up-cluster.ts';

export const running = (p: Pod) => p.status?.phase === 'Running' && !!p.status.podIP
  && (p.status.containerStatuses ?? []).length > 0 && p.status.containerStatuses!.every((s) => !!s.state?.running);
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export async function podsOf(c: Cluster, selector: string): Promise<Pod[]> {
  return (await c.client.list<Pod>(R.pods, { namespace: 'default', labelSelector: selector })).items;
}

/** `kubectl create deployment <name> --replicas=3 -- httpd -f -p 8080`: three Running pods, each with its own IP. */
export async function deploymentOfHttpd(c: Cluster, name: string, replicas = 3): Promise<Pod[]> {
  await c.k(['create', 'deployment', name, `--image=${c.image}`, `--replicas=${replicas}`, '--', 'httpd', '-f', '-p', '8080']);
  const pods = await waitFor(`${replicas} pods of deployment ${name} Running with IPs`, async () => {
    const list = await podsOf(c, `app=${name}`);
    return list.length === replicas && list.every(running) && list.every(ready) ? list : undefined;
  }, 120_000, 250);
  const ips = pods.map((p) => p.status!.podIP!);
  assert.equal(new Set(ips).size, replicas, `distinct pod IPs: ${ips}`);
  for (const ip of ips) assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  const wide = await c.k(['get', 'pods', '-l', `app=${name}`, '-o', 'wide']);
  for (const p of pods) assert.match(wide, new RegExp(`${p.metadata!.name}\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${p.status!.podIP!.replaceAll('.', '\\.')}\\s+${c.nodeName}`));
  return pods;
}

/** `kubectl exec` runs wget in one pod against another pod's IP; exec's exit code comes back. */
export async function execWgetBetweenPods(c: Cluster, pods: Pod[]): Promise<void> {
  const [a, b] = pods;
  // busybox httpd serves from its cwd (/): /etc/hostname is the serving pod's hostname.
  const got = await c.k(['exec', a.metadata!.name!, '--', 'wget', '-q', '-O-', `http://${b.status!.podIP}:8080/etc/hostname`]);
  assert.equal(got.trim(), b.metadata!.name);
  const r = await c.kubectl(['exec', a.metadata!.name!, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3, `exit code of the command in the container: ${r.stderr}`);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /err\n/);
  // stdin goes in too.
  assert.equal(await c.k(['exec', '-i', a.metadata!.name!, '--', 'cat'], { input: 'through stdin\n' }), 'through stdin\n');
}

/** `kubectl port-forward pod :8080`, then a request from the host answers. */
export async function portForward(c: Cluster, pod: Pod): Promise<void> {
  const pf = c.spawnKubectl(['port-forward', `pod/${pod.metadata!.name}`, ':8080']);
  try {
    const m = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/, 30_000);
    const res = await fetch(`http://127.0.0.1:${m[1]}/etc/hostname`, { signal: AbortSignal.timeout(20_000) });
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim(), pod.metadata!.name);
    // A second request over the same forward.
    const again = await fetch(`http://127.0.0.1:${m[1]}/nothing-here`, { signal: AbortSignal.timeout(20_000) });
    assert.equal(again.status, 404);
    await again.text();
  } finally {
    await pf.stop();
  }
}

function pod(c: Cluster, name: string, command: string[], extra: { restartPolicy?: string; grace?: number; spec?: object; container?: object } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { test: name } },
    spec: {
      restartPolicy: extra.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: extra.grace ?? 2,
      containers: [{ name: 'main', image: c.image, command, ...extra.container }],
      ...extra.spec,
    },
  } as Pod;
}

/** A shell that exits at once on SIGTERM (as PID 1 it would ignore it otherwise). */
const SLEEP = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

async function apply(c: Cluster, obj: object): Promise<void> {
  await c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });
}

/** `kubectl logs -f` streams lines as the container writes them. */
export async function logsFollow(c: Cluster): Promise<void> {
  await apply(c, pod(c, 'logger', ['sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo "line $i"; i=$((i+1)); sleep 1; done']));
  await waitPod(c, 'logger', 'Running', running);
  const f = c.spawnKubectl(['logs', '-f', 'logger']);
  try {
    const first = Number((await f.waitFor(/line (\d+)\n/, 30_000))[1]);
    // Lines written after the stream opened arrive on it, in order.
    await f.waitFor(new RegExp(`line ${first + 3}\\n`), 30_000);
    const numbers = [...f.out().matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(numbers, numbers.map((_, i) => numbers[0] + i), 'no line lost or repeated');
    assert.equal(f.proc.exitCode, null, 'kubectl logs -f is still following');
  } finally {
    await f.stop();
  }
  // --tail and the plain form.
  const tail = await c.k(['logs', '--tail=1', 'logger']);
  assert.match(tail, /^line \d+\n$/);
}

/** A failing liveness probe restarts the container; restartCount grows. */
export async function livenessRestarts(c: Cluster): Promise<void> {
  await apply(c, pod(c, 'unhealthy', SLEEP, {
    container: { livenessProbe: { exec: { command: ['sh', '-c', 'exit 1'] }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1 } },
  }));
  const p = await waitPod(c, 'unhealthy', 'restarted twice by its liveness probe', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2, 120_000);
  const s = p.status!.containerStatuses![0];
  assert.equal(s.lastState?.terminated?.exitCode !== undefined, true, `lastState: ${JSON.stringify(s.lastState)}`);
  const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=unhealthy', '-o', 'jsonpath={range .items[*]}{.reason}:{.message}{"\\n"}{end}']);
  assert.match(events, /Unhealthy:Liveness probe failed/);
  assert.match(events, /Killing:Container main failed liveness probe, will be restarted/);
}

/** A pod that is not ready is out of its Service's endpoints, and comes in once it is ready. */
export async function readinessAndEndpoints(c: Cluster): Promise<void> {
  const readiness = { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 };
  const labels = { app: 'gated' };
  for (const [name, cmd] of [['gated-ready', 'touch /tmp/ready; '], ['gated-not-ready', '']] as const) {
    const p = pod(c, name, ['sh', '-c', `${cmd}trap "exit 0" TERM; httpd -p 8080; while true; do sleep 1; done`], { container: { readinessProbe: readiness } });
    p.metadata!.labels = { ...p.metadata!.labels, ...labels };
    await apply(c, p);
  }
  await apply(c, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'gated', namespace: 'default' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } });
  const readyPod = await waitPod(c, 'gated-ready', 'Ready', ready);
  const notReady = await waitPod(c, 'gated-not-ready', 'Running (not Ready)', running);
  assert.equal(ready(notReady), false);
  const addresses = async () => {
    const ep = await c.client.get<Endpoints>(R.endpoints, 'gated', { namespace: 'default' });
    const sub = ep.subsets ?? [];
    return { ready: sub.flatMap((s) => s.addresses ?? []).map((a) => a.ip), notReady: sub.flatMap((s) => s.notReadyAddresses ?? []).map((a) => a.ip) };
  };
  await waitFor('endpoints: the ready pod in, the other in notReadyAddresses', async () => {
    const a = await addresses();
    return a.ready.join() === readyPod.status!.podIP && a.notReady.join() === notReady.status!.podIP;
  }, 60_000, 250);
  const ep = await c.k(['get', 'endpoints', 'gated', '-o', 'jsonpath={.subsets[*].addresses[*].ip}']);
  assert.equal(ep, readyPod.status!.podIP);
  // Ready now: it joins the endpoints.
  await c.k(['exec', 'gated-not-ready', '--', 'touch', '/tmp/ready']);
  await waitFor('both pods in the endpoints', async () => (await addresses()).ready.sort().join() === [readyPod.status!.podIP, notReady.status!.podIP].sort().join(), 60_000, 250);
}

/** configMap and secret volumes and env hold the right content; a configMap update reaches the mounted file. */
export async function configAndSecrets(c: Cluster): Promise<void> {
  await c.k(['create', 'configmap', 'app-config', '--from-literal=greeting=hello', '--from-literal=color=blue']);
  await c.k(['create', 'secret', 'generic', 'app-secret', '--from-literal=password=s3cr3t']);
  await apply(c, pod(c, 'configured', SLEEP, {
    spec: { volumes: [{ name: 'cfg', configMap: { name: 'app-config' } }, { name: 'sec', secret: { secretName: 'app-secret', defaultMode: 0o400 } }] },
    container: {
      volumeMounts: [{ name: 'cfg', mountPath: '/etc/app' }, { name: 'sec', mountPath: '/etc/secret', readOnly: true }],
      env: [
        { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
      ],
      envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CM_' }],
    },
  }));
  await waitPod(c, 'configured', 'Running', running);
  const sh = (script: string) => c.k(['exec', 'configured', '--', 'sh', '-c', script]);
  assert.equal(await sh('cat /etc/app/greeting; echo; cat /etc/app/color; echo; cat /etc/secret/password'), 'hello\nblue\ns3cr3t');
  assert.equal(await sh('echo "$GREETING $PASSWORD $CM_color"'), 'hello s3cr3t blue\n');
  assert.equal((await sh('stat -L -c %a /etc/secret/password')).trim(), '400');
  await c.k(['patch', 'configmap', 'app-config', '--type=merge', '-p', '{"data":{"greeting":"bonjour"}}']);
  // kubelet refreshes configMap volumes on its periodic sync (env keeps the value it started with).
  await waitFor('the updated configMap in the mounted file', async () => (await sh('cat /etc/app/greeting')) === 'bonjour', 120_000, 1000);
  assert.equal(await sh('echo "$GREETING"'), 'hello\n');
}

/** A Job's pod runs to completion (Succeeded) with its exit code visible. */
export async function jobCompletes(c: Cluster): Promise<void> {
  await c.k(['create', 'job', 'once', `--image=${c.image}`, '--', 'sh', '-c', 'echo job done']);
  await c.k(['wait', '--for=condition=complete', 'job/once', '--timeout=120s'], { timeoutMs: 130_000 });
  const [p] = await podsOf(c, 'job-name=once');
  assert.equal(p.status?.phase, 'Succeeded');
  const term = p.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(term?.exitCode, 0);
  assert.equal(term?.reason, 'Completed');
  assert.match(await c.k(['get', 'pod', p.metadata!.name!]), /0\/1\s+Completed\s+0/);
  assert.equal(await c.k(['logs', 'job/once']), 'job done\n');
}

/** A container exiting non-zero under restartPolicy Never leaves the pod Failed with the code. */
export async function neverRestartFails(c: Cluster): Promise<void> {
  await apply(c, pod(c, 'fails', ['sh', '-c', 'echo failing; exit 3'], { restartPolicy: 'Never' }));
  const p = await waitPod(c, 'fails', 'Failed', (x) => x.status?.phase === 'Failed');
  const term = p.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(term?.exitCode, 3);
  assert.equal(term?.reason, 'Error');
  assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 0);
  assert.match(await c.k(['get', 'pod', 'fails']), /fails\s+0\/1\s+Error\s+0/);
  assert.equal(await c.k(['get', 'pod', 'fails', '-o', 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}']), '3');
}

async function runningContainers(c: Cluster, uid: string): Promise<string[]> {
  const cri = c.cri();
  const { containers } = await cri.listContainers({ filter: { label_selector: { [POD_UID_LABEL]: uid } } });
  return containers.filter((x) => x.state === 'CONTAINER_RUNNING').map((x) => x.id);
}

/** Deleting a pod stops its containers within its grace period (SIGKILL when SIGTERM is ignored). */
export async function deleteWithinGrace(c: Cluster): Promise<void> {
  const grace = 4;
  // Ignores SIGTERM: only the end of the grace period (SIGKILL) stops it.
  await apply(c, pod(c, 'stubborn', ['sh', '-c', 'trap "" TERM; while true; do sleep 1; done'], { grace }));
  const p = await waitPod(c, 'stubborn', 'Running', running);
  const uid = p.metadata!.uid!;
  assert.equal((await runningContainers(c, uid)).length, 1);
  const started = Date.now();
  await c.k(['delete', 'pod', 'stubborn', '--wait=false']);
  await waitFor('the container stopped', async () => (await runningContainers(c, uid)).length === 0, (grace + 20) * 1000, 100);
  const stoppedAfter = (Date.now() - started) / 1000;
  assert.ok(stoppedAfter <= grace + 3, `stopped ${stoppedAfter.toFixed(1)} s after the delete (grace ${grace} s)`);
  assert.ok(stoppedAfter >= grace - 1, `stopped after ${stoppedAfter.toFixed(1)} s: before its grace period ended though it ignores SIGTERM`);
  await waitFor('the pod gone from the API', async () => (await podsOf(c, 'test=stubborn')).length === 0, 30_000, 200);

  // A pod that exits on SIGTERM goes at once, not at the end of its grace period.
  await apply(c, pod(c, 'polite', SLEEP, { grace: 30 }));
  const q = await waitPod(c, 'polite', 'Running', running);
  const t = Date.now();
  await c.k(['delete', 'pod', 'polite', '--timeout=60s']);
  assert.equal((await runningContainers(c, q.metadata!.uid!)).length, 0);
  assert.ok(Date.now() - t < 15_000, `polite pod took ${Date.now() - t} ms to go`);
}

/** Containers' start times (and ids) before and after the node agent restarts: unchanged. */
export async function restartKeepsContainers(c: Cluster): Promise<void> {
  await apply(c, pod(c, 'survivor', SLEEP));
  const before = await waitPod(c, 'survivor', 'Running', running);
  const seen = (p: Pod) => p.status!.containerStatuses!.map((s) => ({ id: s.containerID, startedAt: s.state?.running?.startedAt, restarts: s.restartCount }));
  const cri = c.cri();
  const criStarted = async (uid: string) => (await cri.listContainers({ filter: { label_selector: { [POD_UID_LABEL]: uid } } })).containers
    .map((x) => `${x.id}@${x.created_at}`).sort();
  const criBefore = await criStarted(before.metadata!.uid!);
  await c.restartNode();
  await waitFor('the node Ready again', async () => nodeIsReady(await c.client.get<Node>(R.nodes, c.nodeName)), 60_000, 200);
  // Give the restarted agent a few syncs to (wrongly) restart anything.
  await new Promise((r) => setTimeout(r, 3000));
  const after = await waitPod(c, 'survivor', 'Running', running);
  assert.deepEqual(seen(after), seen(before));
  assert.deepEqual(await criStarted(after.metadata!.uid!), criBefore);
  assert.equal(after.metadata!.uid, before.metadata!.uid);
  // It still works after the restart: exec reaches the same container.
  assert.equal(await c.k(['exec', 'survivor', '--', 'echo', 'still here']), 'still here\n');
}

/** A pod of a RuntimeClass whose handler is runsc runs under gVisor: its kernel is not the host's. */
export async function runscPod(c: Cluster): Promise<void> {
  await apply(c, { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'gvisor' }, handler: 'runsc' });
  await apply(c, pod(c, 'sandboxed', ['sh', '-c', 'uname -r; trap "exit 0" TERM; while true; do sleep 1; done'], { spec: { runtimeClassName: 'gvisor' } }));
  await waitPod(c, 'sandboxed', 'Running', running, 120_000);
  const kernel = (await c.k(['exec', 'sandboxed', '--', 'uname', '-r'])).trim();
  assert.ok(kernel.length > 0);
  assert.notEqual(kernel, release(), 'uname -r inside the runsc pod is the host\'s kernel');
  assert.equal((await c.k(['logs', 'sandboxed'])).split('\n')[0], kernel);
  // A runc pod next to it sees the host's kernel.
  await apply(c, pod(c, 'plain', ['sh', '-c', 'uname -r; trap "exit 0" TERM; while true; do sleep 1; done']));
  await waitPod(c, 'plain', 'Running', running);
  assert.equal((await c.k(['exec', 'plain', '--', 'uname', '-r'])).trim(), release());
}
