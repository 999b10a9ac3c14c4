// SPDY/3 header blocks are compressed with one zlib stream per direction for the whole
// connection, seeded with SPDY3_DICTIONARY, each block ending on a sync flush.
//
// Sending: we write the zlib stream by hand as "stored" (uncompressed) deflate blocks. That is
// valid deflate any inflater reads (Go's compress/zlib in kubectl included), needs no state
// beyond "header written yet?", and keeps every frame synchronous. Our header blocks are a few
// dozen bytes, so compression would save nothing worth an async zlib round trip per frame.
//
// Receiving: the peer really compresses (kubectl uses zlib level 9 with the dictionary), so one
// node:zlib Inflate per connection decodes blocks in order; see HeaderDecompressor.
import { constants, createInflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.ts';

export class HeaderCompressor {
  #started = false;

  /** The zlib bytes carrying `block`, to put in a SYN_STREAM/SYN_REPLY/HEADERS frame. */
  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      // CMF 0x78 (deflate, 32K window); FLG 0x20 = FDICT set, FCHECK making 0x7820 a multiple of 31.
      const head = Buffer.alloc(6);
      head.writeUInt16BE(0x7820, 0);
      head.writeUInt32BE(adler32(SPDY3_DICTIONARY), 2);
      parts.push(head);
    }
    // Stored blocks hold at most 65535 bytes; BFINAL is never set (the stream lives on).
    let off = 0;
    do {
      const piece = block.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h.writeUInt8(0, 0); // BFINAL=0, BTYPE=00 (stored); stored blocks keep us byte-aligned
      h.writeUInt16LE(piece.length, 1);
      h.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(h, piece);
      off += 0xffff;
    } while (off < block.length);
    // End on an empty stored block, as zlib's Z_SYNC_FLUSH does: Go's inflater hands out a
    // stored block's bytes only when it reaches the next block header, and must not have to
    // read past this frame to find it.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/** Decompresses the peer's header blocks, one at a time, in the order they arrived. */
export class HeaderDecompressor {
  #inflate: Inflate;
  #out: Buffer[] = [];
  #failed: Error | undefined;

  constructor() {
    this.#inflate = createInflate({ dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    this.#inflate.on('readable', () => this.#drain());
    this.#inflate.on('error', (e) => (this.#failed = e));
  }

  #drain(): void {
    let chunk: Buffer | null;
    while ((chunk = this.#inflate.read() as Buffer | null) !== null) this.#out.push(chunk);
  }

  /** The uncompressed header block. Callers must await each call before making the next. */
  decompress(compressed: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.#failed) return reject(new Error(`SPDY header decompression failed: ${this.#failed.message}`));
      const onError = (e: Error) => reject(new Error(`SPDY header decompression failed: ${e.message}`));
      this.#inflate.once('error', onError);
      this.#inflate.write(compressed);
      // The flush callback runs after everything written before it went through inflate.
      this.#inflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.#inflate.off('error', onError);
        if (this.#failed) return reject(new Error(`SPDY header decompression failed: ${this.#failed.message}`));
        this.#drain();
        const out = Buffer.concat(this.#out);
        this.#out = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.#inflate.destroy();
  }
}

/** Adler-32 (RFC 1950), the checksum zlib puts in its header for a preset dictionary. */
export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; i++) {
    a = (a + data[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}
