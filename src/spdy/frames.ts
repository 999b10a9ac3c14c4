// SPDY/3.1 framing: the frame layouts of the SPDY/3.1 draft
// (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/#2-2-framing), as the
// moby/spdystream library under kubectl's port-forward and exec speaks them. Header blocks stay
// compressed here; header-codec.ts (de)compresses them in connection order.

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** The largest payload a frame's 24-bit length can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
/** What we put in one DATA frame (spdystream reads any size; smaller frames interleave streams better). */
export const DATA_CHUNK = 32 * 1024;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/** One DATA frame. */
export function dataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  if (data.length > MAX_FRAME_PAYLOAD) throw new Error(`SPDY DATA frame of ${data.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24 | data.length) >>> 0, 4);
  return Buffer.concat([head, data]);
}

/** One control frame around its payload. */
export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new Error(`SPDY control frame of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE((flags << 24 | payload.length) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

export function synReplyPayload(streamId: number, headerBlock: Buffer): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(streamId & 0x7fffffff);
  return Buffer.concat([b, headerBlock]);
}

export function synStreamPayload(streamId: number, associatedTo: number, priority: number, headerBlock: Buffer): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(associatedTo & 0x7fffffff, 4);
  b.writeUInt8((priority & 0x7) << 5, 8);
  return Buffer.concat([b, headerBlock]);
}

export function rstStreamPayload(streamId: number, status: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(status, 4);
  return b;
}

export function goAwayPayload(lastGoodStreamId: number, status: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  b.writeUInt32BE(status, 4);
  return b;
}

export function pingPayload(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(id >>> 0);
  return b;
}

/** Encodes a header block (before compression): count, then length-prefixed names and values. */
export function encodeHeaderBlock(headers: Record<string, string | string[]>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    // Several values of one header travel NUL-separated.
    const v = Buffer.from(Array.isArray(value) ? value.join('\0') : value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed header block into lower-case names and their values. */
export function decodeHeaderBlock(block: Buffer): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  let off = 0;
  const need = (n: number) => {
    if (off + n > block.length) throw new Error('SPDY header block is truncated');
  };
  need(4);
  const count = block.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < count; i++) {
    need(4);
    const nl = block.readUInt32BE(off);
    off += 4;
    need(nl);
    const name = block.subarray(off, off + nl).toString('utf8').toLowerCase();
    off += nl;
    need(4);
    const vl = block.readUInt32BE(off);
    off += 4;
    need(vl);
    const value = block.subarray(off, off + vl).toString('utf8');
    off += vl;
    (headers[name] ??= []).push(...value.split('\0'));
  }
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Splits a byte stream (any chunking) into frames. */
export class FrameParser {
  #buf: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns every frame now complete. */
  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: Frame[] = [];
    while (this.#buf.length >= 8) {
      const word = this.#buf.readUInt32BE(0);
      const flagsLen = this.#buf.readUInt32BE(4);
      const length = flagsLen & 0xffffff;
      if (this.#buf.length < 8 + length) break;
      const flags = flagsLen >>> 24;
      const body = this.#buf.subarray(8, 8 + length);
      if (word & 0x80000000) {
        const version = (word >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`unsupported SPDY version ${version} (this server speaks SPDY/3.1)`);
        frames.push({ kind: 'control', type: word & 0xffff, flags, payload: Buffer.from(body) });
      } else {
        frames.push({ kind: 'data', streamId: word & 0x7fffffff, flags, data: Buffer.from(body) });
      }
      this.#buf = this.#buf.subarray(8 + length);
    }
    return frames;
  }
}
