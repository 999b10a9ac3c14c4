// Leader election on a Lease with two candidates: one leads, and when it goes
// away the other takes over within leaseDuration + retryPeriod (or at its next
// retry when the leader hands the Lease back).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from 'kubernetes-types/coordination/v1.d.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { RestClient } from '../../src/client/rest.ts';
import { R } from '../../src/client/resources.ts';
import { type LeaderElectionConfig, LeaderElector } from '../../src/client/leader.ts';
import { until } from './helpers.ts';

describe('LeaderElector', () => {
  let s: TestServer;
  let c: RestClient;
  const ns = 'kube-system';
  const electors: LeaderElector[] = [];
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controllers'] }); // these tests run their own components
    c = RestClient.fromKubeconfig(s.kubeconfig);
    try {
      await c.create(R.namespaces, { metadata: { name: ns } });
    } catch (e) {
      if ((e as { reason?: string }).reason !== 'AlreadyExists') throw e;
    }
  });
  after(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    await c?.close();
    await s?.cleanup();
  });

  function candidate(identity: string, name: string, log: string[], extra: Partial<LeaderElectionConfig> = {}): LeaderElector {
    const e = new LeaderElector({
      client: c, namespace: ns, name, identity,
      onStartedLeading: (signal) => {
        log.push(`${identity} started`);
        signal.addEventListener('abort', () => log.push(`${identity} signal aborted`));
      },
      onStoppedLeading: () => log.push(`${identity} stopped`),
      log: () => {},
      ...extra,
    });
    electors.push(e);
    void e.run();
    return e;
  }

  it('elects one of two; the other takes over within leaseDuration + retryPeriod after the leader dies', async () => {
    const log: string[] = [];
    const fast = { leaseDurationSeconds: 2, renewDeadlineMs: 1500, retryPeriodMs: 200, releaseOnCancel: false };
    const a = candidate('a', 'fast', log, fast);
    const b = candidate('b', 'fast', log, fast);
    await until('someone leads', () => a.isLeader() || b.isLeader(), 5000);
    await new Promise((r) => setTimeout(r, 1000)); // several renewals later, still exactly one
    assert.equal([a, b].filter((e) => e.isLeader()).length, 1);
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    const leaderId = leader === a ? 'a' : 'b';
    const followerId = leader === a ? 'b' : 'a';
    const before = await c.get<Lease>(R.leases, 'fast', { namespace: ns });
    assert.equal(before.spec?.holderIdentity, leaderId);
    assert.equal(before.spec?.leaseDurationSeconds, 2);
    assert.ok(Date.now() - Date.parse(before.spec!.renewTime!) < 1000, 'renewed recently');
    assert.equal(follower.getLeader(), leaderId);

    // The leader stops without handing back the Lease (like a crash): the follower must wait it out.
    const stoppedAt = Date.now();
    await leader.stop();
    assert.deepEqual(log, [`${leaderId} started`, `${leaderId} signal aborted`, `${leaderId} stopped`]);
    await until('follower takes over', () => follower.isLeader(), 2000 + 200 * 1.2 + 2000);
    const took = Date.now() - stoppedAt;
    assert.ok(took >= 1500, `took over after ${took} ms, not before the lease expired`);
    const afterLease = await c.get<Lease>(R.leases, 'fast', { namespace: ns });
    assert.equal(afterLease.spec?.holderIdentity, followerId);
    assert.equal(afterLease.spec?.leaseTransitions, (before.spec?.leaseTransitions ?? 0) + 1);
    assert.notEqual(afterLease.spec?.acquireTime, before.spec?.acquireTime);
    assert.ok(log.includes(`${followerId} started`));
  });

  it('hands the Lease over at the next retry when the leader releases it (default timings)', async () => {
    const log: string[] = [];
    const a = candidate('x', 'default', log);
    await until('x leads', () => a.isLeader(), 5000);
    const b = candidate('y', 'default', log);
    const lease = await c.get<Lease>(R.leases, 'default', { namespace: ns });
    assert.equal(lease.spec?.leaseDurationSeconds, 15);
    assert.equal(lease.spec?.leaseTransitions, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.isLeader(), false);
    const stoppedAt = Date.now();
    await a.stop();
    await until('y takes over', () => b.isLeader(), 2000 * 1.2 + 1500);
    assert.ok(Date.now() - stoppedAt < 15000, 'well before the 15 s lease would expire');
    const after = await c.get<Lease>(R.leases, 'default', { namespace: ns });
    assert.equal(after.spec?.holderIdentity, 'y');
    assert.equal(after.spec?.leaseTransitions, 1);
    assert.deepEqual(log, ['x started', 'x signal aborted', 'x stopped', 'y started']);
  });
});
