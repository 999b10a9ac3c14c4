// `skiff scheduler --kubeconfig FILE --leader-elect` as its own process: it takes the
// kube-system/kube-scheduler Lease and binds pods; SIGTERM stops it cleanly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import { SKIFF, startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { createNode, podObject, until } from './wiring-helpers.ts';

describe('skiff scheduler', () => {
  let s: TestServer;
  let c: RestClient;
  let proc: ChildProcess | undefined;
  let out = '';

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
  });
  after(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await c?.close();
    await s?.cleanup();
  });

  it('takes the leader lease, binds pods, and exits on SIGTERM', async () => {
    await createNode(c, 'worker-1', { cpu: '2' });
    proc = spawn(SKIFF, ['scheduler', '--kubeconfig', s.kubeconfig, '--leader-elect'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await c.create(R.pods, podObject('web', 'default', { cpu: '500m' }));
    await until('web bound', async () => (await c.get<Pod>(R.pods, 'web', { namespace: 'default' })).spec?.nodeName === 'worker-1', 20000)
      .catch((e) => assert.fail(`${e.message}\nscheduler output:\n${out}`));
    const lease = await c.get<Lease>(R.leases, 'kube-scheduler', { namespace: 'kube-system' });
    assert.match(lease.spec?.holderIdentity ?? '', /_/);
    assert.match(out, /is the leader: scheduling/);

    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    // releaseOnCancel hands the Lease back.
    assert.equal((await c.get<Lease>(R.leases, 'kube-scheduler', { namespace: 'kube-system' })).spec?.holderIdentity ?? '', '');
  });
});
