// validateObject for workloads, config and cluster kinds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/types.ts';
import { cronScheduleError } from '../../src/api/validation/cron.ts';
import { DNS1123_LABEL_MSG, errors } from './validation-helpers.ts';

const container = { name: 'web', image: 'nginx:1.25' };

function deployment(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', ...meta },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } }, ...spec },
  };
}

describe('apps workloads', () => {
  it('accepts a valid deployment, statefulset, daemonset and replicaset', () => {
    assert.deepEqual(errors('apps', 'Deployment', deployment({ replicas: 3 })), []);
    const base = deployment().spec;
    assert.deepEqual(errors('apps', 'StatefulSet', { metadata: { name: 'db', namespace: 'd' }, spec: { ...base, serviceName: 'db' } }), []);
    assert.deepEqual(errors('apps', 'DaemonSet', { metadata: { name: 'agent', namespace: 'd' }, spec: base }), []);
    assert.deepEqual(errors('apps', 'ReplicaSet', { metadata: { name: 'rs', namespace: 'd' }, spec: base }), []);
  });

  it('selector must exist and match the template labels', () => {
    assert.deepEqual(errors('apps', 'Deployment', deployment({ selector: { matchLabels: { app: 'api' } } })),
      ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`']);
    assert.deepEqual(errors('apps', 'Deployment', deployment({ selector: undefined })), ['spec.selector: Required value']);
    assert.deepEqual(errors('apps', 'Deployment', deployment({ selector: {} })),
      ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment']);
  });

  it('selector is immutable', () => {
    const old = deployment({}, { resourceVersion: '7' });
    const next = deployment({ selector: { matchLabels: { app: 'web', tier: 'fe' } } }, { resourceVersion: '7' });
    next.spec.template.metadata.labels.tier = 'fe';
    assert.deepEqual(errors('apps', 'Deployment', next, old),
      ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']);
  });

  it('template restartPolicy must be Always, replicas non-negative, surge and unavailable not both 0', () => {
    const bad = deployment({ replicas: -1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } });
    bad.spec.template.spec.restartPolicy = 'Never';
    assert.deepEqual(errors('apps', 'Deployment', bad), [
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
    ]);
    assert.deepEqual(errors('apps', 'Deployment', deployment({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } })),
      ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]);
  });

  it('statefulset spec is immutable apart from the documented fields', () => {
    const old: KubeObject = { metadata: { name: 'db', namespace: 'd', resourceVersion: '1' }, spec: { ...deployment().spec, serviceName: 'db' } };
    const scaled = structuredClone(old);
    scaled.spec.replicas = 3;
    scaled.spec.template.spec.containers[0].image = 'nginx:1.26';
    assert.deepEqual(errors('apps', 'StatefulSet', scaled, old), []);
    const renamed = structuredClone(old);
    renamed.spec.serviceName = 'other';
    assert.deepEqual(errors('apps', 'StatefulSet', renamed, old),
      ["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]);
  });
});

describe('batch', () => {
  const job = (spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi', namespace: 'default', uid: 'a1b2' },
    spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl' }], restartPolicy: 'Never' } }, ...spec },
  });

  it('accepts a job and requires OnFailure or Never', () => {
    assert.deepEqual(errors('batch', 'Job', job()), []);
    const always = job();
    always.spec.template.spec.restartPolicy = 'Always';
    assert.deepEqual(errors('batch', 'Job', always), ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
    assert.deepEqual(errors('batch', 'Job', job({ completions: -1, parallelism: -2 })),
      ['spec.parallelism: Invalid value: -2: must be greater than or equal to 0', 'spec.completions: Invalid value: -1: must be greater than or equal to 0']);
  });

  it('template and selector are immutable', () => {
    const r = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: '2' } });
    const old = r(job());
    const stored = structuredClone(old);
    // What the server stored on create: the generated selector and labels.
    stored.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': 'a1b2' } };
    stored.spec.template.metadata = { labels: { 'batch.kubernetes.io/controller-uid': 'a1b2', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': 'a1b2', 'job-name': 'pi' } };
    const next = structuredClone(stored);
    next.spec.template.spec.containers[0].image = 'perl:5.36';
    assert.deepEqual(errors('batch', 'Job', next, stored), ['spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable']);
    const sel = structuredClone(stored);
    sel.spec.selector.matchLabels.extra = 'x';
    sel.spec.template.metadata.labels.extra = 'x';
    assert.match(errors('batch', 'Job', sel, stored).join('\n'), /^spec\.selector: Invalid value: v1\.LabelSelector\{.*\}: field is immutable$/m);
  });

  const cron = (schedule: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'hello', namespace: 'default' },
    spec: { schedule, ...extra, jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'OnFailure' } } } } },
  });

  it('validates cron schedules', () => {
    for (const ok of ['*/5 * * * *', '0 0 * * 0', '@hourly', '@daily', '0 9-17 * * mon-fri', '15 2 1 JAN,JUL ?', '0 0 1 */2 *']) {
      assert.deepEqual(errors('batch', 'CronJob', cron(ok)), [], ok);
    }
    assert.deepEqual(errors('batch', 'CronJob', cron('')), ['spec.schedule: Required value']);
    assert.deepEqual(errors('batch', 'CronJob', cron('* * * *')), ['spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]']);
    assert.deepEqual(errors('batch', 'CronJob', cron('60 * * * *')), ['spec.schedule: Invalid value: "60 * * * *": end of range (60) above maximum (59): 60']);
    assert.deepEqual(errors('batch', 'CronJob', cron('@fortnightly')), ['spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly']);
    assert.equal(cronScheduleError('x * * * *'), 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax');
  });

  it('rejects TZ in the schedule and unknown time zones', () => {
    assert.deepEqual(errors('batch', 'CronJob', cron('CRON_TZ=UTC 0 * * * *')),
      ['spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead']);
    assert.deepEqual(errors('batch', 'CronJob', cron('0 * * * *', { timeZone: 'Europe/Berlin' })), []);
    assert.deepEqual(errors('batch', 'CronJob', cron('0 * * * *', { timeZone: 'Mars/Olympus' })), ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']);
    assert.deepEqual(errors('batch', 'CronJob', cron('0 * * * *', { concurrencyPolicy: 'Never' })),
      ['spec.concurrencyPolicy: Unsupported value: "Never": supported values: "Allow", "Forbid", "Replace"']);
  });
});

describe('config', () => {
  const cm = (data: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', ...extra }, data });

  it('checks keys and size', () => {
    assert.deepEqual(errors('', 'ConfigMap', cm({ 'app.properties': 'a=b', KEY_1: 'x', '.env': 'y' })), []);
    assert.deepEqual(errors('', 'ConfigMap', cm({ 'bad key': 'x' })),
      ["data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]);
    assert.deepEqual(errors('', 'ConfigMap', cm({ big: 'x'.repeat(1024 * 1024 + 1) })), ['Too long: must have at most 1048576 bytes']);
  });

  it('immutable configmaps and secrets keep their data', () => {
    const old = { ...cm({ a: '1' }, { resourceVersion: '4' }), immutable: true };
    assert.deepEqual(errors('', 'ConfigMap', { ...old, data: { a: '2' } }, old), ['data: Forbidden: field is immutable when `immutable` is set']);
    const s = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'd', resourceVersion: '1' }, immutable: true, data: { a: 'MQ==' } };
    assert.deepEqual(errors('', 'Secret', { ...s, data: { a: 'Mg==' } }, s), ['data: Forbidden: field is immutable when `immutable` is set']);
    assert.deepEqual(errors('', 'Secret', { ...s, type: 'kubernetes.io/tls', immutable: undefined }, { ...s, immutable: undefined }),
      ['data[tls.key]: Required value', 'data[tls.crt]: Required value', 'type: Invalid value: "kubernetes.io/tls": field is immutable']);
  });

  it('secret data must be base64', () => {
    assert.deepEqual(errors('', 'Secret', { metadata: { name: 's', namespace: 'd' }, data: { password: 'hunter2!' } }),
      ['data[password]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 7']);
    assert.deepEqual(errors('', 'Secret', { metadata: { name: 's', namespace: 'd' }, stringData: { password: 'hunter2!' } }), []);
  });
});

describe('cluster kinds', () => {
  it('PriorityClass values and system names', () => {
    assert.deepEqual(errors('scheduling.k8s.io', 'PriorityClass', { metadata: { name: 'high' }, value: 1000000 }), []);
    assert.deepEqual(errors('scheduling.k8s.io', 'PriorityClass', { metadata: { name: 'huge' }, value: 1000000001 }),
      ['value: Forbidden: maximum allowed value of a user defined priority is 1000000000']);
    assert.deepEqual(errors('scheduling.k8s.io', 'PriorityClass', { metadata: { name: 'system-mine' }, value: 5 }),
      ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"]);
    const old = { metadata: { name: 'high', resourceVersion: '1' }, value: 1000 };
    assert.deepEqual(errors('scheduling.k8s.io', 'PriorityClass', { ...old, value: 2000 }, old), ['value: Forbidden: may not be changed in an update.']);
  });

  it('RuntimeClass handler is an immutable DNS label', () => {
    assert.deepEqual(errors('node.k8s.io', 'RuntimeClass', { metadata: { name: 'gvisor' }, handler: 'runsc' }), []);
    assert.deepEqual(errors('node.k8s.io', 'RuntimeClass', { metadata: { name: 'gvisor' }, handler: 'Run_SC' }), [`handler: Invalid value: "Run_SC": ${DNS1123_LABEL_MSG}`]);
    const old = { metadata: { name: 'gvisor', resourceVersion: '1' }, handler: 'runsc' };
    assert.deepEqual(errors('node.k8s.io', 'RuntimeClass', { ...old, handler: 'kata' }, old), ['handler: Invalid value: "kata": field is immutable']);
  });

  it('EndpointSlice addressType and addresses', () => {
    const es = { metadata: { name: 'web-abc', namespace: 'd' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ name: 'http', port: 80 }] };
    assert.deepEqual(errors('discovery.k8s.io', 'EndpointSlice', es), []);
    assert.deepEqual(errors('discovery.k8s.io', 'EndpointSlice', { ...es, addressType: 'IP', endpoints: [] }),
      ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"']);
    assert.deepEqual(errors('discovery.k8s.io', 'EndpointSlice', { ...es, endpoints: [{ addresses: ['fd00::1'] }] }),
      ['endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address']);
  });

  it('Lease, Namespace, Node, PVC and Event', () => {
    assert.deepEqual(errors('coordination.k8s.io', 'Lease', { metadata: { name: 'l', namespace: 'd' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 0 } }),
      ['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0']);
    assert.deepEqual(errors('', 'Namespace', { metadata: { name: 'ok' }, spec: { finalizers: ['custom'] } }),
      ['spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified']);
    assert.deepEqual(errors('', 'Node', { metadata: { name: 'n1' }, spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoRun' }] } }),
      ['spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"']);
    assert.deepEqual(errors('', 'PersistentVolumeClaim', { metadata: { name: 'c', namespace: 'd' }, spec: { resources: { requests: { storage: '1Gi' } } } }),
      ['spec.accessModes: Required value: at least 1 access mode is required']);
    assert.deepEqual(errors('', 'Event', { metadata: { name: 'e.1', namespace: 'a' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'b' }, reason: 'X' }),
      ['involvedObject.namespace: Invalid value: "b": does not match event.namespace']);
  });

  it('CustomResourceDefinition group, names, scope and versions', () => {
    const crd = (spec: Record<string, unknown>, name = 'widgets.example.com'): KubeObject => ({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name },
      spec: {
        group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }], ...spec,
      },
    });
    assert.deepEqual(errors('apiextensions.k8s.io', 'CustomResourceDefinition', crd({})), []);
    assert.deepEqual(errors('apiextensions.k8s.io', 'CustomResourceDefinition', crd({}, 'widget.example.com')),
      ['metadata.name: Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group']);
    assert.deepEqual(errors('apiextensions.k8s.io', 'CustomResourceDefinition', crd({ scope: 'Global' })),
      ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']);
    const two = crd({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: {} } }, { name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: {} } }] });
    assert.match(errors('apiextensions.k8s.io', 'CustomResourceDefinition', two)[0], /^spec\.versions: Invalid value: .*: must have exactly one version marked as storage version$/);
    assert.deepEqual(errors('apiextensions.k8s.io', 'CustomResourceDefinition', crd({ group: 'example' }, 'widgets.example')),
      ['spec.group: Invalid value: "example": should be a domain with at least one dot']);
  });
});
