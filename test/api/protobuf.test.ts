import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeKubernetesProtobuf, encodeKubernetesProtobuf } from '../../src/api/protobuf/index.ts';
import { allMessages, isScalar, isWellKnown, messageForKind } from '../../src/api/protobuf/schema.ts';
import { formatGoDuration, parseGoDuration } from '../../src/api/protobuf/wellknown.ts';
import type { KubeObject } from '../../src/api/types.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const roundTrip = (obj: KubeObject) => decodeKubernetesProtobuf(encodeKubernetesProtobuf(obj));

/** Appends one field to an object's raw message inside a body built by the encoder. */
function withExtraRawField(obj: KubeObject, field: Uint8Array): Uint8Array {
  const body = encodeKubernetesProtobuf(obj);
  // envelope: magic(4) 0a <len> typeMeta 12 <len> raw ... ; lengths here are single-byte varints
  const tmLen = body[5]!;
  const rawAt = 4 + 2 + tmLen;
  assert.equal(body[rawAt], 0x12);
  const rawLen = body[rawAt + 1]!;
  assert.ok(rawLen + field.length < 128, 'test object must stay small');
  return Uint8Array.from([
    ...body.subarray(0, rawAt + 1), rawLen + field.length,
    ...body.subarray(rawAt + 2, rawAt + 2 + rawLen), ...field, ...body.subarray(rawAt + 2 + rawLen),
  ]);
}

// Bodies captured from kubectl 1.32 (see protobuf-kubectl.test.ts for the live capture).
describe('bodies captured from kubectl', () => {
  test('create namespace shop', () => {
    const body = hex('6b3873000a0f0a02763112094e616d657370616365121c0a140a0473686f7012001a0022002a0032003800420012001a020a001a002200');
    assert.deepEqual(decodeKubernetesProtobuf(body), {
      apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {}, status: {},
    });
  });

  test('create secret generic s --from-literal=a=b: data is base64 as in JSON', () => {
    const body = hex('6b3873000a0c0a0276311206536563726574121d0a110a017312001a0022002a0032003800420012060a01611201621a001a002200');
    assert.deepEqual(decodeKubernetesProtobuf(body), {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'Yg==' },
    });
  });

  test('create quota q --hard=cpu=1,pods=2: quantities', () => {
    const body = hex('6b3873000a130a027631120d5265736f7572636551756f746112300a110a017112001a0022002a0032003800420012190a0a0a0363707512030a01310a0b0a04706f647312030a01321a001a002200');
    assert.deepEqual(decodeKubernetesProtobuf(body), {
      apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { cpu: '1', pods: '2' } }, status: {},
    });
  });

  test('create token sa --duration=1h: a TokenRequest in authentication.k8s.io/v1', () => {
    const body = hex('6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52657175657374121d0a100a0012001a0022002a00320038004200120320901c1a040a0012001a002200');
    assert.deepEqual(decodeKubernetesProtobuf(body), {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { expirationSeconds: 3600 }, status: { token: '' },
    });
  });
});

describe('special encodings', () => {
  test('Time is whole seconds in RFC 3339; MicroTime keeps microseconds', () => {
    const ns = roundTrip({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', creationTimestamp: '2026-11-21T10:00:00.75Z' } });
    assert.equal(ns.metadata?.creationTimestamp, '2026-11-21T10:00:00Z');
    const lease = roundTrip({
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' },
      spec: { holderIdentity: 'n1', renewTime: '2026-11-21T10:00:01.123456Z', leaseDurationSeconds: 40 },
    });
    assert.deepEqual(lease.spec, { holderIdentity: 'n1', renewTime: '2026-11-21T10:00:01.123456Z', leaseDurationSeconds: 40 });
  });

  test('a zero Time (empty message) is left out, like Go prints null', () => {
    // metadata { name: "a", creationTimestamp: <empty> }
    const body = withExtraRawField({ apiVersion: 'v1', kind: 'Namespace' }, hex('0a050a0161420 0'.replace(/ /g, '')));
    assert.deepEqual(decodeKubernetesProtobuf(body), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } });
  });

  test('IntOrString decodes to a number or a string; Quantity maps to strings', () => {
    const svc = roundTrip({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' },
      spec: { ports: [{ port: 80, targetPort: 8080 }, { name: 'h', port: 81, targetPort: 'http', protocol: 'TCP' }] },
    });
    assert.deepEqual(svc.spec.ports, [{ port: 80, targetPort: 8080 }, { name: 'h', port: 81, targetPort: 'http', protocol: 'TCP' }]);
    const pod = roundTrip({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: 1 } } }] },
    });
    assert.deepEqual(pod.spec.containers[0].resources, { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '1' } });
  });

  test('bytes: arbitrary binary data survives as base64', () => {
    const data = Buffer.from([0, 1, 2, 250, 255]).toString('base64');
    const cm = roundTrip({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData: { bin: data }, data: { k: 'v' } });
    assert.deepEqual(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData: { bin: data }, data: { k: 'v' } });
  });

  test('RawExtension carries JSON (ControllerRevision data)', () => {
    const data = { spec: { template: { metadata: { labels: { app: 'web' } } } } };
    const cr = roundTrip({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'r' }, data, revision: 2 });
    assert.deepEqual(cr, { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'r' }, data, revision: 2 });
  });

  test('pointers keep zero values; omitempty zeros are dropped; required scalars are filled in', () => {
    const dep = roundTrip({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
      spec: {
        replicas: 0, paused: false, // *int32 kept at 0; paused (omitempty bool) dropped
        template: { spec: { automountServiceAccountToken: false, containers: [{ name: 'c', ports: [{ hostPort: 0 }, { containerPort: 80 }] }] } },
      },
    });
    assert.equal(dep.spec.replicas, 0);
    assert.equal('paused' in dep.spec, false);
    assert.equal(dep.spec.template.spec.automountServiceAccountToken, false);
    // containerPort has no omitempty in Go, so JSON shows it even when the sender left it out
    assert.deepEqual(dep.spec.template.spec.containers[0].ports, [{ containerPort: 0 }, { containerPort: 80 }]);
  });

  test('inlined structs (Volume source, probe handler) appear in the parent object', () => {
    const spec = {
      volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'a', path: 'a.txt' }], defaultMode: 420 } }],
      containers: [{
        name: 'c', image: 'busybox', command: ['sleep', '10'],
        readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5, failureThreshold: 3 },
        lifecycle: { preStop: { sleep: { seconds: 2 } } },
        env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      }],
      activeDeadlineSeconds: 9007199254740991,
    };
    const pod = roundTrip({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });
    assert.deepEqual(pod.spec, spec);
  });

  test('named slices (UserInfo.extra values) are bare arrays', () => {
    const status = { authenticated: true, user: { username: 'u', groups: ['g'], extra: { scopes: ['a', 'b'], empty: [] } } };
    const tr = roundTrip({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token: 't' }, status });
    assert.deepEqual(tr.status, status);
  });

  test('Go duration strings', () => {
    assert.equal(formatGoDuration(0n), '0s');
    assert.equal(formatGoDuration(3600_000_000_000n), '1h0m0s');
    assert.equal(formatGoDuration(90_000_000_000n), '1m30s');
    assert.equal(formatGoDuration(1_500_000_000n), '1.5s');
    assert.equal(formatGoDuration(250_000_000n), '250ms');
    assert.equal(formatGoDuration(-2_000n), '-2µs');
    assert.equal(parseGoDuration('1h30m'), 5400_000_000_000n);
    assert.equal(parseGoDuration('1.5s'), 1_500_000_000n);
  });
});

describe('envelope and kinds', () => {
  const cases: KubeObject[] = [
    { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'p' }, value: 5, preemptionPolicy: 'Never' },
    { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'r' }, handler: 'runc' },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80 }] },
    { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'ev' }, eventTime: '2026-11-21T10:00:00.000001Z',
      reportingController: 'skiff', reportingInstance: 'i', action: 'Pull', reason: 'Pulled', type: 'Normal' },
    { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web' }, spec: { replicas: 3 }, status: { replicas: 1, selector: 'app=web' } },
    { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'ns' }, deleteOptions: { gracePeriodSeconds: 0, dryRun: ['All'] } },
    { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground', preconditions: { uid: 'u' } },
    { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' },
      spec: { schedule: '*/1 * * * *', jobTemplate: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c' }] } } } } } },
    { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } },
  ];
  for (const obj of cases) {
    test(`${obj.apiVersion} ${obj.kind} round-trips`, () => assert.deepEqual(roundTrip(obj), obj));
  }

  test('every kind Skiff decodes has a message, and every referenced type is known', () => {
    const kinds = [
      ['v1', 'Namespace'], ['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'ServiceAccount'], ['v1', 'Pod'],
      ['v1', 'Binding'], ['v1', 'Node'], ['v1', 'Endpoints'], ['v1', 'Event'], ['v1', 'PersistentVolume'],
      ['v1', 'PersistentVolumeClaim'], ['v1', 'ResourceQuota'], ['v1', 'LimitRange'], ['apps/v1', 'Deployment'],
      ['apps/v1', 'ReplicaSet'], ['apps/v1', 'StatefulSet'], ['apps/v1', 'DaemonSet'], ['apps/v1', 'ControllerRevision'],
      ['batch/v1', 'Job'], ['batch/v1', 'CronJob'], ['coordination.k8s.io/v1', 'Lease'], ['discovery.k8s.io/v1', 'EndpointSlice'],
      ['events.k8s.io/v1', 'Event'], ['scheduling.k8s.io/v1', 'PriorityClass'], ['node.k8s.io/v1', 'RuntimeClass'],
      ['policy/v1', 'Eviction'], ['autoscaling/v1', 'Scale'], ['authentication.k8s.io/v1', 'TokenRequest'],
      ['meta.k8s.io/v1', 'DeleteOptions'], ['apps/v1', 'DeleteOptions'],
    ];
    for (const [apiVersion, kind] of kinds) assert.ok(messageForKind(apiVersion!, kind!), `${apiVersion} ${kind}`);
    for (const [name, info] of allMessages()) {
      for (const f of info.fields) {
        assert.ok(isScalar(f.type) || isWellKnown(f.type) || allMessages().has(f.type), `${name}.${f.name}: unknown type ${f.type}`);
      }
    }
  });

  test('fields this server does not know are skipped', () => {
    // field 99 (varint 7) appended to a Namespace message
    const body = withExtraRawField({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, hex('98060 7'.replace(/ /g, '')));
    assert.deepEqual(decodeKubernetesProtobuf(body), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } });
  });
});

describe('bad input', () => {
  const ns = encodeKubernetesProtobuf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });

  test('a body without the k8s prefix', () => {
    assert.throws(() => decodeKubernetesProtobuf(new TextEncoder().encode('{"kind":"Namespace"}')), /prefix "k8s\\x00"/);
  });

  test('a truncated body', () => {
    assert.throws(() => decodeKubernetesProtobuf(ns.subarray(0, ns.length - 8)), /^Error: protobuf: (malformed|cannot decode)/);
  });

  test('a kind without a protobuf schema', () => {
    const body = encodeKubernetesProtobuf({ apiVersion: 'v1', kind: 'Namespace' });
    body[4 + 2 + 2 + 2 + 2] = 'X'.charCodeAt(0); // magic, typeMeta tag/len, apiVersion tag/len/'v1', kind tag/len: 'N' -> 'X'
    assert.throws(() => decodeKubernetesProtobuf(body), /no protobuf schema for v1, Kind=Xamespace; send it as application\/json/);
  });

  test('a field with the wrong wire type names its path', () => {
    // metadata (field 1) sent as a varint instead of a message
    const body = withExtraRawField({ apiVersion: 'v1', kind: 'Namespace' }, hex('0801'));
    assert.throws(() => decodeKubernetesProtobuf(body), /Kind=Namespace: metadata \(field 1, meta\.v1\.ObjectMeta\) has wire type 0, expected 2/);
  });

  test('a compressed envelope is refused', () => {
    const body = Uint8Array.from([...ns.subarray(0, ns.length - 4), 0x1a, 4, ...Buffer.from('gzip'), 0x22, 0]);
    assert.throws(() => decodeKubernetesProtobuf(body), /unsupported contentEncoding 'gzip'/);
  });

  test('the encoder rejects fields a message does not have', () => {
    assert.throws(() => encodeKubernetesProtobuf({ apiVersion: 'v1', kind: 'Namespace', spec: { bogus: 1 } }), /spec \(core\.v1\.NamespaceSpec\) has no field 'bogus'/);
  });
});
