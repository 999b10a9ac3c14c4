import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromFieldsV1, listPaths, pathString, toFieldsV1 } from '../../src/api/apply/index.ts';

describe('fieldsV1', () => {
  it('round-trips kube-apiserver’s encoding, in its order', () => {
    const wire = {
      'f:metadata': { 'f:annotations': { '.': {}, 'f:deployment.kubernetes.io/revision': {} } },
      'f:spec': {
        'f:ports': {
          '.': {},
          'k:{"port":443,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:targetPort': {} },
          'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
        },
        'f:finalizers': { 'v:"a"': {}, 'v:"b"': {} },
      },
    };
    const set = fromFieldsV1(wire);
    const back = toFieldsV1(set);
    assert.deepEqual(back, wire);
    // Keys sort by field then value (80 before 443), fields sort by name.
    assert.equal(
      JSON.stringify(back['f:spec']),
      '{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}},"f:ports":{".":{},"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{}},"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{},"f:targetPort":{}}}}',
    );
  });

  it('normalizes key order inside k: elements', () => {
    const set = fromFieldsV1({ 'k:{"protocol":"TCP","containerPort":80}': {} });
    assert.deepEqual(toFieldsV1(set), { 'k:{"containerPort":80,"protocol":"TCP"}': {} });
  });

  it('prints paths as conflict messages do', () => {
    const set = fromFieldsV1({
      'f:spec': {
        'f:replicas': {},
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { 'f:name': {} } } } } } },
        'f:finalizers': { 'v:"x"': {} },
      },
    });
    assert.deepEqual(listPaths(set).map(pathString), [
      '.spec.replicas',
      '.spec.finalizers[="x"]',
      '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"].name',
    ]);
  });

  it('rejects malformed entries', () => {
    assert.throws(() => fromFieldsV1({ 'x:y': {} }), /unknown path element type/);
    assert.throws(() => fromFieldsV1({ 'f:a': 1 }), /must be an object/);
  });
});
