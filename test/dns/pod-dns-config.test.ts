// podDnsConfig against kubelet's GetPodDNS: each dnsPolicy, the dnsConfig merge and the limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.d.ts';
import { formatResolvConf, podDnsConfig, type PodDnsContext } from '../../src/dns/pod-dns-config.ts';
import { parseResolvConf } from '../../src/dns/resolv-conf.ts';

const HOST = `# written by the installer
nameserver 192.0.2.1
nameserver 192.0.2.2
search corp.example. lab.example
options timeout:2 attempts:3
`;
const ctx: PodDnsContext = { clusterDns: ['10.43.0.10'], clusterDomain: 'cluster.local', hostResolvConf: HOST };

function pod(spec: Partial<Pod['spec']> = {}, namespace = 'shop'): Pod {
  return { metadata: { name: 'p', namespace }, spec: { containers: [{ name: 'c' }], ...spec } };
}

test('ClusterFirst: the cluster DNS, namespace search domains then the host ones, ndots:5', () => {
  assert.deepEqual(podDnsConfig(pod(), ctx), {
    servers: ['10.43.0.10'],
    searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example'],
    options: ['ndots:5'],
  });
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'ClusterFirst' }), ctx), podDnsConfig(pod(), ctx), 'ClusterFirst is the default');
});

test('ClusterFirst on the host network is Default; ClusterFirstWithHostNet is not', () => {
  const host = { servers: ['192.0.2.1', '192.0.2.2'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'attempts:3'] };
  assert.deepEqual(podDnsConfig(pod({ hostNetwork: true }), ctx), host);
  assert.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), ctx).servers, ['10.43.0.10']);
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), ctx), host);
});

test('ClusterFirst without cluster DNS falls back to Default and says so', () => {
  const warnings: string[] = [];
  const r = podDnsConfig(pod(), { ...ctx, clusterDns: [], warn: (reason, m) => warnings.push(`${reason}: ${m}`) });
  assert.deepEqual(r.servers, ['192.0.2.1', '192.0.2.2']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^MissingClusterDNS: .*Falling back to "Default" policy/);
});

test('None: only the pod dnsConfig', () => {
  const r = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), ctx);
  assert.deepEqual(r, { servers: ['1.1.1.1'], searches: ['a.example'], options: ['ndots:2', 'edns0'] });
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'None' }), ctx), { servers: [], searches: [], options: [] });
});

test('dnsConfig is appended without duplicates and its options win by name', () => {
  const r = podDnsConfig(pod({
    dnsConfig: {
      nameservers: ['10.43.0.10', '9.9.9.9'],
      searches: ['cluster.local', 'extra.example'],
      options: [{ name: 'ndots', value: '1' }, { name: 'single-request-reopen' }],
    },
  }), ctx);
  assert.deepEqual(r.servers, ['10.43.0.10', '9.9.9.9']);
  assert.deepEqual(r.searches, ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example', 'extra.example']);
  assert.deepEqual(r.options, ['ndots:1', 'single-request-reopen']);
});

test('at most 3 nameservers, with a DNSConfigForming warning', () => {
  const warnings: string[] = [];
  const r = podDnsConfig(pod({ dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'] } }), { ...ctx, warn: (reason, m) => warnings.push(`${reason}: ${m}`) });
  assert.deepEqual(r.servers, ['10.43.0.10', '1.1.1.1', '2.2.2.2']);
  assert.deepEqual(warnings, ['DNSConfigForming: Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.43.0.10 1.1.1.1 2.2.2.2']);
});

test('at most 32 search domains and 2048 characters, cut at whole domains', () => {
  const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
  const r = podDnsConfig(pod({ dnsConfig: { searches: many } }), ctx);
  assert.equal(r.searches.length, 32);
  assert.deepEqual(r.searches.slice(0, 3), ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  assert.equal(r.searches[31], 'd26.example');

  const long = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(150)}.example`);
  const warnings: string[] = [];
  const cut = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { searches: long } }), { ...ctx, warn: (_r, m) => warnings.push(m) });
  const line = cut.searches.join(' ');
  assert.ok(line.length <= 2048, `search line is ${line.length} characters`);
  assert.ok(line.length > 2048 - 160, 'only as many domains as needed are cut');
  assert.deepEqual(cut.searches, long.slice(0, cut.searches.length), 'domains come off the end');
  assert.match(warnings[0], /^Search Line limits were exceeded/);

  const tooLong = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { searches: ['ok.example', `${'y'.repeat(250)}.example`] } }), ctx);
  assert.deepEqual(tooLong.searches, ['ok.example'], 'a domain over 253 characters is dropped');
});

test('no cluster domain: no cluster search domains; --resolv-conf="" means 127.0.0.1 and search "."', () => {
  assert.deepEqual(podDnsConfig(pod(), { ...ctx, clusterDomain: '' }).searches, ['corp.example', 'lab.example']);
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), { ...ctx, hostResolvConf: null }), { servers: ['127.0.0.1'], searches: ['.'], options: [] });
});

test('resolv.conf parsing: nameservers add up, the last search and options lines win', () => {
  assert.deepEqual(parseResolvConf('search a.example\nnameserver 1.1.1.1\n; comment\nsearch b.example.\noptions ndots:1\nnameserver 2.2.2.2\noptions rotate\n'), {
    servers: ['1.1.1.1', '2.2.2.2'], searches: ['b.example'], options: ['rotate'],
  });
  assert.equal(formatResolvConf(podDnsConfig(pod(), ctx)),
    'nameserver 10.43.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\noptions ndots:5\n');
});
