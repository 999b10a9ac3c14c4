// Issue 5 §3 on the real `./bin/skiff up`: a Deployment of busybox httpd replicas Running with pod
// IPs, `kubectl exec` from one pod to another's IP, `kubectl port-forward` from the host, and
// `kubectl logs -f` streaming. (Cluster DNS and Services' virtual IPs are not part of this.)
import { after, before, test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { startUp, type UpCluster } from '../agent/up-cluster.ts';
import { deploymentOfHttpd, execWgetBetweenPods, logsFollow, portForward } from '../agent/up-suite.ts';

let c: UpCluster;
let pods: Pod[];

before(async () => {
  c = await startUp();
});

after(async () => {
  await c?.cleanup();
});

test('a Deployment of 3 busybox httpd replicas reaches Running with pod IPs', async () => {
  pods = await deploymentOfHttpd(c, 'web');
});

test('kubectl exec runs wget from one pod to another pod\'s IP', async () => {
  await execWgetBetweenPods(c, pods);
});

test('kubectl port-forward, then a request from the host answers', async () => {
  await portForward(c, pods[0]);
});

test('kubectl logs -f streams', async () => {
  await logsFollow(c);
});
