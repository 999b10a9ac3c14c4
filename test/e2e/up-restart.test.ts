// Issue 5 §3 and §2 on the real `./bin/skiff up`: SIGTERM and a second `skiff up` leave the running
// containers alone (same ids, same start times); a runsc RuntimeClass pod runs under gVisor; and
// `skiff down --purge` leaves nothing of the cluster on the machine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { SKIFF } from '../helpers/skiff-server.ts';
import { startUp, type UpCluster } from '../agent/up-cluster.ts';
import { restartKeepsContainers, runscPod } from '../agent/up-suite.ts';

let c: UpCluster;

before(async () => {
  c = await startUp();
});

after(async () => {
  await c?.cleanup();
});

test('SIGTERM to skiff up and a second skiff up: the containers\' start times are unchanged', async () => {
  await restartKeepsContainers(c);
  assert.match(c.output(), /SIGTERM: stopping \(containers keep running/);
});

test('a pod of a runsc RuntimeClass runs under gVisor', { skip: existsSync('/usr/bin/runsc') ? false : 'runsc is not installed (Debian package runsc)' }, async () => {
  await runscPod(c);
});

test('skiff down --purge leaves no netns, mount, link or route of the cluster', async () => {
  const cri = c.cri();
  const sandboxes = (await cri.listPodSandbox({})).items.map((s) => s.id);
  assert.ok(sandboxes.length > 0, 'the cluster runs pods to clean up');
  const netns = sandboxes.map((id) => `skiff-${id.slice(0, 12)}`);
  const present = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(netns.every((n) => present().includes(n)), `pods' network namespaces: ${netns} in ${present()}`);
  // With skiff up still running: down stops it too.
  const out = execFileSync(SKIFF, ['down', '--data-dir', c.dataDir, '--purge'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  assert.notEqual(await c.up.exited, undefined, 'skiff up stopped');
  assert.match(out, /done/);
  assert.equal(existsSync(c.dataDir), false, 'the data dir is gone');
  const left = netns.filter((n) => present().includes(n));
  assert.deepEqual(left, [], 'network namespaces left');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(c.dataDir));
  assert.deepEqual(mounts, [], 'mounts left');
  // The bridge and the safety routes are the host's single-node cluster's; another test's agent
  // on this machine may have made them again meanwhile, so down's own account is checked.
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  assert.ok(!/ skiff0[:@]/.test(links) || /deleting link skiff0/.test(out), `skiff0 left and not deleted:\n${out}`);
  const routes = execFileSync('ip', ['route', 'show', 'type', 'unreachable'], { encoding: 'utf8' });
  assert.ok(!routes.includes('10.42.0.0/16') || /deleting route unreachable 10\.42\.0\.0\/16/.test(out), `safety route left:\n${out}`);
});
