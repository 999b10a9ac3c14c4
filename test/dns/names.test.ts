// The pure helpers: reverse names, dashed addresses, upstream parsing, owner-name compression.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { canonicalIp, dashedIp, ipFromDashed, ipFromReverseName, reverseName } from '../../src/dns/names.ts';
import { parseUpstream } from '../../src/dns/forward.ts';
import { compressOwnerNames } from '../../src/dns/compress.ts';
import { encodeWithin } from '../../src/dns/query.ts';
import { defaultUpstreams } from '../../src/dns/server.ts';

test('reverse names of IPv4 and IPv6 addresses, and back', () => {
  assert.equal(reverseName('10.43.0.1'), '1.0.43.10.in-addr.arpa');
  assert.equal(ipFromReverseName('1.0.43.10.in-addr.arpa.'), '10.43.0.1');
  const v6 = reverseName('fd00:42::a');
  assert.equal(v6, 'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.0.0.0.0.d.f.ip6.arpa');
  assert.equal(ipFromReverseName(v6.toUpperCase()), canonicalIp('fd00:42::a'));
  assert.equal(canonicalIp('FD00:42:0::A'), canonicalIp('fd00:42::a'));
  assert.equal(canonicalIp('::ffff:10.0.0.1'), '0000:0000:0000:0000:0000:ffff:0a00:0001');
  for (const partial of ['0.43.10.in-addr.arpa', '256.0.43.10.in-addr.arpa', '01.0.43.10.in-addr.arpa', 'x.ip6.arpa']) {
    assert.equal(ipFromReverseName(partial), undefined, partial);
  }
});

test('dashed addresses of pod records', () => {
  assert.equal(dashedIp('10.42.0.5'), '10-42-0-5');
  assert.equal(ipFromDashed('10-42-0-5'), '10.42.0.5');
  assert.equal(dashedIp('fd00::5'), 'fd00--5');
  assert.equal(ipFromDashed('fd00--5'), 'fd00::5');
  assert.equal(ipFromDashed('10-42-0'), undefined);
  assert.equal(ipFromDashed('web'), undefined);
});

test('upstream addresses', () => {
  assert.deepEqual(parseUpstream('192.0.2.1'), { host: '192.0.2.1', port: 53 });
  assert.deepEqual(parseUpstream('192.0.2.1:5353'), { host: '192.0.2.1', port: 5353 });
  assert.deepEqual(parseUpstream('[fd00::1]:5353'), { host: 'fd00::1', port: 5353 });
  assert.deepEqual(parseUpstream('fd00::1'), { host: 'fd00::1', port: 53 });
  assert.throws(() => parseUpstream('dns.example.com'), /not an IP address/);
  assert.throws(() => parseUpstream('192.0.2.1:99999'), /bad port/);
  // Our own address in resolv.conf would be a forwarding loop.
  assert.deepEqual(defaultUpstreams('nameserver 127.0.0.1\nnameserver 192.0.2.9\n', [{ address: '127.0.0.1', port: 53 }]), [{ host: '192.0.2.9', port: 53 }]);
});

test('owner names pointing at the question decode to the same message, smaller', () => {
  const packet = {
    type: 'response' as const, id: 7, flags: 0x8400,
    questions: [{ type: 'A' as const, name: 'Many.default.svc.cluster.local' }],
    answers: Array.from({ length: 20 }, (_, i) => ({ type: 'A' as const, name: 'Many.default.svc.cluster.local', ttl: 5, data: `10.0.0.${i}` })),
    additionals: [{ type: 'TXT' as const, name: 'other.example', ttl: 5, data: 'x' }],
  };
  const plain = dnsPacket.encode(packet);
  const small = compressOwnerNames(plain);
  assert.ok(small.length < plain.length - 20 * 25, `${plain.length} -> ${small.length} bytes`);
  const back = dnsPacket.decode(small);
  assert.deepEqual(back.answers!.map((a) => [a.name, (a as { data: string }).data]), packet.answers.map((a) => [a.name, a.data]));
  assert.equal(back.additionals![0].name, 'other.example');
});

test('encodeWithin keeps whole records and sets TC only when answers are cut', () => {
  const answers = Array.from({ length: 100 }, (_, i) => ({ type: 'A' as const, name: 'x.example', ttl: 5, data: `10.0.${i >> 8}.${i & 255}` }));
  const packet = { type: 'response' as const, id: 1, questions: [{ type: 'A' as const, name: 'x.example' }], answers };
  const cut = encodeWithin(packet, 512);
  const decoded = dnsPacket.decode(cut);
  assert.ok(cut.length <= 512);
  assert.equal(decoded.flag_tc, true);
  assert.equal(decoded.answers!.length, Math.floor((512 - 12 - 15) / 16));
  const whole = dnsPacket.decode(encodeWithin(packet, 4096));
  assert.equal(whole.flag_tc, false);
  assert.equal(whole.answers!.length, 100);
});
