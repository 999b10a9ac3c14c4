// Field selectors: `?fieldSelector=` parsing (=, ==, !=, comma-AND, backslash
// escapes), matching, and which field labels each kind accepts.
// https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
import { SelectorError } from './errors.ts';
import { unsupportedFieldMessage } from './selectable-fields.ts';

export interface FieldRequirement {
  field: string;
  operator: '=' | '==' | '!=';
  value: string;
}

/** A parsed field selector: every requirement must hold; no requirements selects everything. */
export interface FieldSelector {
  requirements: FieldRequirement[];
}

/** Splits on commas that are not escaped with a backslash. */
function splitTerms(s: string): string[] {
  if (s === '') return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const OPERATORS = ['!=', '==', '='] as const;

/** The first operator in the term splits it; the left side allows no escaping. */
function splitTerm(term: string): [string, FieldRequirement['operator'], string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` stand for themselves; bare `,` or `=` and other escapes are errors. */
function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. as its number.
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Parses `?fieldSelector=` text, e.g. `status.phase!=Running,spec.nodeName=node-1`. */
export function parseFieldSelector(s: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const part of splitTerms(s).sort()) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, operator, rhs] = split;
    requirements.push({ field, operator, value: unescapeValue(rhs) });
  }
  return { requirements };
}

/**
 * Whether the object's selectable fields (fieldsOf) satisfy the selector. A label the
 * fields do not include is one the kind does not support: that throws SelectorError
 * (400), e.g. `field label not supported: foo`.
 */
export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  for (const r of sel.requirements) {
    if (!Object.hasOwn(fields, r.field)) throw new SelectorError(unsupportedFieldMessage(fields, r.field));
  }
  return sel.requirements.every((r) => (r.operator === '!=' ? fields[r.field] !== r.value : fields[r.field] === r.value));
}

/** fields.EscapeValue: the inverse of the unescaping the parser does. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => '\\' + c);
}

/** The selector's String(): `field=value` terms, escaped, comma-joined. */
export function fieldSelectorString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator === '!=' ? '!=' : '='}${escapeFieldValue(r.value)}`).join(',');
}
