// Messages whose JSON form is not "an object of its fields": times, durations, quantities,
// int-or-string, and the raw JSON carriers (RawExtension, FieldsV1). Each is read from / written
// to its protobuf message here, with the JSON value kube-apiserver would print.
import protobuf from 'protobufjs/minimal.js';
import type { WellKnownType } from './schema.ts';
import { parseGoDuration as goDurationNanos } from '../time.ts';

type Reader = protobuf.Reader;
type Writer = protobuf.Writer;

/** The k8s protobuf envelope prefix: 'k8s' + encoding style 0 (runtime.Unknown follows). */
export const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds: meta/v1 Time treats it as unset. */
const ZERO_TIME_SECONDS = -62135596800n;

export function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

export function int64Of(r: Reader): bigint {
  return BigInt(r.int64().toString());
}

/** Reads the fields of a small message into number -> last value, for the few well-known layouts. */
function readFields(bytes: Uint8Array, what: string, read: (r: Reader, num: number, wire: number) => boolean): void {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (!read(r, tag >>> 3, tag & 7)) r.skipType(tag & 7);
  }
  if (r.pos !== r.len) throw new Error(`protobuf: truncated ${what}`);
}

function readTimestamp(bytes: Uint8Array, what: string): { seconds: bigint; nanos: number } {
  let seconds = 0n;
  let nanos = 0;
  readFields(bytes, what, (r, num, wire) => {
    if (num === 1 && wire === 0) seconds = int64Of(r);
    else if (num === 2 && wire === 0) nanos = r.int32();
    else return false;
    return true;
  });
  return { seconds, nanos };
}

function formatTime(seconds: bigint, micros: number | undefined): string {
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2026-11-21T10:00:00.000Z
  const base = iso.slice(0, 19);
  return micros === undefined ? `${base}Z` : `${base}.${String(micros).padStart(6, '0')}Z`;
}

/** Go's time.Duration.String(): 1h0m0s, 1m30s, 1.5s, 250ms, 0s. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  const frac = (v: bigint, digits: number): string => {
    const unit = 10n ** BigInt(digits);
    const rest = (v % unit).toString().padStart(digits, '0').replace(/0+$/, '');
    return `${v / unit}${rest ? `.${rest}` : ''}`;
  };
  if (u < 1000n) return `${sign}${u}ns`;
  if (u < 1000000n) return `${sign}${frac(u, 3)}µs`;
  if (u < 1000000000n) return `${sign}${frac(u, 6)}ms`;
  const totalSeconds = u / 1000000000n;
  const secs = `${frac(u % 60000000000n, 9)}s`;
  const minutes = (totalSeconds / 60n) % 60n;
  const hours = totalSeconds / 3600n;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${secs}`;
  if (minutes > 0n) return `${sign}${minutes}m${secs}`;
  return `${sign}${secs}`;
}

/** Go's time.ParseDuration, to nanoseconds as the protobuf Duration carries them. */
export function parseGoDuration(text: string): bigint {
  const ns = goDurationNanos(text);
  if (ns === undefined) throw new Error(`protobuf: invalid duration '${text}' (want Go syntax like 1h30m or 10s)`);
  return BigInt(Math.round(ns));
}

function readRawJson(bytes: Uint8Array, what: string, field: number, decodeEmbedded: (b: Uint8Array) => unknown): unknown {
  let raw: Uint8Array | undefined;
  readFields(bytes, what, (r, num, wire) => {
    if (num !== field || wire !== 2) return false;
    raw = r.bytes();
    return true;
  });
  if (!raw || raw.length === 0) return undefined;
  if (hasMagic(raw)) return decodeEmbedded(raw);
  const text = new TextDecoder().decode(raw);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`protobuf: ${what} does not hold JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The JSON value of a well-known message, or undefined when Go's JSON would print null
 * (zero Time, empty RawExtension): the caller leaves such a field out.
 */
export function decodeWellKnown(type: WellKnownType, bytes: Uint8Array, decodeEmbedded: (b: Uint8Array) => unknown): unknown {
  switch (type) {
    case 'meta.v1.Time': {
      if (bytes.length === 0) return undefined;
      const t = readTimestamp(bytes, type);
      // Like Go, Time keeps whole seconds only: its JSON form has no fraction.
      return t.seconds === ZERO_TIME_SECONDS ? undefined : formatTime(t.seconds, undefined);
    }
    case 'meta.v1.MicroTime': {
      if (bytes.length === 0) return undefined;
      const t = readTimestamp(bytes, type);
      return t.seconds === ZERO_TIME_SECONDS ? undefined : formatTime(t.seconds, Math.floor(t.nanos / 1000));
    }
    case 'meta.v1.Duration': {
      let ns = 0n;
      readFields(bytes, type, (r, num, wire) => (num === 1 && wire === 0 ? ((ns = int64Of(r)), true) : false));
      return formatGoDuration(ns);
    }
    case 'resource.Quantity': {
      let text = '';
      readFields(bytes, type, (r, num, wire) => (num === 1 && wire === 2 ? ((text = r.string()), true) : false));
      return text === '' ? '0' : text; // the zero Quantity prints as "0"
    }
    case 'intstr.IntOrString': {
      let kind = 0n;
      let intVal = 0;
      let strVal = '';
      readFields(bytes, type, (r, num, wire) => {
        if (num === 1 && wire === 0) kind = int64Of(r);
        else if (num === 2 && wire === 0) intVal = r.int32();
        else if (num === 3 && wire === 2) strVal = r.string();
        else return false;
        return true;
      });
      return kind === 1n ? strVal : intVal;
    }
    case 'runtime.RawExtension':
      return readRawJson(bytes, type, 1, decodeEmbedded);
    case 'meta.v1.FieldsV1':
      return readRawJson(bytes, type, 1, decodeEmbedded);
  }
}

function timeSeconds(value: unknown, what: string): { seconds: number; nanos: number } {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new Error(`protobuf: ${what} wants an RFC 3339 time, got ${JSON.stringify(value)}`);
  const frac = typeof value === 'string' ? /\.(\d+)/.exec(value)?.[1] : undefined;
  const nanos = frac ? Number(frac.slice(0, 9).padEnd(9, '0')) : 0;
  return { seconds: Math.floor(ms / 1000), nanos };
}

/** Writes the message body (not tag/length) of a well-known type from its JSON value. */
export function encodeWellKnown(type: WellKnownType, value: unknown, w: Writer): void {
  switch (type) {
    case 'meta.v1.Time': {
      const t = timeSeconds(value, type);
      w.uint32(8).int64(t.seconds);
      return;
    }
    case 'meta.v1.MicroTime': {
      const t = timeSeconds(value, type);
      w.uint32(8).int64(t.seconds).uint32(16).int32(Math.floor(t.nanos / 1000) * 1000);
      return;
    }
    case 'meta.v1.Duration':
      if (typeof value !== 'string') throw new Error(`protobuf: ${type} wants a string like 30s, got ${JSON.stringify(value)}`);
      w.uint32(8).int64(parseGoDuration(value).toString());
      return;
    case 'resource.Quantity':
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new Error(`protobuf: ${type} wants a string or number, got ${JSON.stringify(value)}`);
      }
      w.uint32(10).string(String(value));
      return;
    case 'intstr.IntOrString':
      if (typeof value === 'number') w.uint32(8).int64(0).uint32(16).int32(value);
      else if (typeof value === 'string') w.uint32(8).int64(1).uint32(26).string(value);
      else throw new Error(`protobuf: ${type} wants a number or string, got ${JSON.stringify(value)}`);
      return;
    case 'runtime.RawExtension':
    case 'meta.v1.FieldsV1':
      // Embedded objects travel as JSON, as client-go's typed clients send them.
      w.uint32(10).bytes(new TextEncoder().encode(JSON.stringify(value)));
      return;
  }
}
