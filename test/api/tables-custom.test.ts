import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceInfo } from '../../src/api/types.ts';
import { JsonPathError, evalJsonPath, jsonPathText } from '../../src/api/jsonpath.ts';
import { type PrinterColumn, toTable } from '../../src/api/tables/index.ts';

const NOW = new Date('2024-05-10T12:00:00Z');

const widgets: ResourceInfo = {
  group: 'example.com', version: 'v1', kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget',
  namespaced: true, shortNames: ['wd'], categories: [], verbs: ['get', 'list'], subresources: ['status'], custom: true,
};

const widget = {
  apiVersion: 'example.com/v1', kind: 'Widget',
  metadata: { name: 'blue-one', namespace: 'default', creationTimestamp: '2024-05-10T11:00:00Z', labels: { app: 'shop', 'example.com/tier': 'gold' } },
  spec: { replicas: 3, color: 'blue', ratio: 0.75, enabled: true, ports: [{ name: 'http', port: 80 }, { name: 'grpc', port: 9090 }], extra: { b: 1, a: '<x>' } },
  status: {
    observedAt: '2024-05-10T11:58:00Z',
    conditions: [{ type: 'Progressing', status: 'True' }, { type: 'Ready', status: 'False', reason: 'Waiting' }],
  },
};

describe('evalJsonPath (kubectl dialect)', () => {
  const cases: [string, unknown[]][] = [
    ['.spec.replicas', [3]],
    ['{.spec.replicas}', [3]],
    ['.metadata.labels.app', ['shop']],
    ['.metadata.labels.example\\.com/tier', ['gold']],
    [".metadata.labels['app']", ['shop']],
    ['.status.conditions[?(@.type=="Ready")].status', ['False']],
    [".status.conditions[?(@.type=='Ready')].reason", ['Waiting']],
    ['.status.conditions[?(@.status!="True")].type', ['Ready']],
    ['.status.conditions[?(@.reason)].type', ['Ready']],
    ['.spec.ports[?(@.port>100)].name', ['grpc']],
    ['.spec.ports[0].port', [80]],
    ['.spec.ports[-1].name', ['grpc']],
    ['.spec.ports[*].name', ['http', 'grpc']],
    ['.spec.ports[0:1].name', ['http']],
    ['.spec.ports[0,1].port', [80, 9090]],
    ['..port', [80, 9090]],
    ['.spec.missing', []],
    ['.spec.ports[5:5]', []],
  ];
  for (const [expr, want] of cases) {
    it(expr, () => assert.deepEqual(evalJsonPath(expr, widget), want));
  }

  it('reports syntax errors and out-of-range indexes', () => {
    assert.throws(() => evalJsonPath('.spec.ports[x]', widget), { message: 'invalid array index x' });
    assert.throws(() => evalJsonPath('.spec.ports[7]', widget), { message: 'array index out of bounds: index 7, length 2' });
    assert.throws(() => evalJsonPath('.spec[0]', widget), JsonPathError);
    assert.throws(() => evalJsonPath('.spec.missing', widget, { allowMissingKeys: false }), { message: 'missing is not found' });
  });

  it('prints values as kubectl does: JSON for objects (keys sorted, HTML-escaped), Go formatting for numbers', () => {
    assert.equal(jsonPathText(widget.spec.extra), '{"a":"\\u003cx\\u003e","b":1}');
    assert.equal(jsonPathText(['a', 'b']), '["a","b"]');
    assert.equal(jsonPathText(3), '3');
    assert.equal(jsonPathText(0.75), '0.75');
    assert.equal(jsonPathText(1234567.5), '1.2345675e+06');
    assert.equal(jsonPathText(true), 'true');
    assert.equal(jsonPathText(null), '<no value>');
  });
});

describe('custom resource tables', () => {
  const columns: PrinterColumn[] = [
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Color', type: 'string', jsonPath: '.spec.color', description: 'The widget color' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio', priority: 1 },
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled', priority: 1 },
    { name: 'Observed', type: 'date', jsonPath: '.status.observedAt' },
    { name: 'Owner', type: 'string', jsonPath: '.spec.owner' },
    { name: 'Ports', type: 'string', jsonPath: '.spec.ports[*].port', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];

  it('NAME first, then the printer columns with their type, format, priority and description', () => {
    const t = toTable(widgets, [widget], { now: NOW, printerColumns: columns });
    const defs = t.columnDefinitions!;
    assert.deepEqual(defs.map((c) => c.name), ['Name', 'Replicas', 'Color', 'Ready', 'Ratio', 'Enabled', 'Observed', 'Owner', 'Ports', 'Age']);
    assert.deepEqual(defs[0], { name: 'Name', type: 'string', format: 'name', description: defs[0].description, priority: 0 });
    assert.equal(defs[2].description, 'The widget color');
    assert.equal(defs[1].description, 'Custom resource definition column (in JSONPath format): .spec.replicas');
    assert.deepEqual(defs.map((c) => c.priority), [0, 0, 0, 0, 1, 1, 0, 0, 1, 0]);
    // Missing values are null (kubectl prints <none>); a string column shows the first value found.
    assert.deepEqual(t.rows[0].cells, ['blue-one', 3, 'blue', 'False', 0.75, true, '2m', null, '80', '60m']);
  });

  it('cells that do not fit the column type are null; bad dates are <invalid>', () => {
    const odd = { ...widget, spec: { ...widget.spec, replicas: 'three', enabled: 'yes' }, status: { observedAt: 'yesterday' } };
    const t = toTable(widgets, [odd], { now: NOW, printerColumns: columns });
    assert.deepEqual(t.rows[0].cells.slice(1, 7), [null, 'blue', null, 0.75, null, '<invalid>']);
  });

  it('without printer columns: NAME and AGE', () => {
    const t = toTable(widgets, [widget], { now: NOW });
    assert.deepEqual(t.columnDefinitions!.map((c) => [c.name, c.type]), [['Name', 'string'], ['Age', 'date']]);
    assert.deepEqual(t.rows[0].cells, ['blue-one', '60m']);
  });
});
