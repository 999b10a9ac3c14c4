// validateObject for metadata, pods and services: valid manifests pass; each common mistake
// gets the field path and message a real kube-apiserver gives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuantity } from '../../src/api/validation/index.ts';
import { causes, DNS1035_LABEL_MSG, DNS1123_LABEL_MSG, DNS1123_SUBDOMAIN_MSG, errors, pod } from './validation-helpers.ts';

const nginx = { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] };

describe('parseQuantity', () => {
  it('parses Kubernetes quantities', () => {
    assert.equal(parseQuantity('100m'), 0.1);
    assert.equal(parseQuantity('1Gi'), 1024 ** 3);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('0.5'), 0.5);
    assert.equal(parseQuantity('128974848'), 128974848);
    assert.equal(parseQuantity('129M'), 129e6);
    assert.equal(parseQuantity('-2k'), -2000);
    assert.equal(parseQuantity(3), 3);
    for (const bad of ['', '1KB', 'abc', '1.2.3', '1 Gi', 'Gi', '1e']) assert.equal(parseQuantity(bad), undefined, bad);
  });
});

describe('metadata', () => {
  it('accepts a valid pod', () => {
    assert.deepEqual(errors('', 'Pod', pod(nginx, { labels: { app: 'web', 'app.kubernetes.io/name': 'web' }, annotations: { 'Example.com/Note': 'x' } })), []);
  });

  it('requires a name unless generateName is given', () => {
    assert.deepEqual(errors('', 'Pod', pod(nginx, { name: undefined })), ['metadata.name: Required value: name or generateName is required']);
    assert.deepEqual(errors('', 'Pod', pod(nginx, { name: undefined, generateName: 'web-' })), []);
  });

  it('names are DNS-1123 subdomains for most kinds', () => {
    assert.deepEqual(errors('', 'Pod', pod(nginx, { name: 'Foo_bar' })), [`metadata.name: Invalid value: "Foo_bar": ${DNS1123_SUBDOMAIN_MSG}`]);
    assert.deepEqual(errors('', 'ConfigMap', { metadata: { name: 'my.config', namespace: 'default' } }), []);
    assert.match(errors('', 'ConfigMap', { metadata: { name: 'x'.repeat(254), namespace: 'default' } })[0], /must be no more than 253 characters$/);
  });

  it('namespaces are DNS-1123 labels and services DNS-1035 labels', () => {
    assert.deepEqual(errors('', 'Namespace', { metadata: { name: 'team.a' } }), ['metadata.name: Invalid value: "team.a": must not contain dots']);
    assert.deepEqual(errors('', 'Namespace', { metadata: { name: 'Team' } }), [`metadata.name: Invalid value: "Team": ${DNS1123_LABEL_MSG}`]);
    const svc = { metadata: { name: '1web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } };
    assert.deepEqual(errors('', 'Service', svc), [`metadata.name: Invalid value: "1web": ${DNS1035_LABEL_MSG}`]);
  });

  it('namespace is required for namespaced kinds and forbidden for cluster-scoped ones', () => {
    assert.deepEqual(errors('', 'Pod', pod(nginx, { namespace: undefined })), ['metadata.namespace: Required value']);
    assert.deepEqual(errors('', 'Node', { metadata: { name: 'n1', namespace: 'default' } }), ['metadata.namespace: Forbidden: not allowed on this type']);
  });

  it('checks label keys and values and annotation size', () => {
    const e = errors('', 'Pod', pod(nginx, { labels: { 'bad key': 'ok', app: 'bad value!', long: 'x'.repeat(64) } }));
    assert.deepEqual(e, [
      `metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      `metadata.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      `metadata.labels: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`,
    ]);
    assert.deepEqual(errors('', 'Pod', pod(nginx, { annotations: { big: 'x'.repeat(256 * 1024) } })), ['metadata.annotations: Too long: must have at most 262144 bytes']);
  });

  it('name and namespace are immutable on update', () => {
    const old = { metadata: { name: 'a', namespace: 'default', resourceVersion: '1' }, data: {} };
    assert.deepEqual(errors('', 'ConfigMap', { ...old, metadata: { ...old.metadata, name: 'b' } }, old), ['metadata.name: Invalid value: "b": field is immutable']);
  });
});

describe('pod spec', () => {
  it('requires containers and images', () => {
    assert.deepEqual(errors('', 'Pod', pod({ containers: [] })), ['spec.containers: Required value']);
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'app' }] })), ['spec.containers[0].image: Required value']);
  });

  it('container names are unique DNS labels', () => {
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'App', image: 'a' }] })), [`spec.containers[0].name: Invalid value: "App": ${DNS1123_LABEL_MSG}`]);
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'a', image: 'a' }, { name: 'a', image: 'b' }] })), ['spec.containers[1].name: Duplicate value: "a"']);
  });

  it('checks ports', () => {
    const e = errors('', 'Pod', pod({
      containers: [{ name: 'a', image: 'a', ports: [{ containerPort: 70000 }, { containerPort: 80, name: 'http', protocol: 'HTTP' }, { containerPort: 81, name: 'http' }, { containerPort: 82, name: 'HTTP_PORT' }] }],
    }));
    assert.deepEqual(e, [
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[2].name: Duplicate value: "http"',
      'spec.containers[0].ports[3].name: Invalid value: "HTTP_PORT": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[3].name: Invalid value: "HTTP_PORT": must contain at least one letter (a-z)',
    ]);
  });

  it('checks policies', () => {
    assert.deepEqual(errors('', 'Pod', pod({ ...nginx, restartPolicy: 'Sometimes' })), ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']);
    assert.deepEqual(errors('', 'Pod', pod({ ...nginx, dnsPolicy: 'Google' })), ['spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"']);
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'a', image: 'a', imagePullPolicy: 'Sometimes' }] })),
      ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"']);
  });

  it('requests must not exceed limits and quantities must parse', () => {
    const e = errors('', 'Pod', pod({ containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '2', memory: '1KB' }, limits: { cpu: '1000m' } } }] }));
    assert.deepEqual(e.sort(), [
      'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
      'spec.containers[0].resources.requests[memory]: Invalid value: "1KB": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
    ]);
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'a', image: 'a', resources: { requests: { cpu: '-1' } } }] })),
      ['spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0']);
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'a', image: 'a', resources: { limits: { gpu: '1' } } }] })),
      ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers',
        'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers']);
  });

  it('volumes are unique, have one source, and mounts refer to them', () => {
    const e = errors('', 'Pod', pod({
      containers: [{ name: 'a', image: 'a', volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'cfg', mountPath: '/data' }] }],
      volumes: [{ name: 'cfg', configMap: { name: 'c' }, secret: { secretName: 's' } }, { name: 'x', emptyDir: {} }, { name: 'x', emptyDir: {} }],
    }));
    assert.deepEqual(e, [
      'spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type',
      'spec.volumes[2].name: Duplicate value: "x"',
      'spec.containers[0].volumeMounts[0].name: Not found: "data"',
      'spec.containers[0].volumeMounts[1].name: Not found: "cfg"',
      'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique',
    ]);
  });

  it('env names and sources', () => {
    const e = errors('', 'Pod', pod({
      containers: [{ name: 'a', image: 'a', env: [{ name: 'A=B', value: 'x' }, { name: 'B', valueFrom: {} }, { name: 'C', value: 'v', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }] }],
    }));
    assert.deepEqual(e, [
      "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
      'spec.containers[0].env[1].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
      'spec.containers[0].env[2].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    ]);
    assert.deepEqual(errors('', 'Pod', pod({ containers: [{ name: 'a', image: 'a', env: [{ name: 'my.var-1', value: '' }] }] })), []);
  });

  it('probes need one handler and non-negative timings', () => {
    const e = errors('', 'Pod', pod({
      containers: [{ name: 'a', image: 'a', livenessProbe: { periodSeconds: -1 }, readinessProbe: { httpGet: { port: 'web-http-port-long' }, exec: { command: ['true'] } } }],
    }));
    assert.deepEqual(e, [
      'spec.containers[0].livenessProbe: Required value: must specify a handler type',
      'spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0',
      'spec.containers[0].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type',
    ]);
  });

  it('tolerations', () => {
    assert.deepEqual(errors('', 'Pod', pod({ ...nginx, tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }, { operator: 'Equal' }] })), [
      "spec.tolerations[0].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
      'spec.tolerations[1].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    ]);
  });
});

describe('pod update', () => {
  const old = pod({ containers: [{ name: 'a', image: 'nginx:1.24', ports: [{ containerPort: 80 }] }] }, { resourceVersion: '5' });

  it('allows image, labels, activeDeadlineSeconds and added tolerations', () => {
    const next = structuredClone(old);
    next.spec.containers[0].image = 'nginx:1.25';
    next.spec.activeDeadlineSeconds = 60;
    next.metadata!.labels = { tier: 'web' };
    assert.deepEqual(causes('', 'Pod', next, old), []);
    const tol = structuredClone(old);
    tol.spec.tolerations = [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }];
    assert.deepEqual(causes('', 'Pod', tol, old), []);
    const removed = structuredClone(tol);
    removed.spec.tolerations = [];
    assert.deepEqual(errors('', 'Pod', removed, tol), ['spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds']);
  });

  it('forbids any other change with the Kubernetes message', () => {
    const next = structuredClone(old);
    next.spec.containers[0].ports[0].containerPort = 8080;
    const cs = causes('', 'Pod', next, old);
    assert.equal(cs.length, 1);
    assert.equal(cs[0].field, 'spec');
    assert.equal(cs[0].reason, 'FieldValueForbidden');
    assert.ok(cs[0].message.startsWith('Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n'), cs[0].message);
    assert.match(cs[0].message, /containerPort/);
  });

  it('forbids adding containers and raising activeDeadlineSeconds', () => {
    const more = structuredClone(old);
    more.spec.containers.push({ name: 'b', image: 'b' });
    assert.deepEqual(errors('', 'Pod', more, old), ['spec.containers: Forbidden: pod updates may not add or remove containers']);
    const o2 = structuredClone(old);
    o2.spec.activeDeadlineSeconds = 30;
    const n2 = structuredClone(o2);
    n2.spec.activeDeadlineSeconds = 60;
    assert.deepEqual(errors('', 'Pod', n2, o2), ['spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value']);
  });
});

describe('service', () => {
  const svc = (spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec });

  it('accepts common services', () => {
    assert.deepEqual(errors('', 'Service', svc({ selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })), []);
    assert.deepEqual(errors('', 'Service', svc({ clusterIP: 'None', selector: { app: 'db' } })), []);
    assert.deepEqual(errors('', 'Service', svc({ type: 'ExternalName', externalName: 'db.example.com' })), []);
    assert.deepEqual(errors('', 'Service', svc({ type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, targetPort: 'https' }] })), []);
  });

  it('reports the usual mistakes', () => {
    assert.deepEqual(errors('', 'Service', svc({ selector: { app: 'web' } })), ['spec.ports: Required value']);
    assert.deepEqual(errors('', 'Service', svc({ ports: [{ port: 80 }, { port: 443 }] })), ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value']);
    assert.deepEqual(errors('', 'Service', svc({ ports: [{ port: 0 }] })), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
    assert.deepEqual(errors('', 'Service', svc({ type: 'Internal', ports: [{ port: 80 }] })),
      ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"']);
    assert.deepEqual(errors('', 'Service', svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] })),
      ['spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767']);
    assert.deepEqual(errors('', 'Service', svc({ ports: [{ port: 80, nodePort: 30080 }] })), ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
    assert.ok(errors('', 'Service', svc({ selector: { app: 'we b' }, ports: [{ port: 80 }] }))[0].startsWith('spec.selector: Invalid value: "we b": a valid label must be'));
  });

  it('clusterIP may not change once set', () => {
    const old = { ...svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80 }] }), metadata: { name: 'web', namespace: 'default', resourceVersion: '3' } };
    const next = structuredClone(old);
    next.spec.clusterIP = 'None';
    next.spec.clusterIPs = ['None'];
    assert.deepEqual(errors('', 'Service', next, old), ['spec.clusterIPs[0]: Invalid value: []string{"None"}: may not change once set']);
  });
});
