// applyDefaults: objects created from minimal manifests come out as `kubectl get -o yaml`
// shows them on a real 1.32 cluster (minus what the server allocates: clusterIP, nodeName,
// the kube-api-access volume, uid, timestamps).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults } from '../../src/api/defaults/index.ts';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { KubeObject, ResourceInfo } from '../../src/api/types.ts';

function resource(group: string, kind: string): ResourceInfo {
  const r = BUILTIN_RESOURCES.find((x) => x.group === group && x.kind === kind);
  assert.ok(r, `${group}/${kind} is a built-in resource`);
  return r;
}

function defaulted(group: string, kind: string, obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  applyDefaults(resource(group, kind), copy);
  return copy;
}

const NOT_READY = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };
const UNREACHABLE = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };

describe('applyDefaults: Pod', () => {
  it('fills a minimal pod the way kube-apiserver and its admission plugins do', () => {
    const pod = defaulted('', 'Pod', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nginx', namespace: 'default' },
      spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
    });
    assert.deepEqual(pod.spec, {
      containers: [{
        name: 'nginx', image: 'nginx', imagePullPolicy: 'Always', resources: {},
        terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      }],
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: 'default',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [NOT_READY, UNREACHABLE],
    });
    assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('picks imagePullPolicy from the tag', () => {
    const policies = (images: string[]) => {
      const pod = defaulted('', 'Pod', { metadata: { name: 'p', namespace: 'd' }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } });
      return pod.spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy);
    };
    assert.deepEqual(policies(['nginx', 'nginx:latest', 'nginx:1.25', 'localhost:5000/app', 'localhost:5000/app:v1', 'busybox@sha256:abc', 'registry.k8s.io/pause:3.10']),
      ['Always', 'Always', 'IfNotPresent', 'Always', 'IfNotPresent', 'IfNotPresent', 'IfNotPresent']);
  });

  it('defaults ports, probes, env field refs, volumes, and requests from limits', () => {
    const pod = defaulted('', 'Pod', {
      metadata: { name: 'p', namespace: 'd' },
      spec: {
        containers: [{
          name: 'app', image: 'app:1',
          ports: [{ containerPort: 8080 }],
          livenessProbe: { httpGet: { port: 8080 } },
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
          env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          resources: { limits: { cpu: '500m', memory: '128Mi' } },
          volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
        }],
        volumes: [{ name: 'cache' }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'sec', secret: { secretName: 's' } },
          { name: 'host', hostPath: { path: '/var/log' } }],
      },
    });
    const c = pod.spec.containers[0];
    assert.deepEqual(c.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
    assert.deepEqual(c.livenessProbe, {
      httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3,
    });
    assert.equal(c.readinessProbe.periodSeconds, 5);
    assert.deepEqual(c.env[0].valueFrom.fieldRef, { apiVersion: 'v1', fieldPath: 'metadata.name' });
    assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '500m', memory: '128Mi' } });
    assert.deepEqual(pod.spec.volumes, [
      { name: 'cache', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
      { name: 'sec', secret: { secretName: 's', defaultMode: 420 } },
      { name: 'host', hostPath: { path: '/var/log', type: '' } },
    ]);
    assert.equal(pod.status.qosClass, 'Guaranteed');
  });

  it('stores quantities in canonical form', () => {
    const pod = defaulted('', 'Pod', {
      metadata: { name: 'p', namespace: 'd' },
      spec: { containers: [{ name: 'a', image: 'a:1', resources: { requests: { cpu: '1000m', memory: '1024Mi' }, limits: { cpu: 2 } } }] },
    });
    assert.deepEqual(pod.spec.containers[0].resources, { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2' } });
    assert.equal(pod.status.qosClass, 'Burstable');
  });

  it('keeps tolerations that already cover the taints and resolves system priority classes', () => {
    const pod = defaulted('', 'Pod', {
      metadata: { name: 'p', namespace: 'kube-system' },
      spec: { priorityClassName: 'system-node-critical', serviceAccountName: 'kube-proxy', tolerations: [{ operator: 'Exists' }], containers: [{ name: 'a', image: 'a:1' }] },
    });
    assert.deepEqual(pod.spec.tolerations, [{ operator: 'Exists' }]);
    assert.equal(pod.spec.priority, 2000001000);
    assert.equal(pod.spec.serviceAccountName, 'kube-proxy');
  });

  it('does not re-add admission defaults to a stored pod', () => {
    const pod = defaulted('', 'Pod', {
      metadata: { name: 'p', namespace: 'd', resourceVersion: '12' },
      spec: { containers: [{ name: 'a', image: 'a:1' }], tolerations: [] },
      status: { phase: 'Running' },
    });
    assert.deepEqual(pod.spec.tolerations, []);
    assert.equal(pod.spec.priority, undefined);
    assert.equal(pod.status.phase, 'Running');
  });
});

describe('applyDefaults: Service', () => {
  it('fills a minimal ClusterIP service but allocates nothing', () => {
    const svc = defaulted('', 'Service', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    assert.deepEqual(svc.spec, {
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      selector: { app: 'web' },
      sessionAffinity: 'None',
      type: 'ClusterIP',
    });
    assert.deepEqual(svc.status, { loadBalancer: {} });
  });

  it('adds externalTrafficPolicy for NodePort and LoadBalancer, nothing IP-related for ExternalName', () => {
    const np = defaulted('', 'Service', { metadata: { name: 'a', namespace: 'd' }, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }] } });
    assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(np.spec.ports[0].targetPort, 'http');
    assert.equal(np.spec.ports[0].nodePort, undefined);
    const lb = defaulted('', 'Service', { metadata: { name: 'a', namespace: 'd' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
    const en = defaulted('', 'Service', { metadata: { name: 'a', namespace: 'd' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
    assert.equal(en.spec.ipFamilies, undefined);
    assert.equal(en.spec.internalTrafficPolicy, undefined);
    assert.equal(en.spec.externalTrafficPolicy, undefined);
  });
});

describe('applyDefaults: workloads', () => {
  it('fills a minimal Deployment as kubectl get -o yaml shows it', () => {
    const d = defaulted('apps', 'Deployment', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } },
      },
    });
    assert.deepEqual(d.spec, {
      progressDeadlineSeconds: 600,
      replicas: 1,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'web' } },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{
            image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', name: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }],
            resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
          }],
          dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', schedulerName: 'default-scheduler', securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    });
  });

  it('leaves Recreate deployments without rollingUpdate', () => {
    const d = defaulted('apps', 'Deployment', { metadata: { name: 'a', namespace: 'd' }, spec: { strategy: { type: 'Recreate' }, template: { spec: { containers: [] } } } });
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
  });

  it('defaults StatefulSet, DaemonSet and ReplicaSet', () => {
    const sts = defaulted('apps', 'StatefulSet', {
      metadata: { name: 'db', namespace: 'd' },
      spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { spec: { containers: [{ name: 'db', image: 'postgres:16' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] },
    });
    assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
    assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
    assert.equal(sts.spec.replicas, 1);
    assert.equal(sts.spec.revisionHistoryLimit, 10);
    assert.deepEqual(sts.spec.volumeClaimTemplates[0], {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' },
      status: { phase: 'Pending' },
    });
    const ds = defaulted('apps', 'DaemonSet', { metadata: { name: 'a', namespace: 'd' }, spec: { template: { spec: { containers: [] } } } });
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds.spec.revisionHistoryLimit, 10);
    const rs = defaulted('apps', 'ReplicaSet', { metadata: { name: 'a', namespace: 'd' }, spec: { template: { spec: { containers: [] } } } });
    assert.equal(rs.spec.replicas, 1);
    assert.equal(rs.spec.template.spec.enableServiceLinks, undefined, 'enableServiceLinks is a Pod-only default');
  });

  it('generates the Job selector and labels from the uid', () => {
    const uid = '0f3c2a4e-7a0b-4b8e-9d1c-2b6f4a1e9c77';
    const job = defaulted('batch', 'Job', {
      metadata: { name: 'pi', namespace: 'default', uid },
      spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl:5.34' }], restartPolicy: 'Never' } }, backoffLimit: 4 },
    });
    const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'job-name': 'pi' };
    assert.deepEqual(job.metadata?.labels, labels);
    assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
    assert.deepEqual(job.spec.template.metadata.labels, labels);
    const { template: _t, selector: _s, ...rest } = job.spec;
    assert.deepEqual(rest, {
      backoffLimit: 4, completionMode: 'NonIndexed', completions: 1, manualSelector: false, parallelism: 1,
      podReplacementPolicy: 'TerminatingOrFailed', suspend: false,
    });
  });

  it('leaves completions unset for a work queue Job and honours manualSelector', () => {
    const job = defaulted('batch', 'Job', {
      metadata: { name: 'q', namespace: 'd', uid: 'u1' },
      spec: { parallelism: 3, manualSelector: true, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [] } } },
    });
    assert.equal(job.spec.completions, undefined);
    assert.deepEqual(job.spec.selector, { matchLabels: { a: 'b' } });
    assert.deepEqual(job.spec.template.metadata.labels, { a: 'b' });
  });

  it('defaults CronJob and its pod template only', () => {
    const cj = defaulted('batch', 'CronJob', {
      metadata: { name: 'c', namespace: 'd' },
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'OnFailure' } } } } },
    });
    assert.equal(cj.spec.concurrencyPolicy, 'Allow');
    assert.equal(cj.spec.suspend, false);
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cj.spec.failedJobsHistoryLimit, 1);
    assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined);
    assert.equal(cj.spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy, 'Always');
  });
});

describe('applyDefaults: other kinds', () => {
  it('Namespace gets its name label, finalizer and phase', () => {
    const ns = defaulted('', 'Namespace', { metadata: { name: 'team-a' } });
    assert.deepEqual(ns.metadata?.labels, { 'kubernetes.io/metadata.name': 'team-a' });
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
  });

  it('Secret becomes Opaque and stringData folds into data', () => {
    const s = defaulted('', 'Secret', { metadata: { name: 's', namespace: 'd' }, data: { a: 'eA==' }, stringData: { user: 'admin' } });
    assert.equal(s.type, 'Opaque');
    assert.deepEqual(s.data, { a: 'eA==', user: 'YWRtaW4=' });
    assert.equal(s.stringData, undefined);
  });

  it('PV, PVC, Node, LimitRange, EndpointSlice, PriorityClass, CRD', () => {
    const pv = defaulted('', 'PersistentVolume', { metadata: { name: 'pv' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } } });
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(pv.spec.volumeMode, 'Filesystem');
    assert.equal(pv.status.phase, 'Pending');
    const pvc = defaulted('', 'PersistentVolumeClaim', { metadata: { name: 'c', namespace: 'd' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    assert.equal(pvc.spec.volumeMode, 'Filesystem');
    assert.equal(pvc.status.phase, 'Pending');
    const node = defaulted('', 'Node', { metadata: { name: 'n' }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } });
    assert.deepEqual(node.status.allocatable, { cpu: '4', memory: '8Gi', pods: '110' });
    const lr = defaulted('', 'LimitRange', { metadata: { name: 'l', namespace: 'd' }, spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' } }] } });
    assert.deepEqual(lr.spec.limits[0].default, { cpu: '2' });
    assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '2', memory: '64Mi' });
    const es = defaulted('discovery.k8s.io', 'EndpointSlice', { metadata: { name: 'e', namespace: 'd' }, addressType: 'IPv4', endpoints: [], ports: [{ port: 80 }] });
    assert.deepEqual(es.ports, [{ port: 80, name: '', protocol: 'TCP' }]);
    const pc = defaulted('scheduling.k8s.io', 'PriorityClass', { metadata: { name: 'high' }, value: 1000 });
    assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');
    const crd = defaulted('apiextensions.k8s.io', 'CustomResourceDefinition', {
      metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true }] },
    });
    assert.deepEqual(crd.spec.names, { plural: 'widgets', kind: 'Widget', singular: 'widget', listKind: 'WidgetList' });
    assert.deepEqual(crd.spec.conversion, { strategy: 'None' });
    assert.deepEqual(crd.status, { storedVersions: ['v1'] });
  });

  it('is idempotent', () => {
    for (const [group, kind, obj] of [
      ['', 'Pod', { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'a', image: 'a', resources: { limits: { cpu: '1' } } }] } }],
      ['apps', 'Deployment', { metadata: { name: 'd', namespace: 'd' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'a' }] } } } }],
      ['batch', 'Job', { metadata: { name: 'j', namespace: 'd', uid: 'u' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'a' }] } } } }],
      ['', 'Service', { metadata: { name: 's', namespace: 'd' }, spec: { ports: [{ port: 1 }] } }],
    ] as [string, string, KubeObject][]) {
      const once = defaulted(group, kind, obj);
      assert.deepEqual(defaulted(group, kind, once), once, `${kind} defaults twice equal once`);
    }
  });
});
