// The Priority admission plugin: pods get spec.priority and preemptionPolicy from their
// PriorityClass (or the globalDefault one), and unknown classes or contradicting priorities are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';

let s: TestServer;
before(async () => { s = await startServer(); });
after(async () => { await s?.cleanup(); });

const pod = (name: string, extra: Record<string, unknown>) => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'skiff.local/busybox:latest' }], ...extra },
});
const priorityClass = (name: string, value: number, extra: Record<string, unknown> = {}) => JSON.stringify({
  apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra,
});

test('a pod takes its PriorityClass value and preemption policy', async () => {
  await s.k(['apply', '-f', '-'], { input: priorityClass('high-never', 1000, { preemptionPolicy: 'Never' }) });
  await s.k(['apply', '-f', '-'], { input: pod('p-high', { priorityClassName: 'high-never' }) });
  const spec = JSON.parse(await s.k(['get', 'pod', 'p-high', '-o', 'jsonpath={.spec}']));
  assert.equal(spec.priority, 1000);
  assert.equal(spec.preemptionPolicy, 'Never');
});

test('an unknown class and a contradicting priority are refused with kube-apiserver\'s words', async () => {
  const missing = await s.kubectl(['apply', '-f', '-'], { input: pod('p-missing', { priorityClassName: 'nope' }) });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /pods "p-missing" is forbidden: no PriorityClass with name nope was found/);
  const wrong = await s.kubectl(['apply', '-f', '-'], { input: pod('p-wrong', { priorityClassName: 'high-never', priority: 5 }) });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 1000/);
  const listed = await s.k(['get', 'pods', '-o', 'name']);
  assert.doesNotMatch(listed, /p-missing|p-wrong/, 'refused pods are not created');
});

test('a pod naming no class gets the globalDefault class; system classes keep their values', async () => {
  await s.k(['apply', '-f', '-'], { input: priorityClass('everyday', 50, { globalDefault: true }) });
  await s.k(['apply', '-f', '-'], { input: pod('p-default', {}) });
  const spec = JSON.parse(await s.k(['get', 'pod', 'p-default', '-o', 'jsonpath={.spec}']));
  assert.equal(spec.priorityClassName, 'everyday');
  assert.equal(spec.priority, 50);
  await s.k(['apply', '-f', '-'], { input: pod('p-system', { priorityClassName: 'system-node-critical' }) });
  assert.equal(await s.k(['get', 'pod', 'p-system', '-o', 'jsonpath={.spec.priority}']), '2000001000');
});
