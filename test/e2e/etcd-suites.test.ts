// The API server's kubectl and client-node suites, unchanged, against the etcd backend: one
// real 3-member etcd cluster, and the suites run in a child `node --test` whose every
// `skiff server` stores into it (test/helpers/skiff-server.ts reads SKIFF_TEST_ETCD_ENDPOINTS).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/skiff-server.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.ts';

const SUITES = ['test/e2e/kubectl.test.ts', 'test/e2e/api-semantics.test.ts', 'test/e2e/informer.test.ts'];

let cluster: EtcdCluster;
before(async () => { cluster = await startEtcdCluster(3); });
after(async () => { await cluster?.stop(); });

it('the kubectl and client-node suites pass on etcd', { timeout: 280_000 }, async () => {
  // Without NODE_TEST_CONTEXT, which would make the child skip its files as a nested run.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(join(REPO, 'node_modules/.bin/node'), ['--test', '--test-concurrency=1', '--test-reporter=spec', ...SUITES], {
    cwd: REPO, env: { ...env, SKIFF_TEST_ETCD_ENDPOINTS: cluster.endpoints.join(',') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 270_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `suites failed on etcd:\n${out.slice(-6000)}`);
  const passed = Number(/ℹ pass (\d+)/.exec(out)?.[1] ?? 0);
  assert.ok(passed >= 15, `expected the suites' tests to run, saw ${passed} passing:\n${out.slice(-3000)}`);
});
