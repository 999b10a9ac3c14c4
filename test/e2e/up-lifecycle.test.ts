// Issue 5 §3 on the real `./bin/skiff up`: probes (a failing liveness probe restarts the container;
// a pod that is not ready stays out of its Service's endpoints), configMap and secret volumes and
// env (and a configMap update reaching the mounted file), a Job to completion, restartPolicy
// Never with a non-zero exit, and deletion within the grace period.
import { after, before, test } from 'node:test';
import { startUp, type UpCluster } from '../agent/up-cluster.ts';
import { configAndSecrets, deleteWithinGrace, jobCompletes, livenessRestarts, neverRestartFails, readinessAndEndpoints } from '../agent/up-suite.ts';

let c: UpCluster;

before(async () => {
  c = await startUp();
});

after(async () => {
  await c?.cleanup();
});

// These wait on the agent's clocks (probe periods, crash-loop back-off, the periodic sync that
// refreshes configMap volumes), so they run side by side.
test('probes, volumes, Jobs, failures and deletion', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('a failing liveness probe restarts the container and restartCount grows', () => livenessRestarts(c)),
    t.test('a pod not yet ready is out of the Service\'s endpoints', () => readinessAndEndpoints(c)),
    t.test('configMap and secret volumes and env show the right content; a configMap update reaches the file', () => configAndSecrets(c)),
    t.test('a Job\'s pod runs to completion with its exit code visible', () => jobCompletes(c)),
    t.test('a container exiting non-zero under restartPolicy Never leaves the pod Failed with the code', () => neverRestartFails(c)),
    t.test('deleting a pod stops its containers within its grace period', () => deleteWithinGrace(c)),
  ]);
});
