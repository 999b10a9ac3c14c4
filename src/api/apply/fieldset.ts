// Sets of field paths, as server-side apply tracks them per manager, and their
// wire form `fieldsV1` (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
//
// A path element is kept in its serialized wire form, which is also its identity:
//   f:<field name>            a field of a struct or a key of a map
//   k:{"key":value,...}       an item of a list of type map (keys sorted by name)
//   v:<json value>            an item of a list of type set
//   i:<index>                 an item of a list by position
// A set is a tree: `members` are the paths that end at this node, `children`
// the sub-sets below a path element. fieldsV1 writes a member as `{}` and a
// node that is both a member and has children with a `.` key.

export interface FieldSet {
  members: Set<string>;
  children: Map<string, FieldSet>;
}

export type FieldPath = string[];

export function emptySet(): FieldSet {
  return { members: new Set(), children: new Map() };
}

export function isEmptySet(s: FieldSet): boolean {
  return s.members.size === 0 && s.children.size === 0;
}

export function insertPath(s: FieldSet, path: FieldPath): void {
  if (path.length === 0) return; // nobody owns "the whole object"
  let node = s;
  for (let i = 0; i < path.length - 1; i++) {
    let next = node.children.get(path[i]);
    if (!next) {
      next = emptySet();
      node.children.set(path[i], next);
    }
    node = next;
  }
  node.members.add(path[path.length - 1]);
}

export function hasPath(s: FieldSet, path: FieldPath): boolean {
  if (path.length === 0) return false;
  let node: FieldSet | undefined = s;
  for (let i = 0; i < path.length - 1; i++) {
    node = node.children.get(path[i]);
    if (!node) return false;
  }
  return node.members.has(path[path.length - 1]);
}

export function cloneSet(s: FieldSet): FieldSet {
  const out: FieldSet = { members: new Set(s.members), children: new Map() };
  for (const [pe, child] of s.children) out.children.set(pe, cloneSet(child));
  return out;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  const out = cloneSet(a);
  for (const m of b.members) out.members.add(m);
  for (const [pe, child] of b.children) {
    const mine = out.children.get(pe);
    out.children.set(pe, mine ? union(mine, child) : cloneSet(child));
  }
  return out;
}

/** The paths of a that are not in b (exact paths: b's members don't remove a's descendants). */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { members: new Set(), children: new Map() };
  for (const m of a.members) if (!b.members.has(m)) out.members.add(m);
  for (const [pe, child] of a.children) {
    const other = b.children.get(pe);
    const rest = other ? difference(child, other) : cloneSet(child);
    if (!isEmptySet(rest)) out.children.set(pe, rest);
  }
  return out;
}

/** The paths of a that are not in b nor below a member of b. */
export function recursiveDifference(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { members: new Set(), children: new Map() };
  for (const m of a.members) if (!b.members.has(m)) out.members.add(m);
  for (const [pe, child] of a.children) {
    if (b.members.has(pe)) continue;
    const other = b.children.get(pe);
    const rest = other ? recursiveDifference(child, other) : cloneSet(child);
    if (!isEmptySet(rest)) out.children.set(pe, rest);
  }
  return out;
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { members: new Set(), children: new Map() };
  for (const m of a.members) if (b.members.has(m)) out.members.add(m);
  for (const [pe, child] of a.children) {
    const other = b.children.get(pe);
    if (!other) continue;
    const both = intersection(child, other);
    if (!isEmptySet(both)) out.children.set(pe, both);
  }
  return out;
}

/** Every path in the set, members of a node before its children, each group in path-element order. */
export function listPaths(s: FieldSet, prefix: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = [];
  for (const m of [...s.members].sort(comparePathElements)) out.push([...prefix, m]);
  for (const pe of [...s.children.keys()].sort(comparePathElements)) {
    out.push(...listPaths(s.children.get(pe)!, [...prefix, pe]));
  }
  return out;
}

// ---- path elements ----------------------------------------------------------

const GO_ESCAPED = /[<>&\u2028\u2029]/;

/** JSON as Go's encoding/json writes it (HTML-safe escapes), which fieldsV1 keys use. */
export function goJSON(v: unknown): string {
  const json = JSON.stringify(v);
  // Almost never needed: one test instead of five replaces on every key element.
  if (!GO_ESCAPED.test(json)) return json;
  return json
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** A list-map item's element; `keys` are the key fields present, any order. */
export function keyElement(keys: Record<string, unknown>): string {
  const names = Object.keys(keys).sort(compareStrings);
  return `k:{${names.map((n) => `${goJSON(n)}:${goJSON(keys[n])}`).join(',')}}`;
}

export function valueElement(v: unknown): string {
  return `v:${goJSON(v)}`;
}

export function indexElement(i: number): string {
  return `i:${i}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const TYPE_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Orders path elements as structured-merge-diff does: fields, keys, values, indexes. */
export function comparePathElements(a: string, b: string): number {
  const ta = TYPE_ORDER[a[0]] ?? 4, tb = TYPE_ORDER[b[0]] ?? 4;
  if (ta !== tb) return ta - tb;
  const ra = a.slice(2), rb = b.slice(2);
  switch (a[0]) {
    case 'f': return compareStrings(ra, rb);
    case 'i': return Number(ra) - Number(rb);
    case 'v': return compareValues(JSON.parse(ra), JSON.parse(rb));
    case 'k': {
      const ka = Object.entries(JSON.parse(ra) as Record<string, unknown>);
      const kb = Object.entries(JSON.parse(rb) as Record<string, unknown>);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c = compareStrings(ka[i][0], kb[i][0]) || compareValues(ka[i][1], kb[i][1]);
        if (c !== 0) return c;
      }
      return ka.length - kb.length;
    }
  }
  return compareStrings(a, b);
}

/** A total order over JSON values: numbers, strings, booleans, then anything else. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) =>
    typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : typeof v === 'boolean' ? 2 : v === null ? 5 : Array.isArray(v) ? 3 : 4;
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

/** Go's `%v` rendering of a value inside a path, as conflict messages print it. */
function valueString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (typeof v === 'object') return Object.entries(v as object).map(([k, x]) => `${k}=${valueString(x)}`).join('');
  return String(v);
}

/** A path as Kubernetes prints it in conflicts: `.spec.containers[name="nginx"].image`. */
export function pathString(path: FieldPath): string {
  return path.map((pe) => {
    const rest = pe.slice(2);
    switch (pe[0]) {
      case 'f': return `.${rest}`;
      case 'i': return `[${rest}]`;
      case 'v': return `[=${valueString(JSON.parse(rest))}]`;
      case 'k': {
        const keys = Object.entries(JSON.parse(rest) as Record<string, unknown>);
        return `[${keys.map(([k, v]) => `${k}=${valueString(v)}`).join(',')}]`;
      }
    }
    return pe;
  }).join('');
}

// ---- fieldsV1 ----------------------------------------------------------------

export type FieldsV1 = { [pathElement: string]: FieldsV1 };

export function toFieldsV1(s: FieldSet): FieldsV1 {
  const out: FieldsV1 = {};
  const keys = new Set([...s.members, ...s.children.keys()]);
  for (const pe of [...keys].sort(comparePathElements)) {
    const child = s.children.get(pe);
    if (!child) {
      out[pe] = {};
      continue;
    }
    const node: FieldsV1 = s.members.has(pe) ? { '.': {} } : {};
    Object.assign(node, toFieldsV1(child));
    out[pe] = node;
  }
  return out;
}

/** Parses fieldsV1, normalizing key and value elements; throws on a malformed element. */
export function fromFieldsV1(json: unknown): FieldSet {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('fieldsV1 must be a JSON object');
  }
  const s = emptySet();
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (key === '.') continue; // read by the parent
    const pe = normalizeElement(key);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`fieldsV1 entry ${JSON.stringify(key)} must be an object`);
    }
    const entries = Object.keys(value);
    if (entries.length === 0 || '.' in value) s.members.add(pe);
    const child = fromFieldsV1(value);
    if (!isEmptySet(child)) s.children.set(pe, child);
  }
  return s;
}

function normalizeElement(key: string): string {
  if (key.length < 2 || key[1] !== ':') throw new Error(`invalid path element ${JSON.stringify(key)}`);
  const rest = key.slice(2);
  switch (key[0]) {
    case 'f': return key;
    case 'i':
      if (!/^-?\d+$/.test(rest)) throw new Error(`invalid index in path element ${JSON.stringify(key)}`);
      return indexElement(Number(rest));
    case 'v': return valueElement(JSON.parse(rest));
    case 'k': {
      const keys = JSON.parse(rest);
      if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
        throw new Error(`invalid key in path element ${JSON.stringify(key)}`);
      }
      return keyElement(keys as Record<string, unknown>);
    }
  }
  throw new Error(`unknown path element type in ${JSON.stringify(key)}`);
}
