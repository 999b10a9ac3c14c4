import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RESOURCES } from '../../src/api/kinds.ts';
import type { ResourceInfo } from '../../src/api/types.ts';
import {
  SelectorError, checkFieldSelector, fieldSelectorString, fieldsOf, matchesFields, parseFieldSelector,
} from '../../src/api/selectors/index.ts';

const resource = (group: string, plural: string): ResourceInfo => {
  const r = BUILTIN_RESOURCES.find((x) => x.group === group && x.plural === plural);
  assert.ok(r, `${group}/${plural} is served`);
  return r;
};
const pods = resource('', 'pods');

const pod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'shop' },
  spec: { nodeName: 'node-1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', containers: [] },
  status: { phase: 'Running', podIP: '10.0.0.7', podIPs: [{ ip: '10.0.0.7' }] },
};

/** What a List with ?fieldSelector= would do: parse, check against the kind, match. */
function selects(r: ResourceInfo, selector: string, obj: object): boolean {
  const sel = checkFieldSelector(r, parseFieldSelector(selector));
  return matchesFields(sel, fieldsOf(r, obj));
}

function rejection(r: ResourceInfo, selector: string): string {
  try {
    checkFieldSelector(r, parseFieldSelector(selector));
  } catch (e) {
    assert.ok(e instanceof SelectorError);
    assert.equal(e.code, 400);
    return e.message;
  }
  assert.fail(`expected ${selector} to be rejected`);
}

describe('parseFieldSelector', () => {
  it('supports =, == and != joined by commas', () => {
    assert.equal(selects(pods, 'status.phase=Running', pod), true);
    assert.equal(selects(pods, 'status.phase==Running', pod), true);
    assert.equal(selects(pods, 'status.phase!=Running', pod), false);
    assert.equal(selects(pods, 'status.phase!=Pending,spec.nodeName=node-1', pod), true);
    assert.equal(selects(pods, 'status.phase=Running,spec.nodeName=node-2', pod), false);
  });

  it('an empty value matches a field the object does not set', () => {
    const unscheduled = { ...pod, spec: { containers: [] } };
    assert.equal(selects(pods, 'spec.nodeName=', unscheduled), true);
    assert.equal(selects(pods, 'spec.nodeName=', pod), false);
  });

  it('unescapes \\, \\= and \\\\ in values', () => {
    const sel = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    assert.deepEqual(sel.requirements, [{ field: 'metadata.name', operator: '=', value: 'a,b=c\\d' }]);
    assert.equal(fieldSelectorString(sel), 'metadata.name=a\\,b\\=c\\\\d');
  });

  it('reports malformed terms and escapes as Kubernetes does', () => {
    assert.throws(() => parseFieldSelector('status.phase'), { message: "invalid selector: 'status.phase'; can't understand 'status.phase'" });
    assert.throws(() => parseFieldSelector('metadata.name=a\\b'), { message: 'invalid field selector: invalid escape sequence: \\b' });
    assert.throws(() => parseFieldSelector('metadata.name=a=b'), { message: 'invalid field selector: unescaped character in value: 61' });
  });
});

describe('field labels per kind', () => {
  it('pods: every supported label, and spec.host as an alias of spec.nodeName', () => {
    const fields = fieldsOf(pods, pod);
    assert.deepEqual(fields, {
      'metadata.name': 'web-0', 'metadata.namespace': 'shop', 'spec.nodeName': 'node-1', 'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler', 'spec.serviceAccountName': 'default', 'spec.hostNetwork': 'false',
      'status.phase': 'Running', 'status.podIP': '10.0.0.7', 'status.nominatedNodeName': '', 'spec.host': 'node-1',
    });
    assert.equal(selects(pods, 'spec.host=node-1', pod), true);
    assert.equal(selects(pods, 'spec.hostNetwork=false,metadata.namespace=shop', pod), true);
  });

  it('pods: an unsupported label is a 400 with Kubernetes wording', () => {
    assert.equal(rejection(pods, 'foo=bar'), 'field label not supported: foo');
    assert.equal(rejection(pods, 'spec.containers.image=nginx'), 'field label not supported: spec.containers.image');
  });

  it('matchesFields rejects a label the fields do not include, in the kind\'s wording', () => {
    const sel = parseFieldSelector('foo=bar');
    assert.throws(() => matchesFields(sel, fieldsOf(pods, { metadata: {} })), { name: 'SelectorError', message: 'field label not supported: foo' });
    assert.throws(() => matchesFields(sel, fieldsOf(resource('apps', 'deployments'), { metadata: {} })),
      { message: '"foo" is not a known field selector: only "metadata.name", "metadata.namespace"' });
    assert.throws(() => matchesFields(sel, { 'metadata.name': 'x' }), { message: 'field label not supported: foo' });
  });

  it('events (core and events.k8s.io)', () => {
    const events = resource('', 'events');
    const ev = {
      metadata: { name: 'web-0.17a', namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'shop', uid: 'u1', apiVersion: 'v1', fieldPath: 'spec.containers{web}' },
      reason: 'BackOff', type: 'Warning', source: { component: 'kubelet', host: 'node-1' },
    };
    assert.equal(selects(events, 'involvedObject.kind=Pod,involvedObject.name=web-0,type=Warning,reason=BackOff,source=kubelet', ev), true);
    assert.equal(selects(events, 'involvedObject.fieldPath=spec.containers{web}', ev), true);
    assert.equal(rejection(events, 'message=x'), 'field label not supported: message');

    const v1events = resource('events.k8s.io', 'events');
    const newEv = { metadata: { name: 'e', namespace: 'shop' }, regarding: { kind: 'Pod', name: 'web-0' }, reason: 'Pulled',
      type: 'Normal', reportingController: 'kubelet', note: 'pulled' };
    assert.equal(selects(v1events, 'regarding.kind=Pod,regarding.name=web-0,reportingController=kubelet', newEv), true);
    assert.equal(rejection(v1events, 'involvedObject.kind=Pod'), 'field label not supported: involvedObject.kind');
  });

  it('secrets, nodes, namespaces, services', () => {
    assert.equal(selects(resource('', 'secrets'), 'type=kubernetes.io/tls', { metadata: { name: 's' }, type: 'kubernetes.io/tls' }), true);
    const nodes = resource('', 'nodes');
    assert.equal(selects(nodes, 'spec.unschedulable=true', { metadata: { name: 'n' }, spec: { unschedulable: true } }), true);
    assert.equal(selects(nodes, 'spec.unschedulable=false', { metadata: { name: 'n' }, spec: {} }), true);
    assert.equal(rejection(nodes, 'metadata.namespace=x'), 'field label not supported: metadata.namespace');
    assert.equal(selects(resource('', 'namespaces'), 'status.phase=Terminating', { metadata: { name: 'x' }, status: { phase: 'Terminating' } }), true);
    assert.equal(selects(resource('', 'services'), 'spec.type=NodePort', { metadata: { name: 's' }, spec: { type: 'NodePort' } }), true);
  });

  it('jobs select by status.successful; apps/v1 kinds only by name and namespace', () => {
    assert.equal(selects(resource('batch', 'jobs'), 'status.successful=3', { metadata: { name: 'j' }, status: { succeeded: 3 } }), true);
    assert.equal(rejection(resource('apps', 'replicasets'), 'status.replicas=1'),
      '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"');
    assert.equal(selects(resource('apps', 'deployments'), 'metadata.name=web', { metadata: { name: 'web' } }), true);
    assert.equal(rejection(resource('', 'configmaps'), 'data=x'), '"data" is not a known field selector: only "metadata.name", "metadata.namespace"');
  });

  it('custom resources: name, namespace when namespaced, and the CRD selectableFields', () => {
    const widgets: ResourceInfo = {
      group: 'example.com', version: 'v1', kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget',
      namespaced: false, shortNames: [], categories: [], verbs: [], subresources: [], custom: true,
    };
    const opts = { selectableFields: ['.spec.color', '.spec.size'] };
    const w = { metadata: { name: 'w1' }, spec: { color: 'blue', size: 3 } };
    const sel = checkFieldSelector(widgets, parseFieldSelector('spec.color=blue,spec.size=3'), opts);
    assert.equal(matchesFields(sel, fieldsOf(widgets, w, opts)), true);
    assert.throws(() => checkFieldSelector(widgets, parseFieldSelector('metadata.namespace=x'), opts), { message: 'field label not supported: metadata.namespace' });
    assert.throws(() => checkFieldSelector(widgets, parseFieldSelector('spec.shape=x'), opts), { message: 'field label not supported: spec.shape' });
  });
});
