// Decodes an `application/vnd.kubernetes.protobuf` body into the JSON object a JSON client would
// have sent. Envelope: 'k8s\0' then a runtime.Unknown {typeMeta{apiVersion=1, kind=2}=1, raw=2,
// contentEncoding=3, contentType=4}; raw is the object's own message.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding
//
// Field presence follows Go: the generated marshaller writes every non-pointer field, so a zero
// value is dropped only where the JSON tag has omitempty, kept for pointers, and filled in for
// non-omitempty scalars a sender left out, which is what kube-apiserver's JSON shows.
import protobuf from 'protobufjs/minimal.js';
import type { KubeObject } from '../types.ts';
import { isScalar, isWellKnown, messageForKind, messageInfo, type FieldInfo, type MessageInfo } from './schema.ts';
import { decodeWellKnown, hasMagic, int64Of } from './wellknown.ts';

type Reader = protobuf.Reader;
type Json = Record<string, unknown>;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;

function wireTypeOf(type: string): number {
  if (type === 'int32' || type === 'int64' || type === 'bool') return WIRE_VARINT;
  if (type === 'double') return WIRE_FIXED64;
  return WIRE_BYTES;
}

function readScalar(r: Reader, type: string): unknown {
  switch (type) {
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64'); // JSON carries []byte as base64
    case 'int32': return r.int32();
    case 'int64': return Number(int64Of(r));
    case 'bool': return r.bool();
    case 'double': return r.double();
  }
  throw new Error(`protobuf: unsupported scalar type ${type}`);
}

function zeroScalar(type: string): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false;
}

/** The JSON value of a message-typed field from its bytes (undefined: Go would print null). */
function decodeValue(type: string, bytes: Uint8Array, path: string): unknown {
  if (isWellKnown(type)) return decodeWellKnown(type, bytes, decodeKubernetesProtobuf);
  const info = messageInfo(type);
  const decoded = decodeMessage(info, bytes, path);
  return info.listOf ? (decoded['items'] ?? []) : decoded;
}

function readValue(r: Reader, field: FieldInfo, wire: number, path: string): unknown {
  const expected = wireTypeOf(field.type);
  if (wire !== expected) {
    throw new Error(`protobuf: ${path} (field ${field.number}, ${field.type}) has wire type ${wire}, expected ${expected}`);
  }
  return isScalar(field.type) ? readScalar(r, field.type) : decodeValue(field.type, r.bytes(), path);
}

function readMapEntry(entry: Uint8Array, field: FieldInfo, path: string): [string, unknown] {
  const r = protobuf.Reader.create(entry);
  let key = '';
  let value: unknown;
  let hasValue = false;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const num = tag >>> 3;
    const wire = tag & 7;
    if (num === 1 && wire === WIRE_BYTES) key = r.string();
    else if (num === 2) {
      value = readValue(r, field, wire, `${path}[${JSON.stringify(key)}]`);
      hasValue = true;
    } else r.skipType(wire);
  }
  if (!hasValue) value = isScalar(field.type) ? zeroScalar(field.type) : decodeValue(field.type, new Uint8Array(0), path);
  return [key, value ?? null];
}

function readField(r: Reader, field: FieldInfo, wire: number, out: Json, path: string): void {
  const at = field.inline ? path : path ? `${path}.${field.name}` : field.name;
  if (field.map) {
    if (wire !== WIRE_BYTES) throw new Error(`protobuf: ${at} (map field ${field.number}) has wire type ${wire}, expected 2`);
    const [key, value] = readMapEntry(r.bytes(), field, at);
    ((out[field.name] ??= {}) as Json)[key] = value;
    return;
  }
  if (field.repeated) {
    const list = (out[field.name] ??= []) as unknown[];
    if (wire === WIRE_BYTES && wireTypeOf(field.type) !== WIRE_BYTES) {
      const end = r.uint32() + r.pos; // packed scalars: allowed by the proto spec, though Go writes unpacked
      while (r.pos < end) list.push(readScalar(r, field.type));
      return;
    }
    list.push(readValue(r, field, wire, `${at}[${list.length}]`) ?? null);
    return;
  }
  const value = readValue(r, field, wire, at);
  if (field.inline) Object.assign(out, value);
  else if (value === undefined) delete out[field.name];
  else out[field.name] = value;
}

/** Applies Go's JSON presence rules to the scalars of a decoded message (see header comment). */
function settlePresence(info: MessageInfo, out: Json): void {
  for (const field of info.fields) {
    if (field.repeated || field.map || field.inline || field.pointer || !isScalar(field.type)) continue;
    if (field.name in out) {
      if (!field.required && isZero(out[field.name])) delete out[field.name];
    } else if (field.required) {
      out[field.name] = zeroScalar(field.type);
    }
  }
}

function decodeMessage(info: MessageInfo, bytes: Uint8Array, path: string): Json {
  const out: Json = {};
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const num = tag >>> 3;
    if (num === 0) throw new Error(`protobuf: invalid field number 0 in ${info.name} at ${path || '<root>'}`);
    const field = info.byNumber.get(num);
    if (field) readField(r, field, tag & 7, out, path);
    else r.skipType(tag & 7); // a field this server does not know: ignored, as Go's decoder does
  }
  settlePresence(info, out);
  return out;
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

function readEnvelope(bytes: Uint8Array): Envelope {
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const num = tag >>> 3;
    if ((tag & 7) !== WIRE_BYTES || num < 1 || num > 4) {
      r.skipType(tag & 7);
      continue;
    }
    if (num === 1) {
      const tm = protobuf.Reader.create(r.bytes());
      while (tm.pos < tm.len) {
        const t = tm.uint32();
        if (t === 10) env.apiVersion = tm.string();
        else if (t === 18) env.kind = tm.string();
        else tm.skipType(t & 7);
      }
    } else if (num === 2) env.raw = r.bytes();
    else if (num === 3) env.contentEncoding = r.string();
    else env.contentType = r.string();
  }
  return env;
}

/**
 * Decodes a Kubernetes protobuf body ('k8s\0' + runtime.Unknown) into the object's JSON form,
 * with apiVersion and kind from the envelope. Throws an Error saying what is wrong on bad input.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): KubeObject {
  if (!hasMagic(body)) {
    throw new Error('protobuf: body does not start with the Kubernetes protobuf prefix "k8s\\x00"');
  }
  let env: Envelope;
  try {
    env = readEnvelope(body.subarray(4));
  } catch (err) {
    throw new Error(`protobuf: malformed runtime.Unknown envelope: ${(err as Error).message}`, { cause: err });
  }
  if (!env.kind || !env.apiVersion) {
    throw new Error('protobuf: the envelope names no apiVersion/kind (runtime.Unknown typeMeta is empty)');
  }
  if (env.contentEncoding) {
    throw new Error(`protobuf: unsupported contentEncoding '${env.contentEncoding}' in the envelope`);
  }
  const info = messageForKind(env.apiVersion, env.kind);
  let decoded: Json;
  try {
    decoded = decodeMessage(info, env.raw, '');
  } catch (err) {
    const message = (err as Error).message;
    const detail = message.startsWith('protobuf:') ? message.slice('protobuf: '.length) : `malformed message (${message})`;
    throw new Error(`protobuf: cannot decode ${env.apiVersion}, Kind=${env.kind}: ${detail}`, { cause: err });
  }
  return { apiVersion: env.apiVersion, kind: env.kind, ...decoded };
}
