import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { createApiMetrics, metricsScope, metricsVerb, REQUEST_DURATION_BUCKETS } from '../../src/apiserver/metrics.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small Prometheus text-format (0.0.4) parser: enough to check what a scraper would see. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function find(samples: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

test('observeRequest moves apiserver_request_total and the duration histogram with kube-apiserver labels', async () => {
  const m = createApiMetrics({ processMetrics: false });
  const req = { verb: 'create', group: 'apps', version: 'v1', resource: 'deployments', scope: 'resource', code: 201 };
  m.observeRequest(req, 0.003);
  m.observeRequest(req, 0.3);
  m.observeRequest({ verb: 'list', version: 'v1', resource: 'pods', scope: 'namespace', code: 200, dryRun: '' }, 0.01);

  const { samples, types } = parse(await m.metricsText());
  assert.equal(types.get('apiserver_request_total'), 'counter');
  assert.equal(types.get('apiserver_request_duration_seconds'), 'histogram');
  const total = find(samples, 'apiserver_request_total', { verb: 'POST', resource: 'deployments' });
  assert.deepEqual(total?.labels, {
    verb: 'POST', dry_run: '', group: 'apps', version: 'v1', resource: 'deployments', subresource: '',
    scope: 'resource', component: 'apiserver', code: '201',
  });
  assert.equal(total?.value, 2);
  assert.equal(find(samples, 'apiserver_request_total', { verb: 'LIST', resource: 'pods', group: '', code: '200' })?.value, 1);

  const bucket = (le: string) => find(samples, 'apiserver_request_duration_seconds_bucket', { verb: 'POST', le })?.value;
  assert.equal(bucket('0.005'), 1);
  assert.equal(bucket('0.4'), 2);
  assert.equal(bucket('+Inf'), 2);
  assert.equal(find(samples, 'apiserver_request_duration_seconds_count', { verb: 'POST' })?.value, 2);
  const les = samples
    .filter((s) => s.name === 'apiserver_request_duration_seconds_bucket' && s.labels.verb === 'POST')
    .map((s) => s.labels.le);
  assert.deepEqual(les, [...REQUEST_DURATION_BUCKETS.map(String), '+Inf']);
});

test('watches move apiserver_longrunning_requests and apiserver_registered_watchers up and down', async () => {
  const m = createApiMetrics({ processMetrics: false });
  const watch = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', scope: 'namespace' };
  m.watchStarted(watch);
  m.watchStarted(watch);
  m.watchStarted('configmaps');
  m.watchEnded(watch);
  const { samples, types } = parse(await m.metricsText());
  assert.equal(types.get('apiserver_longrunning_requests'), 'gauge');
  assert.equal(find(samples, 'apiserver_longrunning_requests', { verb: 'WATCH', resource: 'pods', scope: 'namespace' })?.value, 1);
  assert.equal(find(samples, 'apiserver_longrunning_requests', { verb: 'WATCH', resource: 'configmaps' })?.value, 1);
  assert.equal(find(samples, 'apiserver_registered_watchers', { kind: 'Pod', version: 'v1' })?.value, 1);
  assert.equal(find(samples, 'apiserver_registered_watchers', { kind: 'configmaps' })?.value, 1);

  m.longRunningStarted({ verb: 'CONNECT', version: 'v1', resource: 'pods', subresource: 'exec', scope: 'resource' });
  const after = parse(await m.metricsText()).samples;
  assert.equal(find(after, 'apiserver_longrunning_requests', { verb: 'CONNECT', subresource: 'exec' })?.value, 1);
});

test('storage gauges are read from their callbacks at scrape time', async (t) => {
  let counts: Record<string, number> | Error = { pods: 3, 'deployments.apps': 1 };
  const m = createApiMetrics({
    processMetrics: false,
    storageObjects: () => {
      if (counts instanceof Error) throw counts;
      return counts;
    },
    storageSize: async () => 40960,
    storageClusterId: 'local',
  });
  let { samples } = parse(await m.metricsText());
  assert.equal(find(samples, 'apiserver_storage_objects', { resource: 'pods' })?.value, 3);
  assert.equal(find(samples, 'apiserver_storage_objects', { resource: 'deployments.apps' })?.value, 1);
  assert.equal(find(samples, 'apiserver_storage_size_bytes', { storage_cluster_id: 'local' })?.value, 40960);

  counts = { pods: 5 };
  ({ samples } = parse(await m.metricsText()));
  assert.equal(find(samples, 'apiserver_storage_objects', { resource: 'pods' })?.value, 5);
  assert.equal(find(samples, 'apiserver_storage_objects', { resource: 'deployments.apps' }), undefined, 'gone resources disappear');

  const errors = t.mock.method(console, 'error', () => undefined);
  counts = new Error('store closed');
  ({ samples } = parse(await m.metricsText()));
  assert.equal(find(samples, 'apiserver_storage_objects', { resource: 'pods' })?.value, -1, 'kube-apiserver reports -1 on error');
  assert.match(String(errors.mock.calls[0]?.arguments[0]), /store closed/);

  m.setStorageSizeSource(() => 7);
  ({ samples } = parse(await m.metricsText()));
  assert.equal(find(samples, 'apiserver_storage_size_bytes', {})?.value, 7);
});

test('process metrics are included, each instance has its own registry, and the content type is Prometheus text', async () => {
  const a = createApiMetrics();
  const b = createApiMetrics();
  a.observeRequest({ verb: 'GET', resource: 'pods', code: 200 }, 0.001);
  const textA = await a.metricsText();
  assert.match(textA, /^process_cpu_user_seconds_total /m);
  assert.match(textA, /^nodejs_heap_size_total_bytes /m);
  assert.equal(find(parse(await b.metricsText()).samples, 'apiserver_request_total', {}), undefined);
  assert.doesNotMatch(await globalRegistry.metrics(), /apiserver_request_total/);
  assert.match(a.contentType, /^text\/plain; version=0\.0\.4/);
});

test('verb and scope labels follow kube-apiserver', () => {
  assert.equal(metricsVerb('get'), 'GET');
  assert.equal(metricsVerb('deletecollection'), 'DELETE');
  assert.equal(metricsVerb('update'), 'PUT');
  assert.equal(metricsVerb('patch', { apply: true }), 'APPLY');
  assert.equal(metricsVerb('WATCHLIST'), 'WATCH');
  assert.equal(metricsVerb('frobnicate'), 'other');
  assert.equal(metricsScope({ name: 'x', namespace: 'ns', isResourceRequest: true }), 'resource');
  assert.equal(metricsScope({ verb: 'create', namespace: 'ns', isResourceRequest: true }), 'resource');
  assert.equal(metricsScope({ namespace: 'ns', isResourceRequest: true }), 'namespace');
  assert.equal(metricsScope({ isResourceRequest: true }), 'cluster');
  assert.equal(metricsScope({ isResourceRequest: false }), '');
});
