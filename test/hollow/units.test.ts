// The hollow nodes' pure parts: address math, durations, the Node they register
// and the statuses they post.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { formatIpv4, hostAddress, parseIpv4, parseIpv4Cidr, subnet, subnetCount } from '../../src/network/cidr.ts';
import { fakeNodeIp, healthyConditions, nodeObject } from '../../src/hollow/node.ts';
import { fakeImageId, runningStatus, succeededStatus } from '../../src/hollow/pod-status.ts';
import { parseDuration } from '../../src/hollow/pods.ts';
import { parseLabels } from '../../src/cli/hollow-nodes.ts';

describe('hollow node helpers', () => {
  it('does IPv4 range math', () => {
    assert.equal(formatIpv4(parseIpv4('10.42.255.7')), '10.42.255.7');
    const c = parseIpv4Cidr('10.42.0.0/16');
    assert.equal(subnetCount(c, 24), 256);
    assert.equal(formatIpv4(subnet(c, 24, 255).base), '10.42.255.0');
    const node = parseIpv4Cidr('10.42.3.0/24');
    assert.equal(hostAddress(node, 2), '10.42.3.2');
    assert.equal(hostAddress(node, 255), undefined, 'broadcast is not a host');
    assert.throws(() => parseIpv4Cidr('fd00::/64'), /only IPv4/);
    assert.throws(() => parseIpv4('10.0.0.256'), /not an IPv4 address/);
  });

  it('parses durations and labels', () => {
    assert.equal(parseDuration('3s'), 3000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('soon'), undefined);
    assert.deepEqual(parseLabels('a=1, b=x=y'), { a: '1', b: 'x=y' });
    assert.throws(() => parseLabels('novalue'), /not key=value/);
  });

  it('registers a node the way a kubelet does', () => {
    const n = nodeObject('n-3', 3, { cpu: '4', memory: '8Gi', pods: '50', ephemeralStorage: '10Gi', labels: { zone: 'a' } });
    assert.equal(n.metadata!.labels!['kubernetes.io/hostname'], 'n-3');
    assert.equal(n.metadata!.labels!.zone, 'a');
    assert.deepEqual(n.status!.allocatable, { cpu: '4', memory: '8Gi', pods: '50', 'ephemeral-storage': '10Gi' });
    assert.deepEqual(n.status!.addresses, [{ type: 'InternalIP', address: '10.99.0.4' }, { type: 'Hostname', address: 'n-3' }]);
    assert.notEqual(fakeNodeIp(0), fakeNodeIp(1));
    assert.equal(n.status!.conditions!.find((c) => c.type === 'Ready')!.status, 'True');
  });

  it('keeps lastTransitionTime of an unchanged condition and moves it on a change', () => {
    const earlier = '2025-01-01T00:00:00Z';
    const conds = healthyConditions(new Date('2025-06-01T00:00:00Z'), [
      { type: 'Ready', status: 'True', lastTransitionTime: earlier }, { type: 'DiskPressure', status: 'Unknown', lastTransitionTime: earlier },
    ]);
    assert.equal(conds.find((c) => c.type === 'Ready')!.lastTransitionTime, earlier);
    assert.equal(conds.find((c) => c.type === 'DiskPressure')!.lastTransitionTime, '2025-06-01T00:00:00Z');
    assert.ok(conds.every((c) => c.lastHeartbeatTime === '2025-06-01T00:00:00Z'));
  });

  it('plays pod statuses: running with IPs, then succeeded', () => {
    const pod: Pod = { metadata: { uid: 'u1' }, spec: { containers: [{ name: 'a', image: 'ghcr.io/x/y:1' }, { name: 'b', image: 'busybox' }] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }] } };
    const running = runningStatus(pod, new Date(), '10.99.0.1', '10.42.0.2');
    assert.equal(running.phase, 'Running');
    assert.deepEqual(running.podIPs, [{ ip: '10.42.0.2' }]);
    assert.equal(running.conditions!.find((c) => c.type === 'PodScheduled')!.lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.equal(running.containerStatuses!.length, 2);
    assert.match(running.containerStatuses![0].imageID!, /^ghcr\.io\/x\/y@sha256:/);
    assert.equal(fakeImageId('busybox'), fakeImageId('busybox'));
    assert.match(fakeImageId('library/busybox:1.36'), /^docker\.io\/library\/busybox@sha256:/);
    const done = succeededStatus({ ...pod, status: running }, new Date());
    assert.equal(done.phase, 'Succeeded');
    assert.ok(done.containerStatuses!.every((s) => s.state?.terminated?.exitCode === 0 && s.state.terminated.reason === 'Completed' && !s.ready));
  });
});
