// Container environments (src/agent/env.ts) as kubelet computes them, against a real `skiff server`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import { containerEnv, expandVars } from '../../src/agent/env.ts';
import { type Cluster, NODE, startCluster } from './volumes-fixtures.ts';

describe('container env', () => {
  let c: Cluster;
  const envOf = async (pod: Pod, container: Container = pod.spec!.containers[0], warnings?: string[]) =>
    containerEnv(container, { client: c.client, nodeName: NODE, pod, onWarning: warnings ? (r, m) => warnings.push(`${r}: ${m}`) : undefined });
  const asObject = (env: { key: string; value: string }[]) => Object.fromEntries(env.map((e) => [e.key, e.value]));
  let kubernetesIP = '';

  before(async () => {
    c = await startCluster();
    kubernetesIP = (await c.s.k(['get', 'svc', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    await c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' },
      data: { LOG_LEVEL: 'debug', '2ALSO': 'skipped', '1DIGIT': 'skipped', 'dotted.name': 'ok', GREETING: 'hello' } });
    await c.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' },
      data: { PASSWORD: Buffer.from('s3cr3t').toString('base64'), USER: Buffer.from('admin').toString('base64') } });
  });
  after(async () => {
    await c?.cleanup();
  });

  it('expands $(VAR) as Kubernetes does', () => {
    const vars = new Map([['A', 'x'], ['EMPTY', '']]);
    const lookup = (n: string) => vars.get(n);
    assert.equal(expandVars('$(A)-$(A)', lookup), 'x-x');
    assert.equal(expandVars('$(MISSING)', lookup), '$(MISSING)');
    assert.equal(expandVars('$$(A)', lookup), '$(A)');
    assert.equal(expandVars('$$$(A)', lookup), '$x');
    assert.equal(expandVars('cost: $5 $', lookup), 'cost: $5 $');
    assert.equal(expandVars('$(A', lookup), '$(A');
    assert.equal(expandVars('[$(EMPTY)]', lookup), '[]');
  });

  it('keeps env order, expands from earlier variables, envFrom and services, and env wins over envFrom', async () => {
    const pod = await c.pod('order', { containers: [{ name: 'c', image: 'skiff.local/busybox:latest',
      envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }, { secretRef: { name: 'creds' } }, { configMapRef: { name: 'settings' } }],
      env: [
        { name: 'FIRST', value: 'one' },
        { name: 'SECOND', value: '$(FIRST)-two' },
        { name: 'LATER_REF', value: '$(THIRD)' },
        { name: 'THIRD', value: 'three' },
        { name: 'ESCAPED', value: '$$(FIRST)' },
        { name: 'FROM_CFG', value: '$(CFG_GREETING) $(USER)' },
        { name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)' },
        { name: 'LOG_LEVEL', value: 'info' },
      ] }] });
    const warnings: string[] = [];
    const env = await envOf(pod, undefined, warnings);
    const o = asObject(env);
    assert.equal(o.SECOND, 'one-two');
    assert.equal(o.LATER_REF, '$(THIRD)', 'only variables defined before are expanded');
    assert.equal(o.ESCAPED, '$(FIRST)');
    assert.equal(o.FROM_CFG, 'hello admin');
    assert.equal(o.API, `https://${kubernetesIP}:443`);
    assert.equal(o.LOG_LEVEL, 'info', 'env overrides envFrom');
    assert.equal(o.CFG_LOG_LEVEL, 'debug');
    assert.equal(o['CFG_dotted.name'], 'ok');
    assert.equal(o.PASSWORD, 's3cr3t');
    assert.equal(o['2ALSO'], undefined);
    assert.equal(o.CFG_1DIGIT, 'skipped', 'with a prefix the key is a valid name');
    assert.equal(o['1DIGIT'], undefined);
    const keys = env.map((e) => e.key);
    assert.ok(keys.indexOf('FIRST') < keys.indexOf('SECOND') && keys.indexOf('SECOND') < keys.indexOf('THIRD'), 'declared order');
    assert.ok(keys.indexOf('KUBERNETES_SERVICE_HOST') > keys.indexOf('THIRD'), 'service variables come last');
    assert.deepEqual(warnings, [
      'InvalidEnvironmentVariableNames: Keys [1DIGIT, 2ALSO] from the EnvFrom configMap default/settings were skipped since they are considered invalid environment variable names.',
    ]);
    assert.equal(new Set(keys).size, keys.length, 'no duplicates');
  });

  it('valueFrom: fieldRef, resourceFieldRef (node allocatable for unset limits), configMapKeyRef and secretKeyRef', async () => {
    const pod = await c.pod('fields', { serviceAccountName: 'default', nodeName: NODE, containers: [
      { name: 'main', image: 'skiff.local/busybox:latest', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } }, env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'OWNER', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['owner']" } } },
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'HOST_IPS', valueFrom: { fieldRef: { fieldPath: 'status.hostIPs' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'POD_IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
        { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
        { name: 'MEM_LIMIT_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'CPU_LIMIT_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'CPU_REQUEST', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        { name: 'CPU_REQUEST_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'STORAGE_LIMIT_GI', valueFrom: { resourceFieldRef: { resource: 'limits.ephemeral-storage', divisor: '1Gi' } } },
        { name: 'SIDECAR_MEM', valueFrom: { resourceFieldRef: { containerName: 'side', resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LOG_LEVEL' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
        { name: 'OPT_MISSING_CM', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
        { name: 'OPT_MISSING_KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope', optional: true } } },
        { name: 'NOT_EXPANDED', valueFrom: { configMapKeyRef: { name: 'settings', key: 'GREETING' } } },
      ] },
      { name: 'side', image: 'skiff.local/busybox:latest', resources: { limits: { memory: '32Mi' } } },
    ] }, { labels: { app: 'web' }, annotations: { owner: 'team-a' } });
    const running: Pod = { ...pod, status: { ...pod.status, podIP: '10.244.0.7', podIPs: [{ ip: '10.244.0.7' }, { ip: 'fd00::7' }] } };
    const o = asObject(await envOf(running));
    assert.equal(o.POD_NAME, 'fields');
    assert.equal(o.POD_NAMESPACE, 'default');
    assert.equal(o.POD_UID, pod.metadata!.uid);
    assert.equal(o.APP, 'web');
    assert.equal(o.OWNER, 'team-a');
    assert.equal(o.NODE_NAME, NODE);
    assert.equal(o.SA, 'default');
    assert.equal(o.HOST_IP, '127.0.0.1', 'from the node before the pod status has it');
    assert.equal(o.HOST_IPS, '127.0.0.1');
    assert.equal(o.POD_IP, '10.244.0.7');
    assert.equal(o.POD_IPS, '10.244.0.7,fd00::7');
    assert.equal(o.MEM_LIMIT, String(128 * 1024 * 1024));
    assert.equal(o.MEM_LIMIT_MI, '128');
    assert.equal(o.CPU_LIMIT, '4', 'no limit: allocatable 3500m rounds up to 4 cores');
    assert.equal(o.CPU_LIMIT_M, '3500');
    assert.equal(o.CPU_REQUEST, '1', '250m rounds up to one core');
    assert.equal(o.CPU_REQUEST_M, '250');
    assert.equal(o.STORAGE_LIMIT_GI, '90');
    assert.equal(o.SIDECAR_MEM, '32');
    assert.equal(o.LEVEL, 'debug');
    assert.equal(o.PASS, 's3cr3t');
    assert.equal('OPT_MISSING_CM' in o, false, 'an optional reference that is missing sets nothing');
    assert.equal('OPT_MISSING_KEY' in o, false);
    assert.equal(o.NOT_EXPANDED, 'hello');
    const withStatus: Pod = { ...running, status: { ...running.status, hostIP: '192.0.2.1', hostIPs: [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }] } };
    const o2 = asObject(await envOf(withStatus));
    assert.equal(o2.HOST_IP, '192.0.2.1');
    assert.equal(o2.HOST_IPS, '192.0.2.1,2001:db8::1');
  });

  it('fails with kubelet\'s messages for missing sources; optional envFrom is skipped', async () => {
    const cases: [Container['env'], Container['envFrom'], string][] = [
      [[{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }], undefined, 'configmap "nope" not found'],
      [[{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'absent' } } }], undefined, "couldn't find key absent in ConfigMap default/settings"],
      [[{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }], undefined, 'secret "nope" not found'],
      [[{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'absent' } } }], undefined, "couldn't find key absent in Secret default/creds"],
      [undefined, [{ configMapRef: { name: 'nope' } }], 'configmap "nope" not found'],
      [undefined, [{ secretRef: { name: 'nope' } }], 'secret "nope" not found'],
      [[{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.containers' } } }], undefined, 'unsupported fieldPath: spec.containers'],
    ];
    const pod = await c.pod('errors', {});
    for (const [env, envFrom, message] of cases) {
      await assert.rejects(envOf(pod, { name: 'c', image: 'x', env, envFrom }), { message });
    }
    const o = asObject(await envOf(pod, { name: 'c', image: 'x', envFrom: [{ configMapRef: { name: 'nope', optional: true } }, { secretRef: { name: 'nope', optional: true } }],
      env: [{ name: 'A', value: 'a' }] }));
    assert.equal(o.A, 'a');
  });

  it('service links: the namespace\'s services unless enableServiceLinks is false; the API server\'s always', async () => {
    await c.s.k(['create', 'namespace', 'shop']);
    await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'redis-primary', namespace: 'shop' },
      spec: { ports: [{ name: 'redis', port: 6379 }, { name: 'metrics', port: 9121, protocol: 'TCP' }], selector: { app: 'redis' } } });
    await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless', namespace: 'shop' },
      spec: { clusterIP: 'None', ports: [{ port: 80 }], selector: { app: 'x' } } });
    await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'elsewhere', namespace: 'default' },
      spec: { ports: [{ port: 80 }], selector: { app: 'x' } } });
    const ip = (await c.s.k(['get', 'svc', 'redis-primary', '-n', 'shop', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const pod = await c.pod('links', {}, { namespace: 'shop' });
    const o = asObject(await envOf(pod));
    assert.equal(o.REDIS_PRIMARY_SERVICE_HOST, ip);
    assert.equal(o.REDIS_PRIMARY_SERVICE_PORT, '6379');
    assert.equal(o.REDIS_PRIMARY_SERVICE_PORT_REDIS, '6379');
    assert.equal(o.REDIS_PRIMARY_SERVICE_PORT_METRICS, '9121');
    assert.equal(o.REDIS_PRIMARY_PORT, `tcp://${ip}:6379`);
    assert.equal(o.REDIS_PRIMARY_PORT_6379_TCP, `tcp://${ip}:6379`);
    assert.equal(o.REDIS_PRIMARY_PORT_6379_TCP_PROTO, 'tcp');
    assert.equal(o.REDIS_PRIMARY_PORT_6379_TCP_PORT, '6379');
    assert.equal(o.REDIS_PRIMARY_PORT_6379_TCP_ADDR, ip);
    assert.equal(o.REDIS_PRIMARY_PORT_9121_TCP, `tcp://${ip}:9121`);
    assert.equal(o.HEADLESS_SERVICE_HOST, undefined, 'headless services have no variables');
    assert.equal(o.ELSEWHERE_SERVICE_HOST, undefined, 'only the pod\'s namespace');
    assert.equal(o.KUBERNETES_SERVICE_HOST, kubernetesIP);
    assert.equal(o.KUBERNETES_SERVICE_PORT, '443');
    assert.equal(o.KUBERNETES_SERVICE_PORT_HTTPS, '443');
    assert.equal(o.KUBERNETES_PORT, `tcp://${kubernetesIP}:443`);

    const off = await c.pod('nolinks', { enableServiceLinks: false }, { namespace: 'shop' });
    const o2 = asObject(await envOf(off));
    assert.equal(o2.REDIS_PRIMARY_SERVICE_HOST, undefined);
    assert.equal(o2.KUBERNETES_SERVICE_HOST, kubernetesIP);
    assert.equal(o2.KUBERNETES_PORT_443_TCP_ADDR, kubernetesIP);
    const offDefault = await c.pod('nolinks', { enableServiceLinks: false });
    const o3 = asObject(await envOf(offDefault));
    assert.equal(o3.ELSEWHERE_SERVICE_HOST, undefined);
    assert.equal(o3.KUBERNETES_SERVICE_HOST, kubernetesIP);
    // A variable the container sets itself wins over a service variable.
    const own = asObject(await envOf(pod, { name: 'c', image: 'x', env: [{ name: 'REDIS_PRIMARY_SERVICE_HOST', value: 'redis.local' }] }));
    assert.equal(own.REDIS_PRIMARY_SERVICE_HOST, 'redis.local');
  });
});
