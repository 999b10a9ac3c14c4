import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyElement, valueElement } from '../../src/api/apply/fieldset.ts';

test('fieldsV1 key elements escape <, > and & as Go\'s encoding/json does, and leave other strings alone', () => {
  assert.equal(keyElement({ name: 'a<b>&c' }), 'k:{"name":"a\\u003cb\\u003e\\u0026c"}');
  assert.equal(keyElement({ port: 80, protocol: 'TCP' }), 'k:{"port":80,"protocol":"TCP"}');
  assert.equal(valueElement('plain'), 'v:"plain"');
});
