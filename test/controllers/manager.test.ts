import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import { isNotFound, R, RestClient } from '../../src/client/index.ts';
import type { ControllerDefinition } from '../../src/controllers/context.ts';
import { CONTROLLERS } from '../../src/controllers/index.ts';
import { LEASE_NAME, LEASE_NAMESPACE, selectControllers, startControllerManager } from '../../src/controllers/manager.ts';
import { SKIFF, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from './harness.ts';

const gone = (client: RestClient, name: string) => async () => {
  try {
    await client.get(R.namespaces, name);
    return false;
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
};

test('--controllers selection: *, names and -name', () => {
  const names = (sel: string[] | '*') => selectControllers(CONTROLLERS, sel).map((d) => d.name);
  assert.ok(names('*').includes('namespace') && names('*').includes('garbage-collector'));
  assert.deepEqual(names(['namespace']), ['namespace']);
  assert.ok(!names(['*', '-garbage-collector']).includes('garbage-collector'));
  assert.ok(names(['*', '-garbage-collector']).includes('namespace'));
  assert.throws(() => names(['nope']), /unknown controller "nope".*namespace/);
});

describe('skiff controller-manager (a separate process)', () => {
  let s: TestServer;
  let client: RestClient;
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] });
    client = RestClient.fromKubeconfig(s.kubeconfig);
  });
  after(async () => {
    await client?.close();
    await s?.cleanup();
  });

  test('with --leader-elect it takes the Lease, does the namespace job and hands the Lease back on SIGTERM', async () => {
    const proc = spawn(SKIFF, ['controller-manager', '--kubeconfig', s.kubeconfig, '--leader-elect'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      const lease = await waitFor('the controller-manager Lease', () =>
        client.get<Lease>(R.leases, LEASE_NAME, { namespace: LEASE_NAMESPACE }).then((l) => (l.spec?.holderIdentity ? l : undefined)));
      assert.ok(lease.spec?.holderIdentity);

      await s.k(['create', 'namespace', 'shop']);
      await s.k(['-n', 'shop', 'create', 'configmap', 'c', '--from-literal=a=b']);
      await waitFor('default SA in shop', () => client.get(R.serviceaccounts, 'default', { namespace: 'shop' }));
      await s.k(['delete', 'namespace', 'shop', '--timeout=20s'], { timeoutMs: 25_000 });
      assert.ok(await gone(client, 'shop')());
    } catch (e) {
      throw new Error(`${(e as Error).message}\ncontroller-manager output:\n${out}`);
    } finally {
      proc.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
      if (code === 'timeout') proc.kill('SIGKILL');
      assert.equal(code, 0, out);
    }
    const released = await client.get<Lease>(R.leases, LEASE_NAME, { namespace: LEASE_NAMESPACE });
    assert.equal(released.spec?.holderIdentity ?? '', '', 'the Lease is released on shutdown');
  });

  test('of two managers with leader election only one runs controllers; the other takes over when it stops', async () => {
    const starts: string[] = [];
    const probe = (who: string): ControllerDefinition => ({
      name: 'probe',
      start: () => ({ run: async () => void starts.push(who), stop: async () => {} }),
    });
    const quiet = () => {};
    const a = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElect: true, identity: 'a', definitions: [probe('a')], log: quiet });
    await waitFor('a to lead', () => a.isLeader());
    const b = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElect: true, identity: 'b', definitions: [probe('b')], log: quiet });
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.deepEqual(starts, ['a']);
      assert.equal(b.isLeader(), false);
      await a.stop();
      await waitFor('b to take over', () => b.isLeader(), 10_000);
      assert.deepEqual(starts, ['a', 'b']);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('skiff server runs the controllers by default', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s?.cleanup());

  test('kubectl delete namespace returns, content is gone, new namespaces get a default ServiceAccount', async () => {
    await s.k(['create', 'namespace', 'shop']);
    await s.k(['-n', 'shop', 'create', 'configmap', 'c', '--from-literal=a=b']);
    const sa = await waitFor('default SA in shop', async () => {
      const r = await s.kubectl(['-n', 'shop', 'get', 'serviceaccount', 'default', '-o', 'name']);
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.equal(sa.trim(), 'serviceaccount/default');
    await s.k(['delete', 'namespace', 'shop', '--timeout=20s'], { timeoutMs: 25_000 });
    const r = await s.kubectl(['get', 'namespace', 'shop']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound|not found/);
  });
});
