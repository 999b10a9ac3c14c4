// Encodes a JSON object as an `application/vnd.kubernetes.protobuf` body: the inverse of ./decode.ts.
// Only fields present in the JSON are written (decode fills in the zero values Go's JSON shows).
import protobuf from 'protobufjs/minimal.js';
import type { KubeObject } from '../types.ts';
import { isScalar, isWellKnown, messageForKind, messageInfo, type FieldInfo, type MessageInfo } from './schema.ts';
import { MAGIC, encodeWellKnown } from './wellknown.ts';

type Writer = protobuf.Writer;
type Json = Record<string, unknown>;

function fail(path: string, what: string, value: unknown): never {
  throw new Error(`protobuf: ${path || '<root>'} wants ${what}, got ${JSON.stringify(value)}`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON names a message accepts, including those of its inlined (embedded) structs. */
function jsonNames(info: MessageInfo, into = new Set<string>()): Set<string> {
  for (const f of info.fields) {
    if (f.inline) jsonNames(messageInfo(f.type), into);
    else into.add(f.name);
  }
  return into;
}

function writeScalar(w: Writer, num: number, type: string, value: unknown, path: string): void {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') fail(path, 'a string', value);
      w.uint32((num << 3) | 2).string(value);
      return;
    case 'bytes':
      if (typeof value !== 'string') fail(path, 'a base64 string', value);
      w.uint32((num << 3) | 2).bytes(Buffer.from(value, 'base64'));
      return;
    case 'int32':
    case 'int64':
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'an integer', value);
      if (type === 'int32') w.uint32(num << 3).int32(value);
      else w.uint32(num << 3).int64(value);
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail(path, 'a boolean', value);
      w.uint32(num << 3).bool(value);
      return;
    case 'double':
      if (typeof value !== 'number') fail(path, 'a number', value);
      w.uint32((num << 3) | 1).double(value);
      return;
  }
  throw new Error(`protobuf: unsupported scalar type ${type}`);
}

function writeValue(w: Writer, num: number, type: string, value: unknown, path: string): void {
  if (isScalar(type)) return writeScalar(w, num, type, value, path);
  w.uint32((num << 3) | 2).fork();
  if (isWellKnown(type)) encodeWellKnown(type, value, w);
  else writeMessage(w, messageInfo(type), value, path);
  w.ldelim();
}

function writeField(w: Writer, field: FieldInfo, obj: Json, path: string): void {
  if (field.inline) {
    w.uint32((field.number << 3) | 2).fork();
    writeMessage(w, messageInfo(field.type), obj, path, true);
    w.ldelim();
    return;
  }
  const value = obj[field.name];
  if (value === undefined || value === null) return;
  const at = path ? `${path}.${field.name}` : field.name;
  if (field.map) {
    if (!isObject(value)) fail(at, 'an object', value);
    for (const key of Object.keys(value).sort()) { // Go writes map entries in key order
      if (value[key] === null || value[key] === undefined) continue;
      w.uint32((field.number << 3) | 2).fork().uint32(10).string(key);
      writeValue(w, 2, field.type, value[key], `${at}[${JSON.stringify(key)}]`);
      w.ldelim();
    }
  } else if (field.repeated) {
    if (!Array.isArray(value)) fail(at, 'an array', value);
    value.forEach((item, i) => writeValue(w, field.number, field.type, item, `${at}[${i}]`));
  } else {
    writeValue(w, field.number, field.type, value, at);
  }
}

function writeMessage(w: Writer, info: MessageInfo, value: unknown, path: string, embedded = false): void {
  if (info.listOf) {
    if (!Array.isArray(value)) fail(path, 'an array', value);
    value.forEach((item, i) => writeValue(w, 1, info.listOf!, item, `${path}[${i}]`));
    return;
  }
  if (!isObject(value)) fail(path, `an object (${info.name})`, value);
  if (!embedded) {
    const known = jsonNames(info);
    for (const key of Object.keys(value)) {
      if (path === '' && (key === 'apiVersion' || key === 'kind')) continue; // carried by the envelope
      if (!known.has(key)) throw new Error(`protobuf: ${path || '<root>'} (${info.name}) has no field '${key}'`);
    }
  }
  for (const field of info.fields) writeField(w, field, value, path);
}

/** Encodes an object as 'k8s\0' + runtime.Unknown{typeMeta, raw}, as client-go sends it. */
export function encodeKubernetesProtobuf(obj: KubeObject): Uint8Array {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
    throw new Error('protobuf: cannot encode an object without apiVersion and kind');
  }
  const info = messageForKind(apiVersion, kind);
  const raw = protobuf.Writer.create();
  writeMessage(raw, info, obj, '');
  const w = protobuf.Writer.create();
  w.uint32(10).fork().uint32(10).string(apiVersion).uint32(18).string(kind).ldelim();
  w.uint32(18).bytes(raw.finish());
  w.uint32(26).string('').uint32(34).string(''); // contentEncoding, contentType: empty, as Go writes them
  const envelope = w.finish();
  const out = new Uint8Array(MAGIC.length + envelope.length);
  out.set(MAGIC, 0);
  out.set(envelope, MAGIC.length);
  return out;
}
