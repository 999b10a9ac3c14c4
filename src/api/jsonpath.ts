// JSONPath in the dialect of kubectl and kube-apiserver (k8s.io/client-go/util/jsonpath),
// as CRD additionalPrinterColumns and selectableFields use it:
// `.spec.replicas`, `.status.conditions[?(@.type=="Ready")].status`,
// `.metadata.labels.app`, `.items[0]`, `[-1]`, `[0:2]`, `[*]`, `..name`, `['a.b']`.
// https://kubernetes.io/docs/reference/kubectl/jsonpath/

/** A path that does not parse, or cannot be applied to the data (the printers show such a cell as empty). */
export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

interface Param { known: boolean; value: number; derived: boolean }
type Node =
  | { type: 'list'; nodes: Node[] }
  | { type: 'text'; text: string }
  | { type: 'field'; name: string }
  | { type: 'wildcard' }
  | { type: 'recursive' }
  | { type: 'array'; params: [Param, Param, Param] }
  | { type: 'union'; nodes: ListNode[] }
  | { type: 'filter'; left: ListNode; right: ListNode; op: string }
  | { type: 'literal'; value: number | boolean }
  | { type: 'identifier'; name: string };
type ListNode = { type: 'list'; nodes: Node[] };

const list = (): ListNode => ({ type: 'list', nodes: [] });
const isTerminator = (c: string) => c === '' || ' \t\r\n.,[]$@{}'.includes(c);
const isAlphaNumeric = (c: string) => c !== '' && /^[\p{L}\p{Nd}_]$/u.test(c);
const SLICE = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/;
const DICT_KEY = /^'([^']*)'$/;
const FILTER = /^([^!<>=]+)([!<>=]+)(.+?)$/;

/** Parses a template: text with `{...}` actions (kubectl's -o jsonpath form). */
class Parser {
  private pos = 0;
  private start = 0;
  private readonly input: string;
  readonly root = list();
  constructor(input: string) {
    this.input = input;
  }

  parse(): ListNode {
    this.parseText();
    return this.root;
  }
  private next(): string {
    if (this.pos >= this.input.length) return '';
    return this.input[this.pos++];
  }
  private consume(): string {
    const text = this.input.slice(this.start, this.pos);
    this.start = this.pos;
    return text;
  }
  private parseText(): void {
    for (;;) {
      if (this.input.startsWith('{', this.pos)) {
        if (this.pos > this.start) this.root.nodes.push({ type: 'text', text: this.consume() });
        this.pos++;
        this.consume();
        const action = list();
        this.root.nodes.push(action);
        this.parseAction(action);
        return;
      }
      if (this.next() === '') break;
    }
    if (this.pos > this.start) this.root.nodes.push({ type: 'text', text: this.consume() });
  }

  private parseAction(cur: ListNode): void {
    for (;;) {
      const rest = this.input.slice(this.pos);
      if (rest.startsWith('}')) {
        this.pos++;
        this.consume();
        this.parseText();
        return;
      }
      if (rest.startsWith('[?(')) this.parseFilter(cur);
      else if (rest.startsWith('..')) this.parseRecursive(cur);
      else {
        const c = this.next();
        if (c === '' || c === '\r' || c === '\n') throw new JsonPathError('unclosed action');
        if (c === ' ' || c === '@' || c === '$') this.consume();
        else if (c === '[') this.parseArray(cur);
        else if (c === '"' || c === "'") this.parseQuote(cur, c);
        else if (c === '.') this.parseField(cur);
        else if (c === '+' || c === '-' || /\d/.test(c)) this.parseNumber(cur);
        else if (isAlphaNumeric(c)) this.parseIdentifier(cur);
        else throw new JsonPathError(`unrecognized character in action: ${JSON.stringify(c)}`);
      }
    }
  }

  private parseIdentifier(cur: ListNode): void {
    while (!isTerminator(this.input[this.pos] ?? '')) this.pos++;
    const value = this.consume();
    cur.nodes.push(value === 'true' || value === 'false' ? { type: 'literal', value: value === 'true' } : { type: 'identifier', name: value });
  }

  private parseRecursive(cur: ListNode): void {
    if (cur.nodes.at(-1)?.type === 'recursive') throw new JsonPathError('invalid multiple recursive descent');
    this.pos += 2;
    this.consume();
    cur.nodes.push({ type: 'recursive' });
    if (isAlphaNumeric(this.input[this.pos] ?? '')) this.parseField(cur);
  }

  private parseNumber(cur: ListNode): void {
    while (/[\d.]/.test(this.input[this.pos] ?? '')) this.pos++;
    const text = this.consume();
    const value = Number(text);
    if (text === '' || Number.isNaN(value) || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) throw new JsonPathError(`cannot parse number ${text}`);
    cur.nodes.push({ type: 'literal', value });
  }

  private parseArray(cur: ListNode): void {
    for (;;) {
      const c = this.next();
      if (c === '' || c === '\n') throw new JsonPathError('unterminated array');
      if (c === ']') break;
    }
    let text = this.consume().slice(1, -1);
    if (text === '*') text = ':';
    const members = text.split(',');
    if (members.length > 1) {
      cur.nodes.push({ type: 'union', nodes: members.map((m) => parseAction(`[${m.trim()}]`)) });
      return;
    }
    const key = DICT_KEY.exec(text);
    if (key) {
      cur.nodes.push(...parseAction(`.${key[1]}`).nodes);
      return;
    }
    const m = SLICE.exec(text);
    if (!m) throw new JsonPathError(`invalid array index ${text}`);
    const params: Param[] = [];
    for (let i = 0; i < 3; i++) {
      const raw = m[i + 1] ?? '';
      const digits = i > 0 ? raw.slice(1) : raw;
      if (raw !== '' && !(i > 0 && digits === '')) {
        const value = Number(digits);
        if (!/^-?\d+$/.test(digits)) throw new JsonPathError(`array index ${digits} is not a number`);
        params.push({ known: true, value, derived: false });
      } else if (raw === '' && i === 1) {
        params.push({ known: true, value: params[0].value + 1, derived: true }); // `[n]` is `[n:n+1]`
      } else {
        params.push({ known: false, value: 0, derived: false });
      }
    }
    cur.nodes.push({ type: 'array', params: params as [Param, Param, Param] });
  }

  private parseFilter(cur: ListNode): void {
    this.pos += 3;
    this.consume();
    let begin = false;
    let end = false;
    let pair = '';
    for (;;) {
      const c = this.next();
      if (c === '' || c === '\n') throw new JsonPathError('unterminated filter');
      if (c === '"' || c === "'") {
        if (!begin) {
          begin = true;
          pair = c;
        } else if (this.input[this.pos - 2] !== '\\' && c === pair) {
          end = true;
        }
      } else if (c === ')' && begin === end) {
        break;
      }
    }
    if (this.next() !== ']') throw new JsonPathError('unclosed array expect ]');
    const text = this.consume().slice(0, -2);
    const m = FILTER.exec(text);
    if (!m) cur.nodes.push({ type: 'filter', left: parseAction(text), right: list(), op: 'exists' });
    else cur.nodes.push({ type: 'filter', left: parseAction(m[1]), right: parseAction(m[3]), op: m[2] });
  }

  private parseQuote(cur: ListNode, quote: string): void {
    for (;;) {
      const c = this.next();
      if (c === '' || c === '\n') throw new JsonPathError('unterminated quoted string');
      if (c === quote && this.input[this.pos - 2] !== '\\') break;
    }
    const raw = this.consume();
    cur.nodes.push({ type: 'text', text: unquote(raw) });
  }

  private parseField(cur: ListNode): void {
    this.consume();
    for (;;) {
      const c = this.input[this.pos] ?? '';
      if (c === '\\') this.pos += 2;
      else if (isTerminator(c)) break;
      else this.pos++;
    }
    const value = this.consume();
    cur.nodes.push(value === '*' ? { type: 'wildcard' } : { type: 'field', name: value.replaceAll('\\', '') });
  }
}

/** Go strconv-style unquoting of a '...' or "..." literal. */
function unquote(raw: string): string {
  const body = raw.slice(1, -1);
  if (!body.includes('\\')) return body;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (!Object.hasOwn(escapes, e)) throw new JsonPathError(`unquote string ${raw} error invalid syntax`);
    return escapes[e];
  });
}

/** One `{...}` action's contents, parsed on its own (unions, dict keys and filter operands). */
function parseAction(text: string): ListNode {
  const root = new Parser(`{${text}}`).parse();
  return root.nodes[0] as ListNode;
}

// ---- evaluation -------------------------------------------------------------

type Value = unknown;
const isMap = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's name for a decoded-JSON value's type, for error messages. */
function goType(v: Value): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'string' ? 'string' : 'interface {}';
}

/** What a string's elements are when a path walks into it: its UTF-8 bytes. */
const bytesOf = (s: string): number[] => [...new TextEncoder().encode(s)];

function children(v: Value): Value[] {
  if (Array.isArray(v)) return v;
  if (isMap(v)) return Object.values(v);
  if (typeof v === 'string') return bytesOf(v);
  return [];
}

class Evaluator {
  private readonly allowMissingKeys: boolean;
  constructor(allowMissingKeys: boolean) {
    this.allowMissingKeys = allowMissingKeys;
  }

  walk(input: Value[], node: Node): Value[] {
    switch (node.type) {
      case 'list': return node.nodes.reduce((cur, n) => this.walk(cur, n), input);
      case 'text': return [node.text];
      case 'literal': return input.map(() => node.value);
      case 'field': return this.field(input, node.name);
      case 'array': return this.array(input, node.params);
      case 'filter': return this.filter(input, node);
      case 'wildcard': return input.filter((v) => v !== null).flatMap(children);
      case 'recursive': return this.recursive(input);
      case 'union': return node.nodes.flatMap((n) => this.walk(input, n));
      case 'identifier':
        throw new JsonPathError(node.name === 'range' || node.name === 'end'
          ? `${node.name} is not supported here` : `unrecognized identifier ${node.name}`);
    }
  }

  private field(input: Value[], name: string): Value[] {
    if (input.length === 0) return [];
    const out: Value[] = [];
    for (const v of input) if (isMap(v) && Object.hasOwn(v, name)) out.push(v[name]);
    if (out.length === 0 && !this.allowMissingKeys) throw new JsonPathError(`${name} is not found`);
    return out;
  }

  private array(input: Value[], node: [Param, Param, Param]): Value[] {
    const out: Value[] = [];
    for (const v of input) {
      if (v === null) continue;
      if (!Array.isArray(v)) throw new JsonPathError(`${goType(v)} is not array or slice`);
      const len = v.length;
      const p = node.map((x) => ({ ...x }));
      if (!p[0].known) p[0].value = 0;
      if (p[0].value < 0) p[0].value += len;
      if (!p[1].known) p[1].value = len;
      if (p[1].value < 0 || (p[1].value === 0 && p[1].derived)) p[1].value += len;
      if (p[1].value === p[0].value) return out; // zero elements asked for
      if (p[0].value >= len || p[0].value < 0) throw new JsonPathError(`array index out of bounds: index ${p[0].value}, length ${len}`);
      if (p[1].value > len || p[1].value < 0) throw new JsonPathError(`array index out of bounds: index ${p[1].value - 1}, length ${len}`);
      if (p[0].value > p[1].value) throw new JsonPathError(`starting index ${p[0].value} is greater than ending index ${p[1].value}`);
      let step = 1;
      if (p[2].known) {
        if (p[2].value <= 0) throw new JsonPathError('step must be > 0');
        step = p[2].value;
      }
      const slice = v.slice(p[0].value, p[1].value);
      for (let i = 0; i < slice.length; i += step) out.push(slice[i]);
    }
    return out;
  }

  private recursive(input: Value[]): Value[] {
    const out: Value[] = [];
    for (const v of input) {
      if (v === null) continue;
      const kids = children(v);
      if (kids.length > 0) out.push(v, ...this.recursive(kids));
    }
    return out;
  }

  private filter(input: Value[], node: { left: ListNode; right: ListNode; op: string }): Value[] {
    const out: Value[] = [];
    for (const v of input) {
      if (!Array.isArray(v)) throw new JsonPathError(`${JSON.stringify(v)} is not array or slice and cannot be filtered`);
      for (const item of v) {
        if (node.op === 'exists') {
          let found: Value[] = [];
          try {
            found = this.walk([item], node.left);
          } catch (e) {
            // A left side that cannot be evaluated simply does not exist.
            if (!(e instanceof JsonPathError)) throw e;
          }
          if (found.length > 0) out.push(item);
          continue;
        }
        const lefts = this.walk([item], node.left);
        if (lefts.length === 0) continue;
        if (lefts.length > 1) throw new JsonPathError('can only compare one element at a time');
        const rights = this.walk([item], node.right);
        if (rights.length === 0) continue;
        if (rights.length > 1) throw new JsonPathError('can only compare one element at a time');
        if (compare(lefts[0], rights[0], node.op)) out.push(item);
      }
    }
    return out;
  }
}

/** text/template's eq/ne/lt/le/gt/ge over decoded JSON scalars. */
function compare(a: Value, b: Value, op: string): boolean {
  const kind = (v: Value) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? typeof v : undefined);
  const ka = kind(a);
  const kb = kind(b);
  if (!ka || !kb) throw new JsonPathError('invalid type for comparison');
  if (ka !== kb) throw new JsonPathError('incompatible types for comparison');
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (ka === 'boolean') throw new JsonPathError('invalid type for comparison');
  const [x, y] = [a as string | number, b as string | number];
  switch (op) {
    case '<': return x < y;
    case '>': return x > y;
    case '<=': return x <= y;
    case '>=': return x >= y;
    default: throw new JsonPathError(`unrecognized filter operator ${op}`);
  }
}

export interface JsonPathOptions {
  /** Missing keys give no result instead of an error (true, as printer columns use it). */
  allowMissingKeys?: boolean;
}

const parsed = new Map<string, ListNode>();

/** Parses a path once; `.a.b` and `{.a.b}` mean the same. Throws JsonPathError on bad syntax. */
function parseJsonPath(expr: string): ListNode {
  let root = parsed.get(expr);
  if (!root) {
    root = new Parser(expr.trimStart().startsWith('{') ? expr : `{${expr}}`).parse();
    if (parsed.size > 1000) parsed.clear();
    parsed.set(expr, root);
  }
  return root;
}

/** Checks a path's syntax, throwing JsonPathError as the CRD printer-column parser would. */
export function validateJsonPath(expr: string): void {
  parseJsonPath(expr);
}

/** Every value the path reaches in obj, in order (client-go's FindResults, flattened). */
export function evalJsonPath(expr: string, obj: unknown, opts: JsonPathOptions = {}): unknown[] {
  const root = parseJsonPath(expr);
  const evaluator = new Evaluator(opts.allowMissingKeys ?? true);
  return root.nodes.flatMap((node) => evaluator.walk([obj], node));
}

/** Go's json.Marshal of decoded JSON: map keys sorted, <, > and & escaped. */
export function goJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown => Array.isArray(x) ? x.map(sortKeys)
    : isMap(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])])) : x;
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go's %v of a JSON number: integers in full, other floats in %g (exponent from 1e6 or below 1e-4). */
export function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString();
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const [mantissa, expText] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** How a printer column of type string shows a value the path found (client-go's PrintResults). */
export function jsonPathText(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (typeof v === 'object') return goJson(v);
  if (typeof v === 'number') return goNumber(v);
  return String(v);
}
