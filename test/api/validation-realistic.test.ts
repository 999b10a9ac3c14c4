// Realistic manifests, as found in charts and tutorials, validate cleanly after defaulting.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from './validation-helpers.ts';

it('realistic Deployment, StatefulSet and Services produce no causes', () => {
  const d = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'prod', labels: { 'app.kubernetes.io/name': 'api' }, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: { metadata: { labels: { app: 'api', tier: 'backend' }, annotations: { 'prometheus.io/scrape': 'true' } },
        spec: {
          serviceAccountName: 'api', nodeSelector: { 'kubernetes.io/os': 'linux' },
          affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'api' } } } }] } },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'api', effect: 'NoSchedule' }],
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'api' } } }],
          securityContext: { runAsNonRoot: true, fsGroup: 2000 },
          initContainers: [{ name: 'migrate', image: 'ghcr.io/acme/api:1.2.3', command: ['./migrate'], envFrom: [{ secretRef: { name: 'db' } }] },
            { name: 'proxy', image: 'envoyproxy/envoy:v1.30', restartPolicy: 'Always', readinessProbe: { tcpSocket: { port: 9901 } } }],
          containers: [{ name: 'api', image: 'ghcr.io/acme/api:1.2.3@sha256:abcd', args: ['--port=8080'],
            ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
              { name: 'DB_PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }, { name: 'LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }],
            resources: { requests: { cpu: '250m', memory: '256Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: 1, memory: '512Mi', 'nvidia.com/gpu': 1 } },
            livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 10 },
            readinessProbe: { httpGet: { path: '/ready', port: 8080, httpHeaders: [{ name: 'X-Probe', value: '1' }] } },
            startupProbe: { exec: { command: ['cat', '/tmp/ok'] }, failureThreshold: 30 },
            lifecycle: { preStop: { sleep: { seconds: 5 } } },
            volumeMounts: [{ name: 'config', mountPath: '/etc/api', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }, { name: 'token', mountPath: '/var/run/token' }, { name: 'data', mountPath: '/data', subPath: 'api' }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
          volumes: [{ name: 'config', configMap: { name: 'api-config', items: [{ key: 'config.yaml', path: 'config.yaml' }] } }, { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
            { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600, audience: 'vault' } }, { configMap: { name: 'kube-root-ca.crt' } }] } },
            { name: 'data', persistentVolumeClaim: { claimName: 'api-data' } }],
          imagePullSecrets: [{ name: 'ghcr' }],
        } } } };
  assert.deepEqual(errors('apps', 'Deployment', d), []);
  const sts = { metadata: { name: 'pg', namespace: 'db' }, spec: { serviceName: 'pg', replicas: 3, podManagementPolicy: 'Parallel', selector: { matchLabels: { app: 'pg' } },
    template: { metadata: { labels: { app: 'pg' } }, spec: { containers: [{ name: 'pg', image: 'postgres:16', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }] }] } },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '10Gi' } } } }] } };
  assert.deepEqual(errors('apps', 'StatefulSet', sts), [], 'mounts may name volumeClaimTemplates');
  const svc = { metadata: { name: 'pg', namespace: 'db' }, spec: { clusterIP: 'None', selector: { app: 'pg' }, ports: [{ name: 'pg', port: 5432, appProtocol: 'postgresql' }] } };
  assert.deepEqual(errors('', 'Service', svc), []);
  const lb = { metadata: { name: 'ingress', namespace: 'ing' }, spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'https', port: 443, targetPort: 8443 }] } };
  assert.deepEqual(errors('', 'Service', lb), []);
});
