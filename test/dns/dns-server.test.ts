// The cluster DNS server against a real `skiff server`: records of Services (ClusterIP,
// headless, ExternalName), SRV, PTR, pod records, NXDOMAIN vs NODATA, how fast changes show,
// forwarding to a fake upstream on loopback, TCP and truncation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { R, RestClient } from '../../src/client/index.ts';
import { type DnsServer, startDnsServer } from '../../src/dns/server.ts';
import { reverseName } from '../../src/dns/names.ts';
import { startServer, type TestServer } from '../helpers/skiff-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { createNode, createPod, setPodStatus } from '../controllers/endpoint-fixtures.ts';
import { data, exchangeRaw, type FakeUpstream, query, type Reply, startFakeUpstream } from './dns-client.ts';

const D = 'cluster.local';
let s: TestServer;
let client: RestClient;
let upstream: FakeUpstream;
let dns: DnsServer;
const logs: string[] = [];

function bigAnswer(n: number) {
  return Array.from({ length: n }, (_, i) => ({ type: 'A' as const, name: 'big.example.com', ttl: 60, data: `198.51.100.${i + 1}` }));
}

before(async () => {
  s = await startServer({ timeoutMs: 60_000 });
  client = RestClient.fromKubeconfig(s.kubeconfig);
  upstream = await startFakeUpstream({
    'example.com': [{ type: 'A', name: 'example.com', ttl: 60, data: '93.184.216.34' }],
    'ext-target.example.org': [{ type: 'A', name: 'ext-target.example.org', ttl: 60, data: '192.0.2.53' }],
    'big.example.com': bigAnswer(60),
  });
  dns = await startDnsServer({ client, listen: [{ address: '127.0.0.1', port: 0 }], domain: D, upstreams: [`127.0.0.1:${upstream.port}`], log: (m) => logs.push(m) });
  assert.equal(await dns.synced(60_000), true, 'the DNS server lists Services and EndpointSlices');
});

after(async () => {
  await dns?.stop();
  await upstream?.stop();
  await client?.close();
  await s?.cleanup();
});

async function createService(name: string, spec: Service['spec'], namespace = 'default'): Promise<Service> {
  return client.create<Service>(R.services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec });
}

async function writeSlice(service: string, name: string, slice: Pick<EndpointSlice, 'addressType' | 'endpoints' | 'ports'>, namespace = 'default'): Promise<EndpointSlice> {
  return client.create<EndpointSlice>(R.endpointslices, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } }, ...slice,
  });
}

/** Asks until the answer has records of the type (the informer may be a moment behind a write). */
function answered(name: string, type: Parameters<typeof query>[2], timeoutMs = 10_000): Promise<Reply> {
  return waitFor(`${type} records for ${name}`, async () => {
    const r = await query(dns.ports[0], name, type);
    return (r.answers ?? []).some((a) => a.type === type) ? r : undefined;
  }, timeoutMs);
}

function assertNoData(r: Reply, what: string): void {
  assert.equal(r.rcode, 'NOERROR', `${what}: NODATA is NOERROR`);
  assert.equal(r.answers?.length, 0, `${what}: no answers`);
  assert.equal(r.authorities?.[0]?.type, 'SOA', `${what}: SOA in the authority section`);
}

function assertNxDomain(r: Reply, what: string): void {
  assert.equal(r.rcode, 'NXDOMAIN', what);
  assert.equal(r.answers?.length, 0, what);
  assert.equal(r.authorities?.[0]?.type, 'SOA', `${what}: SOA in the authority section`);
}

describe('ClusterIP services', () => {
  let web: Service;
  before(async () => {
    web = await createService('web', { ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] });
  });

  test('A record of <svc>.<ns>.svc.<zone> is the ClusterIP, authoritative, TTL 5', async () => {
    const r = await answered(`web.default.svc.${D}`, 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.flag_aa, true);
    assert.deepEqual(data(r, 'A'), [web.spec!.clusterIP]);
    assert.equal(r.answers![0].name, `web.default.svc.${D}`);
    assert.equal((r.answers![0] as { ttl: number }).ttl, 5);
  });

  test('names compare case-insensitively and are answered as asked', async () => {
    const r = await query(dns.ports[0], `WEB.Default.SVC.Cluster.Local`, 'A');
    assert.deepEqual(data(r, 'A'), [web.spec!.clusterIP]);
    assert.equal(r.answers![0].name, 'WEB.Default.SVC.Cluster.Local');
  });

  test('AAAA of an IPv4-only service is NODATA, not NXDOMAIN', async () => {
    assertNoData(await query(dns.ports[0], `web.default.svc.${D}`, 'AAAA'), 'AAAA web');
    assertNoData(await query(dns.ports[0], `web.default.svc.${D}`, 'TXT'), 'TXT web');
  });

  test('SRV per named port, with the A record in the additional section', async () => {
    const r = await answered(`_http._tcp.web.default.svc.${D}`, 'SRV');
    assert.deepEqual(data(r, 'SRV'), [`80 web.default.svc.${D}`]);
    assert.deepEqual(r.additionals?.filter((a) => a.type === 'A').map((a) => (a as { data: string }).data), [web.spec!.clusterIP]);
    assert.deepEqual(data(await query(dns.ports[0], `_dns._udp.web.default.svc.${D}`, 'SRV'), 'SRV'), [`53 web.default.svc.${D}`]);
    assertNxDomain(await query(dns.ports[0], `_http._udp.web.default.svc.${D}`, 'SRV'), 'no http port over UDP');
    assertNxDomain(await query(dns.ports[0], `_nope._tcp.web.default.svc.${D}`, 'SRV'), 'no such port');
    assertNoData(await query(dns.ports[0], `_tcp.web.default.svc.${D}`, 'SRV'), '_tcp is an empty non-terminal');
    assertNoData(await query(dns.ports[0], `_http._tcp.web.default.svc.${D}`, 'A'), 'A at an SRV name');
  });

  test('PTR of the ClusterIP names the service', async () => {
    const r = await answered(reverseName(web.spec!.clusterIP!), 'PTR');
    assert.deepEqual(data(r, 'PTR'), [`web.default.svc.${D}`]);
    assert.equal(r.flag_aa, true);
  });
});

describe('NXDOMAIN and NODATA', () => {
  before(async () => {
    await createService('probe', { ports: [{ port: 80 }] });
    await answered(`probe.default.svc.${D}`, 'A');
  });

  test('names that do not exist are NXDOMAIN with the SOA', async () => {
    for (const name of [`nope.default.svc.${D}`, `nons.svc.${D}`, `probe.nons.svc.${D}`, `web.default.${D}`, `foo.${D}`, `a.b.probe.default.svc.${D}`]) {
      assertNxDomain(await query(dns.ports[0], name, 'A'), name);
    }
  });

  test('names on the way to records exist without records (NODATA)', async () => {
    for (const name of [`svc.${D}`, `default.svc.${D}`, D, `pod.${D}`, `default.pod.${D}`]) {
      assertNoData(await query(dns.ports[0], name, 'A'), name);
    }
  });

  test('the zone apex has an SOA, dns-version a TXT with the schema version', async () => {
    const soa = await query(dns.ports[0], D, 'SOA');
    assert.equal(soa.answers?.[0]?.type, 'SOA');
    assert.equal((soa.answers![0] as { data: { minimum: number } }).data.minimum, 5);
    assert.deepEqual(data(await query(dns.ports[0], `dns-version.${D}`, 'TXT'), 'TXT'), ['1.1.0']);
  });
});

describe('headless services (EndpointSlices written by the test)', () => {
  before(async () => {
    await createService('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, targetPort: 15432 }] });
    await writeSlice('db', 'db-abc', {
      addressType: 'IPv4',
      ports: [{ name: 'pg', port: 15432, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.42.1.10'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.42.1.11'], conditions: { ready: true } },
        { addresses: ['10.42.1.12'], hostname: 'db-2', conditions: { ready: false } },
      ],
    });
    await answered(`db.default.svc.${D}`, 'A');
  });

  test('A of the service is every ready endpoint address', async () => {
    const r = await query(dns.ports[0], `db.default.svc.${D}`, 'A');
    assert.deepEqual(data(r, 'A'), ['10.42.1.10', '10.42.1.11']);
  });

  test('<hostname>.<svc> names a ready endpoint; one without hostname gets its dashed address', async () => {
    assert.deepEqual(data(await query(dns.ports[0], `db-0.db.default.svc.${D}`, 'A'), 'A'), ['10.42.1.10']);
    assert.deepEqual(data(await query(dns.ports[0], `10-42-1-11.db.default.svc.${D}`, 'A'), 'A'), ['10.42.1.11']);
    assertNxDomain(await query(dns.ports[0], `db-2.db.default.svc.${D}`, 'A'), 'a not-ready endpoint has no record');
    assertNoData(await query(dns.ports[0], `db-0.db.default.svc.${D}`, 'AAAA'), 'AAAA of an IPv4 endpoint');
  });

  test('SRV has one record per ready endpoint, with the endpoint port, and their A records', async () => {
    const r = await query(dns.ports[0], `_pg._tcp.db.default.svc.${D}`, 'SRV');
    assert.deepEqual(data(r, 'SRV'), [`15432 10-42-1-11.db.default.svc.${D}`, `15432 db-0.db.default.svc.${D}`]);
    const extra = (r.additionals ?? []).filter((a) => a.type === 'A').map((a) => `${a.name} ${(a as { data: string }).data}`).sort();
    assert.deepEqual(extra, [`10-42-1-11.db.default.svc.${D} 10.42.1.11`, `db-0.db.default.svc.${D} 10.42.1.10`]);
  });

  test('PTR of a ready endpoint names it; other addresses are forwarded upstream', async () => {
    assert.deepEqual(data(await query(dns.ports[0], reverseName('10.42.1.10'), 'PTR'), 'PTR'), [`db-0.db.default.svc.${D}`]);
    const notReady = await query(dns.ports[0], reverseName('10.42.1.12'), 'PTR');
    assert.equal(notReady.rcode, 'NXDOMAIN', 'the fake upstream knows no reverse names');
    assert.ok(upstream.seen.includes(`${reverseName('10.42.1.12')} PTR/udp`), 'the unknown PTR went upstream');
  });

  test('a headless service without ready endpoints is NXDOMAIN (spec 2.4.1)', async () => {
    await createService('empty', { clusterIP: 'None', ports: [{ name: 'x', port: 1 }] });
    await waitFor('the empty service in the cache', async () => {
      const r = await query(dns.ports[0], `probe.default.svc.${D}`, 'A');
      return r.rcode === 'NOERROR';
    });
    await new Promise((r) => setTimeout(r, 200));
    assertNxDomain(await query(dns.ports[0], `empty.default.svc.${D}`, 'A'), 'empty headless');
    assertNxDomain(await query(dns.ports[0], `_x._tcp.empty.default.svc.${D}`, 'SRV'), 'its SRV');
  });

  test('IPv6 endpoints have AAAA and ip6.arpa PTR records', async () => {
    await createService('db6', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] });
    await writeSlice('db6', 'db6-abc', {
      addressType: 'IPv6', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [{ addresses: ['fd00:42::a'], hostname: 'db6-0', conditions: { ready: true } }],
    });
    const r = await answered(`db6.default.svc.${D}`, 'AAAA');
    assert.deepEqual(data(r, 'AAAA'), ['fd00:42::a']);
    assertNoData(await query(dns.ports[0], `db6.default.svc.${D}`, 'A'), 'A of an IPv6-only headless service');
    assert.deepEqual(data(await query(dns.ports[0], reverseName('fd00:42::a'), 'PTR'), 'PTR'), [`db6-0.db6.default.svc.${D}`]);
  });
});

describe('changes show within 1 s', () => {
  async function timeUntil(what: string, check: (r: Reply) => boolean, name: string, type: Parameters<typeof query>[2]): Promise<number> {
    const start = Date.now();
    await waitFor(what, async () => check(await query(dns.ports[0], name, type)), 10_000, 10);
    return Date.now() - start;
  }

  test('a new service, an endpoint turning ready, a deleted service', async () => {
    const svc = await createService('fresh', { ports: [{ port: 80 }] });
    const created = await timeUntil('fresh resolves', (r) => data(r, 'A')[0] === svc.spec!.clusterIP, `fresh.default.svc.${D}`, 'A');
    assert.ok(created < 1000, `a created service resolved after ${created} ms`);

    await createService('flip', { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] });
    const slice = await writeSlice('flip', 'flip-1', {
      addressType: 'IPv4', ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.42.3.1'], conditions: { ready: true } }, { addresses: ['10.42.3.2'], conditions: { ready: false } }],
    });
    await answered(`flip.default.svc.${D}`, 'A');
    await client.update(R.endpointslices, { ...slice, endpoints: slice.endpoints.map((e) => ({ ...e, conditions: { ready: true } })) });
    const ready = await timeUntil('both endpoints', (r) => data(r, 'A').length === 2, `flip.default.svc.${D}`, 'A');
    assert.ok(ready < 1000, `an endpoint turning ready showed after ${ready} ms`);

    await client.delete(R.services, 'fresh', { namespace: 'default' });
    const deleted = await timeUntil('fresh is gone', (r) => r.rcode === 'NXDOMAIN', `fresh.default.svc.${D}`, 'A');
    assert.ok(deleted < 1000, `a deleted service was gone after ${deleted} ms`);
  });
});

describe('pods', () => {
  test('a pod with hostname and subdomain of a headless service resolves (endpointslice controller)', async () => {
    await createNode(client, 'node-a');
    await createService('pets', { clusterIP: 'None', selector: { app: 'pets' }, ports: [{ name: 'web', port: 80 }] });
    await createPod(client, 'default', 'pet-0', { labels: { app: 'pets' }, hostname: 'pet-0', subdomain: 'pets', ports: { web: 80 } });
    await setPodStatus(client, 'default', 'pet-0', '10.42.2.5', true);
    const r = await answered(`pet-0.pets.default.svc.${D}`, 'A', 30_000);
    assert.deepEqual(data(r, 'A'), ['10.42.2.5']);
    assert.deepEqual(data(await query(dns.ports[0], `_web._tcp.pets.default.svc.${D}`, 'SRV'), 'SRV'), [`80 pet-0.pets.default.svc.${D}`]);
  });

  test('<a-b-c-d>.<ns>.pod.<zone> is the address (pods insecure, the default)', async () => {
    assert.deepEqual(data(await query(dns.ports[0], `10-42-0-5.default.pod.${D}`, 'A'), 'A'), ['10.42.0.5']);
    assertNoData(await query(dns.ports[0], `10-42-0-5.default.pod.${D}`, 'AAAA'), 'AAAA of an IPv4 pod name');
    assertNxDomain(await query(dns.ports[0], `not-an-ip.default.pod.${D}`, 'A'), 'not an address');
    assertNxDomain(await query(dns.ports[0], `10-42-0-256.default.pod.${D}`, 'A'), 'octet out of range');
  });

  test('pods verified: only addresses of pods that exist in that namespace', async () => {
    const verified = await startDnsServer({ client, listen: [{ address: '127.0.0.1', port: 0 }], upstreams: [], podRecords: 'verified', log: (m) => logs.push(m) });
    try {
      assert.equal(await verified.synced(60_000), true);
      const port = verified.ports[0];
      await waitFor('pet-0 by address', async () => data(await query(port, `10-42-2-5.default.pod.${D}`, 'A'), 'A')[0] === '10.42.2.5');
      assertNxDomain(await query(port, `10-42-9-9.default.pod.${D}`, 'A'), 'no pod has that address');
      assertNxDomain(await query(port, `10-42-2-5.kube-system.pod.${D}`, 'A'), 'the pod is in another namespace');
    } finally {
      await verified.stop();
    }
  });
});

describe('ExternalName', () => {
  before(async () => {
    await createService('ext', { type: 'ExternalName', externalName: 'ext-target.example.org' });
    await createService('alias', { type: 'ExternalName', externalName: `web.default.svc.${D}.` });
    await answered(`ext.default.svc.${D}`, 'CNAME');
  });

  test('CNAME to the external name, followed upstream for the asked type', async () => {
    const r = await query(dns.ports[0], `ext.default.svc.${D}`, 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(r.answers?.map((a) => `${a.type} ${a.name} ${(a as { data: string }).data}`), [
      `CNAME ext.default.svc.${D} ext-target.example.org`,
      'A ext-target.example.org 192.0.2.53',
    ]);
    assert.deepEqual(data(await query(dns.ports[0], `ext.default.svc.${D}`, 'CNAME'), 'CNAME'), ['ext-target.example.org']);
  });

  test('an ExternalName inside the zone is followed from the cluster', async () => {
    const web = await client.get<Service>(R.services, 'web', { namespace: 'default' });
    const r = await answered(`alias.default.svc.${D}`, 'A');
    assert.deepEqual(data(r, 'CNAME'), [`web.default.svc.${D}`]);
    assert.deepEqual(data(r, 'A'), [web.spec!.clusterIP]);
  });
});

describe('forwarding, TCP and truncation', () => {
  test('other names are forwarded to the upstream and the answer relayed, over UDP and TCP', async () => {
    for (const tcp of [false, true]) {
      const r = await query(dns.ports[0], 'example.com', 'A', { tcp });
      assert.equal(r.rcode, 'NOERROR');
      assert.deepEqual(data(r, 'A'), ['93.184.216.34']);
      assert.equal(r.flag_aa, false, 'not our zone');
    }
    assert.ok(upstream.seen.includes('example.com A/udp'));
    assert.ok(upstream.seen.includes('example.com A/tcp'), 'a TCP query goes upstream over TCP');
    assert.equal((await query(dns.ports[0], 'nothing.example.com', 'A')).rcode, 'NXDOMAIN');
  });

  test("an upstream's truncated UDP answer is relayed with TC; over TCP the whole answer comes", async () => {
    const udp = await query(dns.ports[0], 'big.example.com', 'A');
    assert.equal(udp.flag_tc, true);
    const tcp = await query(dns.ports[0], 'big.example.com', 'A', { tcp: true });
    assert.equal(tcp.flag_tc, false);
    assert.equal(data(tcp, 'A').length, 60);
  });

  test('a big cluster answer is cut to 512 bytes with TC over UDP, whole with EDNS(0) or over TCP', async () => {
    await createService('many', { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] });
    await writeSlice('many', 'many-1', {
      addressType: 'IPv4', ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
      endpoints: Array.from({ length: 150 }, (_, i) => ({ addresses: [`10.42.4.${i + 1}`], conditions: { ready: true } })),
    });
    const name = `many.default.svc.${D}`;
    await waitFor('150 endpoints', async () => data(await query(dns.ports[0], name, 'A', { tcp: true }), 'A').length === 150);
    const small = await query(dns.ports[0], name, 'A');
    assert.equal(small.flag_tc, true);
    assert.ok(small.size <= 512, `UDP answer is ${small.size} bytes`);
    // 16 bytes per A record once owner names point at the question: 28 fit in 512 bytes.
    assert.ok(data(small, 'A').length >= 25 && data(small, 'A').length < 150, `as many whole records as fit (${data(small, 'A').length})`);
    const edns = await query(dns.ports[0], name, 'A', { edns: 4096 });
    assert.equal(edns.flag_tc, false);
    assert.equal(data(edns, 'A').length, 150);
    assert.ok(edns.size > 512 && edns.size <= 4096, `EDNS answer is ${edns.size} bytes`);
    assert.equal(edns.additionals?.find((a) => a.type === 'OPT')?.type, 'OPT', 'EDNS(0) answered with OPT');
    const tcp = await query(dns.ports[0], name, 'A', { tcp: true });
    assert.equal(tcp.flag_tc, false);
    assert.equal(data(tcp, 'A').length, 150);
  });

  test('several queries on one TCP connection', async () => {
    const { encodeQuery } = await import('./dns-client.ts');
    const { connect } = await import('node:net');
    const dnsPacket = (await import('dns-packet')).default;
    const socket = connect({ host: '127.0.0.1', port: dns.ports[0] });
    const frames = [encodeQuery(`web.default.svc.${D}`, 'A', 101), encodeQuery('example.com', 'A', 102)].map((m) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(m.length, 0);
      return Buffer.concat([len, m]);
    });
    const ids = await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no two answers within 5 s')), 5000);
      let buf = Buffer.alloc(0);
      const got: number[] = [];
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))).id!);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 2) {
          clearTimeout(timer);
          resolve(got);
        }
      });
      socket.on('error', reject);
      socket.write(Buffer.concat(frames));
    });
    socket.destroy();
    assert.deepEqual(ids.sort(), [101, 102]);
  });

  test('a message that is not DNS gets FORMERR with its ID', async () => {
    const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
    const r = await exchangeRaw(dns.ports[0], junk);
    assert.equal(r.readUInt16BE(0), 0x1234);
    assert.equal(r.readUInt16BE(2) & 0x800f, 0x8001, 'a response with rcode FORMERR');
  });

  test('an upstream that does not answer gives SERVFAIL, not silence', async () => {
    const silent = await startFakeUpstream({}, { silent: true });
    const d = await startDnsServer({ client, listen: [{ address: '127.0.0.1', port: 0 }], upstreams: [`127.0.0.1:${silent.port}`], upstreamTimeoutMs: 300, log: (m) => logs.push(m) });
    try {
      const r = await query(d.ports[0], 'example.com', 'A');
      assert.equal(r.rcode, 'SERVFAIL');
      assert.ok(logs.some((l) => l.includes('forwarding example.com A') && l.includes(`127.0.0.1:${silent.port}`)), 'the failure is logged with the upstream');
    } finally {
      await d.stop();
      await silent.stop();
    }
  });
});

describe('listening', () => {
  test('several listen addresses, IPv6 too, each on UDP and TCP', async () => {
    const d = await startDnsServer({ client, listen: [{ address: '127.0.0.1', port: 0 }, { address: '::1', port: 0 }], upstreams: [], log: (m) => logs.push(m) });
    try {
      assert.equal(await d.synced(60_000), true);
      assert.equal(d.ports.length, 2);
      const web = await client.get<Service>(R.services, 'web', { namespace: 'default' });
      for (const tcp of [false, true]) {
        assert.deepEqual(data(await query(d.ports[0], `web.default.svc.${D}`, 'A', { tcp }), 'A'), [web.spec!.clusterIP]);
        assert.deepEqual(data(await query(d.ports[1], `web.default.svc.${D}`, 'A', { tcp, host: '::1' }), 'A'), [web.spec!.clusterIP]);
      }
      assert.equal((await query(d.ports[0], 'example.com', 'A')).rcode, 'SERVFAIL', 'no upstreams: SERVFAIL');
    } finally {
      await d.stop();
    }
  });

  test('a port in use and a bad address are errors', async () => {
    await assert.rejects(startDnsServer({ client, listen: [{ address: '127.0.0.1', port: dns.ports[0] }], upstreams: [] }), { code: 'EADDRINUSE' });
    await assert.rejects(startDnsServer({ client, listen: [{ address: 'localhost', port: 0 }], upstreams: [] }), /"localhost" is not an IP address/);
    await assert.rejects(startDnsServer({ client, listen: [{ address: '127.0.0.1', port: 0 }], upstreams: ['dns.example'] }), /not an IP address/);
  });
});
