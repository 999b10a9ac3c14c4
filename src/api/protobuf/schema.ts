// The message layouts the Kubernetes protobuf codec needs, parsed from the compact notation in
// ./messages/*.ts, and the lookup from apiVersion/kind to the message that carries the object.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding
//
// Notation: a message is a comma-separated list of fields, each `NUMBER jsonName TYPE[suffix]`.
// TYPE is a scalar (string, int32, int64, bool, bytes, double) or a message name; a name without a
// package ('PodSpec') belongs to the file's own package, others are qualified ('meta.v1.ObjectMeta').
// Suffix:
//   []  repeated                     {}  map<string, TYPE> (entries: key = 1, value = 2)
//   ?   Go pointer: kept when present, even when zero
//   !   Go JSON tag without omitempty: written even when zero (and zero when absent)
//   ^   embedded struct that Go's JSON inlines into the parent (its fields appear in the parent)
//   (none) omitempty: a zero scalar is dropped, as Go's JSON encoder does
// A message written `[] TYPE` is a Go named slice (`type ExtraValue []string`): proto wraps it as
// `repeated TYPE items = 1`, JSON shows the bare array.
import { APPS_V1 } from './messages/apps-v1.ts';
import { BATCH_V1 } from './messages/batch-v1.ts';
import { CORE_V1 } from './messages/core-v1.ts';
import { CORE_V1_POD } from './messages/core-v1-pod.ts';
import { META_V1 } from './messages/meta-v1.ts';
import * as OTHER from './messages/other-groups.ts';

export interface PackageMessages {
  pkg: string;
  messages: Record<string, string>;
}

export type ScalarType = 'string' | 'int32' | 'int64' | 'bool' | 'bytes' | 'double';

/** Messages with a custom JSON form, handled by ./wellknown.ts rather than by a field table. */
export const WELL_KNOWN = [
  'meta.v1.Time',
  'meta.v1.MicroTime',
  'meta.v1.Duration',
  'meta.v1.FieldsV1',
  'resource.Quantity',
  'intstr.IntOrString',
  'runtime.RawExtension',
] as const;
export type WellKnownType = (typeof WELL_KNOWN)[number];

export interface FieldInfo {
  number: number;
  /** The JSON field name (for an inlined field, only informative). */
  name: string;
  /** A scalar, a well-known type or a qualified message name. */
  type: string;
  repeated: boolean;
  map: boolean;
  pointer: boolean;
  required: boolean;
  inline: boolean;
}

export interface MessageInfo {
  name: string;
  fields: FieldInfo[];
  byNumber: Map<number, FieldInfo>;
  /** Set for a named slice: the JSON value is a bare array of this type (proto field 1). */
  listOf?: string;
}

const SCALARS = new Set<string>(['string', 'int32', 'int64', 'bool', 'bytes', 'double']);
const WELL_KNOWN_SET = new Set<string>(WELL_KNOWN);

export function isScalar(type: string): type is ScalarType {
  return SCALARS.has(type);
}

export function isWellKnown(type: string): type is WellKnownType {
  return WELL_KNOWN_SET.has(type);
}

const SOURCES: PackageMessages[] = [CORE_V1_POD, CORE_V1, APPS_V1, BATCH_V1, META_V1, ...Object.values(OTHER)];

function qualify(pkg: string, type: string): string {
  if (isScalar(type) || type.includes('.')) return type;
  return `${pkg}.${type}`;
}

function parseField(pkg: string, message: string, text: string): FieldInfo {
  const m = /^(\d+) ([\w$-]+) ([\w.]+)(\[\]|\{\}|\?|!|\^)?$/.exec(text.trim());
  if (!m) throw new Error(`protobuf schema: cannot parse field '${text}' of ${pkg}.${message}`);
  const suffix = m[4] ?? '';
  return {
    number: Number(m[1]),
    name: m[2]!,
    type: qualify(pkg, m[3]!),
    repeated: suffix === '[]',
    map: suffix === '{}',
    pointer: suffix === '?',
    required: suffix === '!',
    inline: suffix === '^',
  };
}

function parseMessage(pkg: string, name: string, text: string): MessageInfo {
  const full = `${pkg}.${name}`;
  const list = /^\[\] ([\w.]+)$/.exec(text);
  if (list) {
    const item: FieldInfo = {
      number: 1, name: 'items', type: qualify(pkg, list[1]!), repeated: true, map: false,
      pointer: false, required: false, inline: false,
    };
    return { name: full, fields: [item], byNumber: new Map([[1, item]]), listOf: item.type };
  }
  const fields = text === '' ? [] : text.split(',').map((f) => parseField(pkg, name, f));
  return { name: full, fields, byNumber: new Map(fields.map((f) => [f.number, f])) };
}

const MESSAGES = new Map<string, MessageInfo>();
for (const source of SOURCES) {
  for (const [name, text] of Object.entries(source.messages)) {
    MESSAGES.set(`${source.pkg}.${name}`, parseMessage(source.pkg, name, text));
  }
}

/** All known messages by qualified name ('core.v1.PodSpec'). */
export function allMessages(): ReadonlyMap<string, MessageInfo> {
  return MESSAGES;
}

export function messageInfo(name: string): MessageInfo {
  const info = MESSAGES.get(name);
  if (!info) throw new Error(`protobuf: no message layout for ${name}`);
  return info;
}

/** The proto package of an API group version: '' + v1 -> core.v1, 'coordination.k8s.io' -> coordination.v1. */
function packageOf(apiVersion: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (!version) return undefined;
  if (group === '') return `core.${version}`;
  const short = group.endsWith('.k8s.io') ? group.slice(0, -'.k8s.io'.length) : group;
  if (short.includes('.')) return undefined; // custom resources have no protobuf form
  return `${short}.${version}`;
}

/**
 * The message for an object of apiVersion/kind. Option and status kinds (DeleteOptions, Status, ...)
 * are registered in every group version but always use the meta/v1 message.
 */
export function messageForKind(apiVersion: string, kind: string): MessageInfo {
  const pkg = packageOf(apiVersion);
  const info = (pkg && MESSAGES.get(`${pkg}.${kind}`)) || MESSAGES.get(`meta.v1.${kind}`);
  if (!info) {
    throw new Error(
      `protobuf: no protobuf schema for ${apiVersion}, Kind=${kind}; send it as application/json instead`,
    );
  }
  return info;
}
