// The proxy's pure layer: Services + EndpointSlices → service ports → nft elements and
// transactions, without a kernel.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { servicePorts, type ServicePort } from '../../src/proxy/model.ts';
import { chainCodeElements, MARK, portRules } from '../../src/proxy/rules.ts';
import { affinityPurgeScript, ProxyState } from '../../src/proxy/state.ts';

const CFG = { nodeName: 'node-a', nodeAddresses: ['192.0.2.10'], clusterCidr: '10.42.0.0/16' };

function svc(name: string, spec: Service['spec'], status?: Service['status']): Service {
  return { metadata: { name, namespace: 'default' }, spec: { clusterIP: '10.43.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec }, status };
}

function slice(name: string, eps: { ip: string; ready?: boolean; node?: string }[], port = 8080, portName = 'http'): EndpointSlice {
  return { metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4',
    ports: [{ name: portName, port, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: e.ready === undefined ? {} : { ready: e.ready }, nodeName: e.node })) };
}

function port(over: Partial<ServicePort>): ServicePort {
  return { key: 'default/web/http', protocol: 'tcp', port: 80, clusterIPs: ['10.43.0.10'], externalIPs: [], internalLocal: false, externalLocal: false,
    endpoints: [{ ip: '10.42.0.11', port: 8080, nodeName: 'node-a' }, { ip: '10.42.1.12', port: 8080, nodeName: 'node-b' }], ...over };
}

const lines = (script: string) => script.split('\n').filter(Boolean);

describe('servicePorts', () => {
  it('keeps ready endpoints (an unset ready condition counts as ready), across slices, once each', () => {
    const ports = servicePorts(svc('web', {}), [
      slice('a', [{ ip: '10.42.0.12' }, { ip: '10.42.0.11', ready: true }, { ip: '10.42.0.13', ready: false }]),
      slice('b', [{ ip: '10.42.0.11' }, { ip: '10.42.0.2' }]),
    ]);
    assert.equal(ports.length, 1);
    assert.deepEqual(ports[0].endpoints.map((e) => e.ip), ['10.42.0.2', '10.42.0.11', '10.42.0.12']);
    assert.equal(ports[0].endpoints[0].port, 8080);
  });

  it('matches slice ports by name and protocol', () => {
    const s = svc('web', { ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    const ports = servicePorts(s, [slice('a', [{ ip: '10.42.0.11' }], 8080, 'http'), slice('b', [{ ip: '10.42.0.12' }], 5353, 'dns')]);
    assert.deepEqual(ports.map((p) => [p.key, p.protocol, p.endpoints.length]), [['default/web/http', 'tcp', 1], ['default/web/dns', 'udp', 0]],
      'the dns slice declares TCP, so the UDP port has no endpoints');
  });

  it('skips headless and ExternalName Services', () => {
    assert.deepEqual(servicePorts(svc('h', { clusterIP: 'None' }), []), []);
    assert.deepEqual(servicePorts(svc('x', { type: 'ExternalName', externalName: 'example.com', clusterIP: undefined }), []), []);
  });

  it('reads NodePorts, externalIPs, load-balancer IPs, policies and affinity (default timeout 3 h)', () => {
    const [p] = servicePorts(svc('web', { type: 'LoadBalancer', externalIPs: ['192.0.2.50'], externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }, { loadBalancer: { ingress: [{ ip: '192.0.2.51' }, { hostname: 'lb.example' }] } }), []);
    assert.equal(p.nodePort, 30080);
    assert.deepEqual(p.externalIPs, ['192.0.2.50', '192.0.2.51']);
    assert.equal(p.externalLocal, true);
    assert.equal(p.internalLocal, true);
    assert.equal(p.affinityTimeoutSeconds, 10800);
    const [clusterIP] = servicePorts(svc('web', { ports: [{ name: 'http', port: 80, nodePort: 30080 }] }), []);
    assert.equal(clusterIP.nodePort, undefined, 'a ClusterIP Service has no NodePort even if one is written');
  });
});

describe('portRules', () => {
  const codeOf = (chain: string) => ({ 'endpoints-1': 1, 'endpoints-2': 2 } as Record<string, number>)[chain] ?? 3;
  const get = (els: { map: string; key: string; value: string }[], map: string) => els.filter((e) => e.map === map).map((e) => `${e.key} : ${e.value}`);

  it('a ClusterIP Service is one frontend element (naming its chain by code) and one element per endpoint', () => {
    const r = portRules(port({}), 7, CFG, codeOf);
    // proxy bit | code of endpoints-2 (2) << 20 | port 7
    assert.deepEqual(get(r.elements, 'service-ips'), ['10.43.0.10 . tcp . 80 : 0x80200007']);
    assert.deepEqual(get(r.elements, 'endpoints-tcp'), ['0x00000007 . 0 : 10.42.0.11 . 8080', '0x00000007 . 1 : 10.42.1.12 . 8080']);
    assert.deepEqual(r.chains, ['endpoints-2']);
    assert.deepEqual(r.hairpin, ['10.42.0.11'], 'only this node\'s endpoints can be hairpin sources');
  });

  it('no endpoints rejects; endpoints only elsewhere with a Local policy drops', () => {
    const none = portRules(port({ endpoints: [] }), 1, CFG, codeOf);
    assert.deepEqual(get(none.elements, 'reject-ids'), ['0x00000001 : ']);
    assert.deepEqual(get(none.elements, 'service-ips'), ['10.43.0.10 . tcp . 80 : 0x80000001'], 'code 0: no chain');
    const remote = portRules(port({ internalLocal: true, endpoints: [{ ip: '10.42.1.12', port: 8080, nodeName: 'node-b' }] }), 1, CFG, codeOf);
    assert.deepEqual(get(remote.elements, 'service-ips'), [`10.43.0.10 . tcp . 80 : 0x${((MARK.PROXY | MARK.LOCAL | 1) >>> 0).toString(16)}`]);
    assert.deepEqual(get(remote.elements, 'drop-ids'), ['0x00080001 : ']);
    assert.deepEqual(get(remote.elements, 'endpoints-tcp'), ['0x00000001 . 0 : 10.42.1.12 . 8080'], 'the cluster-wide set stays for external traffic');
  });

  it('externalTrafficPolicy Local marks external frontends to use the local set', () => {
    const r = portRules(port({ externalLocal: true, nodePort: 30080, externalIPs: ['192.0.2.50'] }), 3, CFG, codeOf);
    // external: proxy | EXT_LOCAL | code 1 (one local endpoint) | LOCAL | 3; internal: the cluster-wide set (code 2)
    assert.deepEqual(get(r.elements, 'service-ips'), ['10.43.0.10 . tcp . 80 : 0x80200003', '192.0.2.50 . tcp . 80 : 0xa0180003']);
    assert.deepEqual(get(r.elements, 'service-nodeports'), ['tcp . 30080 : 0xa0180003']);
    assert.deepEqual(get(r.elements, 'cluster-sets'), ['0x00080003 : 0x80200003'], 'pods and the node short-circuit to all endpoints');
    assert.deepEqual(get(r.elements, 'endpoints-tcp').filter((e) => e.startsWith('0x00080003')), ['0x00080003 . 0 : 10.42.0.11 . 8080']);
  });

  it('ClientIP affinity goes through affinity-N and records with the Service\'s timeout', () => {
    const r = portRules(port({ affinityTimeoutSeconds: 600 }), 2, CFG, codeOf);
    assert.deepEqual(get(r.elements, 'service-ips'), ['10.43.0.10 . tcp . 80 : 0x80300002']);
    assert.deepEqual(r.chains.sort(), ['affinity-2-600', 'affinity-record-600', 'endpoints-2']);
    assert.deepEqual(chainCodeElements('affinity-2-600', 3).map((e) => `${e.map} ${e.key} : ${e.value}`),
      ['shared-chains 0x00300000 : goto affinity-2-600', 'affinity-records 0x00300000 : jump affinity-record-600']);
  });
});

describe('ProxyState', () => {
  function manyServices(n: number): ProxyState {
    const s = new ProxyState(CFG);
    for (let i = 0; i < n; i++) {
      s.setService(`default/svc-${i}`, [port({ key: `default/svc-${i}/http`, clusterIPs: [`10.43.${i >> 8}.${i & 255}`] })]);
    }
    s.planFull(true).commit();
    return s;
  }

  it('an endpoint change is a transaction of that Service\'s elements only, whatever the Service count', () => {
    for (const n of [10, 5000]) {
      const s = manyServices(n);
      s.setService('default/svc-3', [port({ key: 'default/svc-3/http', clusterIPs: ['10.43.0.3'],
        endpoints: [{ ip: '10.42.0.11', port: 8080, nodeName: 'node-a' }, { ip: '10.42.1.99', port: 8080, nodeName: 'node-b' }] })]);
      const plan = s.planIncremental();
      assert.deepEqual(lines(plan.script), [
        'delete element ip skiff-proxy endpoints-tcp { 0x00000004 . 1 }',
        'add element ip skiff-proxy endpoints-tcp { 0x00000004 . 1 : 10.42.1.99 . 8080 }',
      ], `with ${n} services`);
      plan.commit();
      assert.equal(s.planIncremental().script, '', 'nothing left to do after commit');
    }
  });

  it('adding a Service with a new endpoint count creates its shared chain first; removing one deletes its elements', () => {
    const s = manyServices(3);
    s.setService('default/big', [port({ key: 'default/big/http', clusterIPs: ['10.43.9.9'],
      endpoints: [1, 2, 3].map((i) => ({ ip: `10.42.2.${i}`, port: 80, nodeName: 'node-b' })) })]);
    let plan = s.planIncremental();
    const l = lines(plan.script);
    assert.equal(l[0], 'add chain ip skiff-proxy endpoints-3');
    const code = l.indexOf('add element ip skiff-proxy shared-chains { 0x00200000 : goto endpoints-3 }');
    assert.ok(code > l.findLastIndex((x) => x.startsWith('add rule')), l.join('\n'));
    assert.ok(l.some((x) => x.includes('10.43.9.9 . tcp . 80 : 0x80200004')));
    plan.commit();
    s.setService('default/big', []);
    plan = s.planIncremental();
    assert.deepEqual(lines(plan.script).map((x) => x.split(' {')[0]).sort(), ['delete element ip skiff-proxy endpoints-tcp', 'delete element ip skiff-proxy service-ips'],
      'the shared chain stays until the next full sync');
  });

  it('counts hairpin addresses shared by Services', () => {
    const s = new ProxyState(CFG);
    s.setService('default/a', [port({ key: 'default/a/http', clusterIPs: ['10.43.0.1'] })]);
    s.setService('default/b', [port({ key: 'default/b/http', clusterIPs: ['10.43.0.2'] })]);
    let plan = s.planIncremental();
    assert.equal(lines(plan.script).filter((x) => x.includes('hairpin')).length, 1);
    plan.commit();
    s.setService('default/a', []);
    plan = s.planIncremental();
    assert.ok(!plan.script.includes('hairpin'), 'b still uses 10.42.0.11');
    plan.commit();
    s.setService('default/b', []);
    plan = s.planIncremental();
    assert.match(plan.script, /delete element ip skiff-proxy hairpin \{ 10\.42\.0\.11 \. 10\.42\.0\.11 \}/);
  });

  it('a change made while a plan runs stays pending after that plan commits', () => {
    const s = manyServices(2);
    s.setService('default/svc-0', [port({ key: 'default/svc-0/http', clusterIPs: ['10.43.0.0'], endpoints: [] })]);
    const plan = s.planIncremental();
    s.setService('default/svc-0', [port({ key: 'default/svc-0/http', clusterIPs: ['10.43.0.0'] })]);
    plan.commit();
    assert.equal(s.pendingCount, 1);
    assert.match(s.planIncremental().script, /add element ip skiff-proxy endpoints-tcp/);
  });

  it('full sync: start-up replaces the table; a resync rewrites in place, keeps affinity, drops unused chains', () => {
    const s = new ProxyState(CFG);
    s.setService('default/a', [port({ affinityTimeoutSeconds: 60 })]);
    s.planFull(true).commit();
    s.setService('default/a', [port({})]);
    const fresh = s.planFull(true).script;
    assert.match(fresh, /^add table ip skiff-proxy\ndelete table ip skiff-proxy\ntable ip skiff-proxy \{/);
    const resync = s.planFull(false).script;
    assert.ok(!resync.includes('delete table'));
    assert.ok(!resync.includes('flush map ip skiff-proxy affinity\n'));
    assert.match(resync, /flush map ip skiff-proxy endpoints-tcp/);
    const deletes = lines(resync).filter((x) => x.startsWith('delete chain'));
    assert.deepEqual(deletes, ['delete chain ip skiff-proxy affinity-2-60', 'delete chain ip skiff-proxy affinity-record-60']);
  });

  it('numbers ports stably and does not hand a released number out again at once', () => {
    const s = new ProxyState(CFG);
    s.setService('default/a', [port({ key: 'default/a/http' })]);
    s.setService('default/a', []);
    s.setService('default/b', [port({ key: 'default/b/http', clusterIPs: ['10.43.0.20'] })]);
    assert.match(s.planIncremental().script, /10\.43\.0\.20 \. tcp \. 80 : 0x80100002/);
  });
});

describe('affinityPurgeScript', () => {
  it('deletes entries that point at endpoints a Service no longer has', () => {
    const entries = [
      { id: 5, client: '10.42.0.20', endpoint: '10.42.0.11 . 8080' },
      { id: 5, client: '10.42.0.21', endpoint: '10.42.0.12 . 8080' },
      { id: 9, client: '10.42.0.20', endpoint: '10.42.0.13 . 8080' },
    ];
    const purge = new Map([[5, new Set(['10.42.0.11 . 8080'])]]);
    assert.equal(affinityPurgeScript(entries, purge, false), 'delete element ip skiff-proxy affinity { 0x00000005 . 10.42.0.21 }\n');
    assert.equal(affinityPurgeScript(entries, purge, true), 'delete element ip skiff-proxy affinity { 0x00000005 . 10.42.0.21, 0x00000009 . 10.42.0.20 }\n',
      'a full purge also drops ids nothing uses');
  });
});
