import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { KubeObject, ResourceInfo } from '../../src/api/types.ts';
import { type Table, toTable } from '../../src/api/tables/index.ts';

const NOW = new Date('2024-05-10T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString().replace('.000Z', 'Z');
const DAY = 86400;

const resource = (group: string, plural: string): ResourceInfo => {
  const r = BUILTIN_RESOURCES.find((x) => x.group === group && x.plural === plural);
  assert.ok(r, `${group}/${plural} is served`);
  return r;
};
const table = (group: string, plural: string, objects: KubeObject[]) => toTable(resource(group, plural), objects, { now: NOW });
const names = (t: Table, wide = false) =>
  (t.columnDefinitions ?? []).filter((c) => wide || c.priority === 0).map((c) => c.name.toUpperCase());
const shown = (t: Table, row = 0, wide = false) =>
  t.rows[row].cells.filter((_, i) => wide || t.columnDefinitions![i].priority === 0);
const meta = (name: string, age = DAY) => ({ name, namespace: 'default', creationTimestamp: ago(age) });

describe('Service table', () => {
  it('NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE | SELECTOR', () => {
    const t = table('', 'services', [
      { metadata: meta('web'), spec: { type: 'NodePort', clusterIP: '10.96.14.2', clusterIPs: ['10.96.14.2'], selector: { app: 'web' },
        ports: [{ port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } },
      { metadata: meta('kubernetes', 30 * DAY), spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'],
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] } },
      { metadata: meta('db'), spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'db' } } },
      { metadata: meta('lb'), spec: { type: 'LoadBalancer', clusterIP: '10.96.3.3', ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] }, status: {} },
      { metadata: meta('lb2'), spec: { type: 'LoadBalancer', clusterIP: '10.96.3.4', ports: [{ port: 80, nodePort: 31080 }] },
        status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } } },
      { metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'db.example.com' } },
    ]);
    assert.deepEqual(names(t), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    assert.deepEqual(names(t, true).slice(6), ['SELECTOR']);
    assert.deepEqual(shown(t, 0, true), ['web', 'NodePort', '10.96.14.2', '<none>', '80:30080/TCP,53/UDP', '24h', 'app=web']);
    assert.deepEqual(shown(t, 1, true), ['kubernetes', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP', '30d', '<none>']);
    assert.deepEqual(shown(t, 2), ['db', 'ClusterIP', 'None', '<none>', '<none>', '24h']);
    assert.deepEqual(shown(t, 3), ['lb', 'LoadBalancer', '10.96.3.3', '<pending>', '443:31443/TCP', '24h']);
    assert.equal(shown(t, 4)[3], '203.0.113.9,lb.example.com');
    assert.deepEqual(shown(t, 5).slice(1, 5), ['ExternalName', '<none>', 'db.example.com', '<none>']);
  });
});

describe('Node table', () => {
  it('NAME STATUS ROLES AGE VERSION | INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME', () => {
    const t = table('', 'nodes', [
      { metadata: { name: 'cp-1', creationTimestamp: ago(40 * DAY), labels: { 'node-role.kubernetes.io/control-plane': '' } },
        spec: { unschedulable: true },
        status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
          addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'cp-1' }],
          nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7.13' } } },
      { metadata: { name: 'worker-1', creationTimestamp: ago(2 * DAY) }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } },
      { metadata: { name: 'new', creationTimestamp: ago(5) }, spec: {}, status: {} },
    ]);
    assert.deepEqual(names(t), ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    assert.deepEqual(names(t, true).slice(5), ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
    assert.deepEqual(shown(t, 0, true), ['cp-1', 'Ready,SchedulingDisabled', 'control-plane', '40d', 'v1.32.0',
      '172.18.0.2', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0', 'containerd://1.7.13']);
    assert.deepEqual(shown(t, 1, true), ['worker-1', 'NotReady', '<none>', '2d', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
    assert.equal(shown(t, 2)[1], 'Unknown');
  });
});

describe('config and identity tables', () => {
  it('Namespace, ConfigMap, Secret, ServiceAccount', () => {
    assert.deepEqual(shown(table('', 'namespaces', [{ metadata: { name: 'shop', creationTimestamp: ago(DAY) }, status: { phase: 'Active' } }])),
      ['shop', 'Active', '24h']);
    const cm = table('', 'configmaps', [{ metadata: meta('kube-root-ca.crt'), data: { 'ca.crt': 'x' }, binaryData: { logo: 'AA==' } }]);
    assert.deepEqual(names(cm), ['NAME', 'DATA', 'AGE']);
    assert.deepEqual(shown(cm), ['kube-root-ca.crt', 2, '24h']);
    const secret = table('', 'secrets', [{ metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }]);
    assert.deepEqual(names(secret), ['NAME', 'TYPE', 'DATA', 'AGE']);
    assert.deepEqual(shown(secret), ['tls', 'kubernetes.io/tls', 2, '24h']);
    const sa = table('', 'serviceaccounts', [{ metadata: meta('default') }]);
    assert.deepEqual(names(sa), ['NAME', 'SECRETS', 'AGE']);
    assert.deepEqual(shown(sa), ['default', 0, '24h']);
  });
});

describe('endpoint tables', () => {
  it('Endpoints lists up to three ip:port pairs', () => {
    const t = table('', 'endpoints', [
      { metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: 'fd00::3' }, { ip: '10.0.0.4' }],
        ports: [{ port: 8080 }] }] },
      { metadata: meta('none') },
    ]);
    assert.deepEqual(names(t), ['NAME', 'ENDPOINTS', 'AGE']);
    assert.equal(shown(t, 0)[1], '10.0.0.1:8080,10.0.0.2:8080,[fd00::3]:8080 + 1 more...');
    assert.equal(shown(t, 1)[1], '<none>');
  });

  it('EndpointSlice: NAME ADDRESSTYPE PORTS ENDPOINTS AGE', () => {
    const t = table('discovery.k8s.io', 'endpointslices', [
      { metadata: meta('web-abc12'), addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }] },
      { metadata: meta('empty'), addressType: 'IPv4' },
    ]);
    assert.deepEqual(names(t), ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
    assert.deepEqual(shown(t, 0), ['web-abc12', 'IPv4', '8080', '10.0.0.1,10.0.0.2', '24h']);
    assert.deepEqual(shown(t, 1).slice(2, 4), ['<unset>', '<unset>']);
  });
});

describe('Event table', () => {
  const ev = {
    metadata: { name: 'web-0.17c9a', namespace: 'default', creationTimestamp: ago(600) },
    involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'default', fieldPath: 'spec.containers{web}' },
    reason: 'BackOff', message: 'Back-off restarting failed container web\n', type: 'Warning', count: 7,
    source: { component: 'kubelet', host: 'node-1' }, firstTimestamp: ago(600), lastTimestamp: ago(30),
  };

  it('core Event: LAST SEEN TYPE REASON OBJECT MESSAGE | SUBOBJECT SOURCE FIRST SEEN COUNT NAME', () => {
    const t = table('', 'events', [ev]);
    assert.deepEqual(names(t), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    assert.deepEqual(names(t, true), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'SUBOBJECT', 'SOURCE', 'MESSAGE', 'FIRST SEEN', 'COUNT', 'NAME']);
    assert.deepEqual(shown(t), ['30s', 'Warning', 'BackOff', 'pod/web-0', 'Back-off restarting failed container web']);
    assert.deepEqual(shown(t, 0, true).slice(4), ['spec.containers{web}', 'kubelet, node-1', 'Back-off restarting failed container web', '10m', 7, 'web-0.17c9a']);
  });

  it('events.k8s.io Event and a series use the newer fields', () => {
    const t = table('events.k8s.io', 'events', [{
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'x', namespace: 'default' },
      eventTime: ago(300), regarding: { kind: 'Deployment', name: 'web' }, reason: 'ScalingReplicaSet', note: 'Scaled up',
      type: 'Normal', reportingController: 'deployment-controller', reportingInstance: '', series: { count: 4, lastObservedTime: ago(20) },
    }]);
    assert.deepEqual(shown(t, 0, true), ['20s', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up', '5m', 4, 'x']);
  });
});

describe('storage, scheduling and cluster tables', () => {
  it('PersistentVolume and PersistentVolumeClaim', () => {
    const pv = table('', 'persistentvolumes', [{
      metadata: { name: 'pv-1', creationTimestamp: ago(DAY) },
      spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain',
        claimRef: { namespace: 'default', name: 'data' }, storageClassName: 'standard', volumeMode: 'Filesystem' },
      status: { phase: 'Bound' },
    }]);
    assert.deepEqual(names(pv), ['NAME', 'CAPACITY', 'ACCESS MODES', 'RECLAIM POLICY', 'STATUS', 'CLAIM', 'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS', 'REASON', 'AGE']);
    assert.deepEqual(shown(pv, 0, true), ['pv-1', '10Gi', 'RWO,RWX', 'Retain', 'Bound', 'default/data', 'standard', '<unset>', '', '24h', 'Filesystem']);

    const pvc = table('', 'persistentvolumeclaims', [
      { metadata: meta('data'), spec: { volumeName: 'pv-1', storageClassName: 'standard', resources: { requests: { storage: '5Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'] } },
      { metadata: meta('pending'), spec: { storageClassName: 'fast' }, status: { phase: 'Pending' } },
    ]);
    assert.deepEqual(names(pvc), ['NAME', 'STATUS', 'VOLUME', 'CAPACITY', 'ACCESS MODES', 'STORAGECLASS', 'VOLUMEATTRIBUTESCLASS', 'AGE']);
    assert.deepEqual(shown(pvc, 0), ['data', 'Bound', 'pv-1', '10Gi', 'RWO', 'standard', '<unset>', '24h']);
    assert.deepEqual(shown(pvc, 1), ['pending', 'Pending', '', '', '', 'fast', '<unset>', '24h']);
  });

  it('ResourceQuota splits requests and limits', () => {
    const t = table('', 'resourcequotas', [{
      metadata: meta('quota'),
      status: { hard: { 'limits.cpu': '4', pods: '10', 'requests.cpu': '2', 'limits.memory': '8Gi' }, used: { 'limits.cpu': '500m', pods: '3', 'requests.cpu': '250m' } },
    }]);
    assert.deepEqual(names(t), ['NAME', 'REQUEST', 'LIMIT', 'AGE']);
    assert.deepEqual(shown(t), ['quota', 'pods: 3/10, requests.cpu: 250m/2', 'limits.cpu: 500m/4, limits.memory: 0/8Gi', '24h']);
  });

  it('Lease, PriorityClass, RuntimeClass', () => {
    const lease = table('coordination.k8s.io', 'leases', [{ metadata: meta('node-1'), spec: { holderIdentity: 'node-1' } }]);
    assert.deepEqual([names(lease), shown(lease)], [['NAME', 'HOLDER', 'AGE'], ['node-1', 'node-1', '24h']]);
    const pc = table('scheduling.k8s.io', 'priorityclasses', [{ metadata: { name: 'system-node-critical', creationTimestamp: ago(DAY) },
      value: 2000001000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' }]);
    assert.deepEqual(names(pc), ['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY']);
    assert.deepEqual(shown(pc), ['system-node-critical', 2000001000, false, '24h', 'PreemptLowerPriority']);
    const rc = table('node.k8s.io', 'runtimeclasses', [{ metadata: { name: 'gvisor', creationTimestamp: ago(DAY) }, handler: 'runsc' }]);
    assert.deepEqual([names(rc), shown(rc)], [['NAME', 'HANDLER', 'AGE'], ['gvisor', 'runsc', '24h']]);
  });

  it('kinds without a printer (LimitRange, CustomResourceDefinition) get NAME and CREATED AT', () => {
    const lr = table('', 'limitranges', [{ metadata: { name: 'limits', namespace: 'default', creationTimestamp: '2024-05-01T08:30:00Z' } }]);
    assert.deepEqual(lr.columnDefinitions!.map((c) => [c.name, c.type]), [['Name', 'string'], ['Created At', 'date']]);
    assert.deepEqual(shown(lr), ['limits', '2024-05-01T08:30:00Z']);
    const crd = table('apiextensions.k8s.io', 'customresourcedefinitions', [{ metadata: { name: 'widgets.example.com', creationTimestamp: ago(DAY) } }]);
    assert.deepEqual(shown(crd), ['widgets.example.com', '2024-05-09T12:00:00Z']);
  });
});
