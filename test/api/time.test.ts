import { test } from 'node:test';
import assert from 'node:assert/strict';
import { microTime, rfc3339 } from '../../src/api/time.ts';

test('rfc3339 truncates to the second, in UTC, for any time given, in any order', () => {
  // The current second's text is reused: calls that alternate between seconds must each get their own.
  const cases: [Date | number | string, string][] = [
    [0, '1970-01-01T00:00:00Z'], [999, '1970-01-01T00:00:00Z'], [1000, '1970-01-01T00:00:01Z'], [-1, '1969-12-31T23:59:59Z'],
    ['2026-11-22T10:00:00.999Z', '2026-11-22T10:00:00Z'], [new Date('2026-11-22T12:00:01.500+02:00'), '2026-11-22T10:00:01Z'],
    [999, '1970-01-01T00:00:00Z'],
  ];
  for (const [t, want] of cases) assert.equal(rfc3339(t), want, String(t));
  assert.match(rfc3339(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.throws(() => rfc3339('not a time'), RangeError);
  assert.throws(() => rfc3339(NaN), RangeError);
  assert.equal(microTime(1500), '1970-01-01T00:00:01.500000Z');
});
