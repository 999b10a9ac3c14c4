// Label selectors: the `?labelSelector=` string form (equality- and set-based,
// plus the server-only `>`/`<`), the metav1.LabelSelector form controllers
// use, matching, and the String() forms kubectl and the printers show.
// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
import type { LabelSelector as MetaLabelSelector } from 'kubernetes-types/meta/v1.d.ts';
import { SelectorError, aggregate, invalidValue } from './errors.ts';
import { labelKeyErrors, labelValueErrors } from './label-syntax.ts';

/** selection.Operator values, spelled as Kubernetes spells them. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and de-duplicated when parsed from a string; one value for =, ==, !=, gt, lt; none for exists and !. */
  values: string[];
}

/** A parsed label selector: every requirement must hold. `nothing` selects no object at all (a nil metav1.LabelSelector). */
export interface LabelSelector {
  requirements: LabelRequirement[];
  nothing?: boolean;
}

const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

// ---- lexer -----------------------------------------------------------------

type Tok = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';
interface Item { tok: Tok; lit: string }

const KEYWORDS: Record<string, Tok> = {
  ')': ')', ',': ',', '!': '!', '==': '==', '=': '=', '>': '>', in: 'in', '<': '<', '!=': '!=', notin: 'notin', '(': '(',
};
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecial(s[pos])) {
      // Longest run of special characters that still spells an operator.
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos])) {
        buf += s[pos];
        const tok = Object.hasOwn(KEYWORDS, buf) ? KEYWORDS[buf] : undefined;
        if (tok) last = { tok, lit: buf };
        else if (last) break;
        pos++;
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
    } else {
      let buf = '';
      while (pos < s.length && !isSpecial(s[pos]) && !isWhitespace(s[pos])) buf += s[pos++];
      const tok = Object.hasOwn(KEYWORDS, buf) ? KEYWORDS[buf] : 'id';
      items.push({ tok, lit: buf });
    }
  }
}

// ---- parser ----------------------------------------------------------------

class Parser {
  private pos = 0;
  private readonly items: Item[];
  constructor(input: string) {
    this.items = lex(input);
  }

  /** In value position `in` and `notin` are plain identifiers. */
  private look(values: boolean): Item {
    const it = this.items[this.pos];
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }
  private take(values: boolean): Item {
    const it = this.look(values);
    this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.look(true);
      if (tok === 'eos') return reqs;
      if (tok !== 'id' && tok !== '!') throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const next = this.take(true);
      if (next.tok === 'eos') return reqs;
      if (next.tok !== ',') throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
      const after = this.look(true);
      if (after.tok !== 'id' && after.tok !== '!') throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let negated = false;
    let { tok, lit } = this.take(true);
    if (tok === '!') {
      negated = true;
      ({ tok, lit } = this.take(true));
    }
    if (tok !== 'id') throw new SelectorError(`found '${lit}', expected: identifier`);
    const keyErrors = labelKeyErrors(lit);
    if (keyErrors.length > 0) throw new SelectorError(invalidValue('<nil>', lit, keyErrors.join('; ')));
    const key = lit;
    const ahead = this.look(true).tok;
    if (negated) return newRequirement(key, '!', []);
    if (ahead === 'eos' || ahead === ',') return newRequirement(key, 'exists', []);
    const operator = this.operator();
    const values = operator === 'in' || operator === 'notin' ? this.valueSet() : this.exactValue();
    return newRequirement(key, operator, [...new Set(values)].sort());
  }

  private operator(): LabelOperator {
    const { tok, lit } = this.take(false);
    switch (tok) {
      case 'in': return 'in';
      case 'notin': return 'notin';
      case '=': return '=';
      case '==': return '==';
      case '!=': return '!=';
      case '>': return 'gt';
      case '<': return 'lt';
      default: throw new SelectorError(`found '${lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  /** `(a,b,c)`; empty members are the empty value, so `()` is [""]. */
  private valueSet(): string[] {
    const open = this.take(true);
    if (open.tok !== '(') throw new SelectorError(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.look(true);
    if (tok === ')') {
      this.take(true);
      return [''];
    }
    if (tok !== 'id' && tok !== ',') throw new SelectorError(`found '${lit}', expected: ',', ')' or identifier`);
    const values: string[] = [];
    for (;;) {
      const it = this.take(true);
      if (it.tok === 'id') {
        values.push(it.lit);
        const next = this.look(true);
        if (next.tok === ',') continue;
        if (next.tok === ')') break;
        throw new SelectorError(`found '${next.lit}', expected: ',' or ')'`);
      } else if (it.tok === ',') {
        if (values.length === 0) values.push('');
        const next = this.look(true).tok;
        if (next === ')') {
          values.push('');
          break;
        }
        if (next === ',') values.push('');
      } else {
        throw new SelectorError(`found '${it.lit}', expected: ',', or identifier`);
      }
    }
    // Kubernetes reports the token that started the list if the list is not closed.
    if (this.take(true).tok !== ')') throw new SelectorError(`found '${lit}', expected: ')'`);
    return values;
  }

  private exactValue(): string[] {
    const ahead = this.look(true).tok;
    if (ahead === 'eos' || ahead === ',') return [''];
    const { tok, lit } = this.take(true);
    if (tok === 'id') return [lit];
    throw new SelectorError(`found '${lit}', expected: identifier`);
  }
}

const INT64 = /^[+-]?\d+$/;
function parseInt64(s: string): bigint | undefined {
  if (!INT64.test(s)) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

/** labels.NewRequirement: checks operator arity, integer values for gt/lt, and the key and values' syntax. */
export function newRequirement(key: string, operator: LabelOperator, values: string[], nilValues = false): LabelRequirement {
  const errs: string[] = [];
  const keyErrors = labelKeyErrors(key);
  if (keyErrors.length > 0) errs.push(invalidValue('key', key, keyErrors.join('; ')));
  const shownValues = nilValues && values.length === 0 ? null : values;
  switch (operator) {
    case 'in': case 'notin':
      if (values.length === 0) errs.push(invalidValue('values', shownValues, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=': case '==': case '!=':
      if (values.length !== 1) errs.push(invalidValue('values', shownValues, 'exact-match compatibility requires one single value'));
      break;
    case 'exists': case '!':
      if (values.length !== 0) errs.push(invalidValue('values', shownValues, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt': case 'lt':
      if (values.length !== 1) errs.push(invalidValue('values', shownValues, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const valueErrors = labelValueErrors(v);
    if (valueErrors.length > 0) errs.push(invalidValue(`values[${i}][${key}]`, v, valueErrors.join('; ')));
  });
  if (errs.length > 0) throw new SelectorError(aggregate(errs));
  return { key, operator, values };
}

const byKey = (a: LabelRequirement, b: LabelRequirement) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Parses `?labelSelector=` text, e.g. `app=web,tier in (fe,be),!canary,replicas>2`.
 * Throws SelectorError with kube-apiserver's message when the text is malformed.
 */
export function parseLabelSelector(s: string): LabelSelector {
  return { requirements: new Parser(s).parse().sort(byKey) };
}

/** A selector that matches exactly these labels (labels.SelectorFromSet). */
export function labelSelectorFromSet(set: Record<string, string> | undefined): LabelSelector {
  return {
    requirements: Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })).sort(byKey),
  };
}

/**
 * The metav1.LabelSelector controllers carry (matchLabels + matchExpressions with
 * In/NotIn/Exists/DoesNotExist), as metav1.LabelSelectorAsSelector reads it: a
 * missing selector matches nothing, an empty one matches everything.
 */
export function labelSelectorFromMeta(ls: MetaLabelSelector | null | undefined): LabelSelector {
  if (ls == null) return { requirements: [], nothing: true };
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(ls.matchLabels ?? {})) reqs.push(newRequirement(key, '=', [value]));
  for (const expr of ls.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[expr.operator as 'In'];
    if (op === undefined) throw new SelectorError(`"${expr.operator}" is not a valid label selector operator`);
    reqs.push(newRequirement(expr.key, op, [...(expr.values ?? [])], expr.values === undefined || expr.values.length === 0));
  }
  return { requirements: reqs.sort(byKey) };
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in': case '=': case '==':
      return has && r.values.includes(value!);
    case 'notin': case '!=':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt': case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const actual = parseInt64(value!);
      const bound = parseInt64(r.values[0]);
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}

/** Whether an object's labels satisfy every requirement of the selector. */
export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined | null): boolean {
  if (sel.nothing) return false;
  const set = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, set));
}

/** True when the selector restricts nothing (an empty string, or an empty metav1.LabelSelector). */
export function isEverything(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

function requirementString(r: LabelRequirement): string {
  const values = r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
  switch (r.operator) {
    case 'exists': return r.key;
    case '!': return `!${r.key}`;
    case 'in': return `${r.key} in (${values})`;
    case 'notin': return `${r.key} notin (${values})`;
    case 'gt': return `${r.key}>${values}`;
    case 'lt': return `${r.key}<${values}`;
    default: return `${r.key}${r.operator}${values}`;
  }
}

/** The selector's String(): requirements sorted by key, comma-joined ("" for everything and for nothing). */
export function labelSelectorString(sel: LabelSelector): string {
  return sel.nothing ? '' : sel.requirements.map(requirementString).join(',');
}

/** labels.FormatLabels: `k=v` pairs sorted by key, or `<none>`. */
export function formatLabels(set: Record<string, string> | undefined | null): string {
  const s = Object.keys(set ?? {}).sort().map((k) => `${k}=${set![k]}`).join(',');
  return s === '' ? '<none>' : s;
}

/** metav1.FormatLabelSelector: the selector's String(), `<none>` when empty, `<error>` when invalid. */
export function formatLabelSelector(ls: MetaLabelSelector | null | undefined): string {
  try {
    return labelSelectorString(labelSelectorFromMeta(ls)) || '<none>';
  } catch (e) {
    if (e instanceof SelectorError) return '<error>';
    throw e;
  }
}
