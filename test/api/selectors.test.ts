import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SelectorError, formatLabelSelector, formatLabels, isEverything, labelSelectorFromMeta, labelSelectorFromSet,
  labelSelectorString, matchesLabels, parseLabelSelector,
} from '../../src/api/selectors/index.ts';

const web = { app: 'web', tier: 'frontend', replicas: '3' };
const matches = (s: string, labels: Record<string, string> = web) => matchesLabels(parseLabelSelector(s), labels);

/** The message kube-apiserver answers a bad ?labelSelector= with. */
function parseError(s: string): string {
  try {
    parseLabelSelector(s);
  } catch (e) {
    assert.ok(e instanceof SelectorError, `expected a SelectorError, got ${e}`);
    assert.equal(e.code, 400);
    return e.message;
  }
  assert.fail(`expected ${JSON.stringify(s)} not to parse`);
}

describe('parseLabelSelector operators', () => {
  it('= and == match the value, and miss objects without the label', () => {
    assert.equal(matches('app=web'), true);
    assert.equal(matches('app==web'), true);
    assert.equal(matches('app=api'), false);
    assert.equal(matches('team=a'), false);
  });

  it('!= matches other values and objects without the label', () => {
    assert.equal(matches('app!=api'), true);
    assert.equal(matches('app!=web'), false);
    assert.equal(matches('team!=a'), true);
  });

  it('in and notin take a value set', () => {
    assert.equal(matches('tier in (frontend, backend)'), true);
    assert.equal(matches('tier in (backend)'), false);
    assert.equal(matches('tier notin (backend,cache)'), true);
    assert.equal(matches('tier notin (frontend)'), false);
    assert.equal(matches('team notin (a)'), true, 'notin holds when the label is absent');
    assert.equal(matches('team in (a)'), false);
  });

  it('a bare key requires the label and !key forbids it', () => {
    assert.equal(matches('app'), true);
    assert.equal(matches('team'), false);
    assert.equal(matches('!team'), true);
    assert.equal(matches('!app'), false);
  });

  it('> and < compare as integers', () => {
    assert.equal(matches('replicas>2'), true);
    assert.equal(matches('replicas>3'), false);
    assert.equal(matches('replicas<10'), true, '3 < 10 numerically, though "3" > "10" as text');
    assert.match(parseError('replicas>-1'), /values\[0\]\[replicas\]: Invalid value: "-1"/, 'a bound must also be a valid label value');
    assert.equal(matches('app>1'), false, 'a non-integer label value never satisfies gt');
    assert.equal(matches('missing<5'), false);
  });

  it('comma means AND', () => {
    assert.equal(matches('app=web,tier=frontend'), true);
    assert.equal(matches('app=web,tier=backend'), false);
    assert.equal(matches('app=web, !canary, tier in (frontend)'), true);
  });

  it('the empty selector matches everything, including objects without labels', () => {
    const sel = parseLabelSelector('');
    assert.equal(isEverything(sel), true);
    assert.equal(matchesLabels(sel, undefined), true);
  });

  it('empty values: `x=` wants an empty label, `x in ()` the empty value', () => {
    assert.equal(matches('x=', { x: '' }), true);
    assert.equal(matches('x=', { x: 'a' }), false);
    assert.equal(matches('x in ()', { x: '' }), true);
  });

  it('in/notin are ordinary identifiers where a key or value is expected', () => {
    assert.equal(matches('in in (in,notin)', { in: 'notin' }), true);
  });

  it('prints requirements sorted by key with sorted value sets, as kubectl shows selectors', () => {
    assert.equal(labelSelectorString(parseLabelSelector('tier in (fe, be),app=web,!canary,n>1')), 'app=web,!canary,n>1,tier in (be,fe)');
  });
});

describe('parseLabelSelector errors (kube-apiserver wording)', () => {
  it('a missing operator between key and value', () => {
    assert.equal(parseError('app web'), "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt");
  });

  it('a dangling comma', () => {
    assert.equal(parseError('app=web,'), "found '', expected: identifier after ','");
  });

  it('a second operator', () => {
    assert.equal(parseError('a=b=c'), "found '=', expected: ',' or 'end of string'");
  });

  it('a value set without parentheses, or unclosed', () => {
    assert.equal(parseError('env in prod'), "unable to parse requirement: found 'prod' expected: '('");
    assert.equal(parseError('env in (prod'), "unable to parse requirement: found '', expected: ',' or ')'");
    assert.equal(parseError('env in (a b)'), "unable to parse requirement: found 'b', expected: ',' or ')'");
  });

  it('a selector that starts with an operator', () => {
    assert.equal(parseError('=web'), "found '=', expected: !, identifier, or 'end of string'");
  });

  it('an invalid label key', () => {
    assert.equal(parseError('a$b=1'), 'unable to parse requirement: <nil>: Invalid value: "a$b": name part must consist of alphanumeric ' +
      "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or " +
      "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    assert.match(parseError('Example.com/app=1'), /prefix part a lowercase RFC 1123 subdomain/);
  });

  it('an invalid label value', () => {
    assert.equal(parseError('app=a/b'), 'unable to parse requirement: values[0][app]: Invalid value: "a/b": a valid label must be ' +
      "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric " +
      "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  });

  it('a non-integer bound for > and <', () => {
    assert.equal(parseError('replicas>two'),
      `unable to parse requirement: values[0]: Invalid value: "two": for 'Gt', 'Lt' operators, the value must be an integer`);
  });
});

describe('labelSelectorFromMeta (metav1.LabelSelector)', () => {
  it('combines matchLabels and matchExpressions', () => {
    const sel = labelSelectorFromMeta({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['frontend', 'edge'] },
        { key: 'track', operator: 'NotIn', values: ['canary'] },
        { key: 'replicas', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(matchesLabels(sel, web), true);
    assert.equal(matchesLabels(sel, { ...web, legacy: 'true' }), false);
    assert.equal(matchesLabels(sel, { ...web, track: 'canary' }), false);
    assert.equal(labelSelectorString(sel), 'app=web,!legacy,replicas,tier in (edge,frontend),track notin (canary)');
  });

  it('a missing selector matches nothing, an empty one everything', () => {
    assert.equal(matchesLabels(labelSelectorFromMeta(undefined), web), false);
    assert.equal(matchesLabels(labelSelectorFromMeta({}), web), true);
  });

  it('rejects unknown operators and In without values', () => {
    assert.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }),
      { message: '"Gt" is not a valid label selector operator' });
    assert.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'In' }] }),
      { message: "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty" });
    assert.throws(() => labelSelectorFromMeta({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
      { message: 'values: Invalid value: ["x"]: values set must be empty for exists and does not exist' });
  });

  it('formats as the printers do', () => {
    assert.equal(formatLabelSelector({ matchLabels: { app: 'web' } }), 'app=web');
    assert.equal(formatLabelSelector({}), '<none>');
    assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bad' }] }), '<error>');
    assert.equal(formatLabels({ tier: 'fe', app: 'web' }), 'app=web,tier=fe');
    assert.equal(formatLabels({}), '<none>');
  });

  it('labelSelectorFromSet matches exactly that set', () => {
    const sel = labelSelectorFromSet({ app: 'web' });
    assert.equal(matchesLabels(sel, web), true);
    assert.equal(matchesLabels(sel, { app: 'api' }), false);
  });
});
