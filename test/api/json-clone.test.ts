import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloneJson } from '../../src/api/json-clone.ts';

test('cloneJson makes a deep copy of JSON data that shares nothing with the original', () => {
  const original = JSON.parse('{"a":[1,{"b":null,"c":"x"}],"d":{"e":true,"f":2.5},"g":[]}');
  const copy = cloneJson(original);
  assert.deepEqual(copy, original);
  copy.a[1].c = 'changed';
  copy.d.e = false;
  copy.g.push(1);
  assert.equal(original.a[1].c, 'x');
  assert.equal(original.d.e, true);
  assert.deepEqual(original.g, []);
  for (const v of [null, 0, 'x', true, undefined]) assert.equal(cloneJson(v), v);
});

test('cloneJson copies a frozen object into a writable one, and keeps a "__proto__" key a plain property', () => {
  const frozen: { spec: { replicas: number } } = Object.freeze({ spec: Object.freeze({ replicas: 1 }) });
  const copy = cloneJson(frozen);
  copy.spec.replicas = 2;
  assert.equal(frozen.spec.replicas, 1);
  const tricky = cloneJson(JSON.parse('{"__proto__":{"polluted":true},"x":1}'));
  assert.equal(Object.getPrototypeOf(tricky), Object.prototype);
  assert.equal((tricky as { polluted?: boolean }).polluted, undefined);
  assert.equal(JSON.stringify(tricky), '{"__proto__":{"polluted":true},"x":1}');
});
