// One SPDY/3.1 connection, server side: the peer (kubectl) opens streams with SYN_STREAM, we
// answer each with SYN_REPLY and exchange DATA; FIN half-closes, RST_STREAM aborts one stream,
// GOAWAY ends the session. Flow control (WINDOW_UPDATE) is read and ignored: moby/spdystream,
// the peer kubectl uses, neither sends window updates nor honours windows, so enforcing
// them would stall every stream after 64 KiB.
//
// The transport is whatever carries the bytes: an upgraded socket (`Upgrade: SPDY/3.1`) or a
// WebSocket whose binary messages carry SPDY bytes (`SPDY/3.1+portforward.k8s.io`, kubectl's
// tunneled port-forward).
import { EventEmitter } from 'node:events';
import {
  controlFrame, DATA_CHUNK, dataFrame, decodeHeaderBlock, encodeHeaderBlock, FLAG_FIN, type Frame, FrameParser,
  FrameType, goAwayPayload, rstStreamPayload, RstStatus, synReplyPayload,
} from './frames.ts';
import { HeaderCompressor, HeaderDecompressor } from './header-codec.ts';

export interface SpdyTransport {
  /** Sends bytes; false means "buffer full": wait for onDrain before sending more. */
  write(bytes: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** Ends the transport (after what was written is flushed). */
  close(): void;
}

/**
 * A stream of the connection. Events: 'data' (Buffer), 'end' (the peer sent FIN),
 * 'reset' (RST_STREAM either way, or the connection went away), 'close' (both sides done).
 */
export class SpdyStream extends EventEmitter {
  readonly id: number;
  readonly headers: Record<string, string[]>;
  #conn: SpdyConnection;
  #localClosed = false;
  #remoteClosed = false;
  #gone = false;

  constructor(conn: SpdyConnection, id: number, headers: Record<string, string[]>) {
    super();
    this.#conn = conn;
    this.id = id;
    this.headers = headers;
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  get localClosed(): boolean {
    return this.#localClosed || this.#gone;
  }

  /** Sends data; false when the transport wants the sender to wait (see SpdyConnection.onDrain). */
  write(data: Buffer): boolean {
    if (this.localClosed) return true;
    let ok = true;
    for (let off = 0; off < data.length; off += DATA_CHUNK) {
      ok = this.#conn.send(dataFrame(this.id, data.subarray(off, off + DATA_CHUNK), false));
    }
    return ok;
  }

  /** Half-closes our side (DATA with FIN), as spdystream's Stream.Close does. */
  end(data?: Buffer): void {
    if (data && data.length > 0) this.write(data);
    if (this.localClosed) return;
    this.#localClosed = true;
    this.#conn.send(dataFrame(this.id, Buffer.alloc(0), true));
    this.#maybeClosed();
  }

  /** Aborts the stream both ways. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.#gone) return;
    this.#conn.send(controlFrame(FrameType.RST_STREAM, 0, rstStreamPayload(this.id, status)));
    this.gone();
  }

  /** @internal the stream is over without a FIN exchange (RST either way, connection closed). */
  gone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#conn.forget(this.id);
    this.emit('reset');
    this.emit('close');
  }

  /** @internal */
  remoteData(data: Buffer, fin: boolean): void {
    if (this.#gone) return;
    if (data.length > 0) this.emit('data', data);
    if (fin && !this.#remoteClosed) {
      this.#remoteClosed = true;
      this.emit('end');
      this.#maybeClosed();
    }
  }

  #maybeClosed(): void {
    if (this.#localClosed && this.#remoteClosed && !this.#gone) {
      this.#gone = true;
      this.#conn.forget(this.id);
      this.emit('close');
    }
  }
}

export interface SpdyConnectionOptions {
  /** A new stream the peer opened (already answered with SYN_REPLY). */
  onStream(stream: SpdyStream): void;
  /** The session is over: GOAWAY, a protocol error, or close(). */
  onClose?(error?: Error): void;
}

export class SpdyConnection {
  #transport: SpdyTransport;
  #opts: SpdyConnectionOptions;
  #parser = new FrameParser();
  #compressor = new HeaderCompressor();
  #decompressor = new HeaderDecompressor();
  #streams = new Map<number, SpdyStream>();
  #lastPeerStream = 0;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(transport: SpdyTransport, opts: SpdyConnectionOptions) {
    this.#transport = transport;
    this.#opts = opts;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Feeds bytes from the transport. Frames are handled strictly in order. */
  receive(chunk: Buffer): void {
    if (this.#closed) return;
    let frames: Frame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (e) {
      this.#fail(e as Error);
      return;
    }
    for (const f of frames) {
      this.#queue = this.#queue.then(() => (this.#closed ? undefined : this.#handle(f))).catch((e: Error) => this.#fail(e));
    }
  }

  /** @internal */
  send(bytes: Buffer): boolean {
    if (this.#closed) return true;
    return this.#transport.write(bytes);
  }

  onDrain(cb: () => void): void {
    this.#transport.onDrain(cb);
  }

  /** @internal */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  /** Says GOAWAY, resets what is still open and closes the transport. */
  close(error?: Error): void {
    if (this.#closed) return;
    this.#transport.write(controlFrame(FrameType.GOAWAY, 0, goAwayPayload(this.#lastPeerStream, error ? 1 : 0)));
    this.#shutdown(error);
  }

  /** The transport went away under us. */
  transportClosed(): void {
    this.#shutdown();
  }

  #shutdown(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams.values()]) s.gone();
    this.#decompressor.close();
    this.#transport.close();
    this.#opts.onClose?.(error);
  }

  #fail(e: Error): void {
    this.close(e);
  }

  async #handle(f: Frame): Promise<void> {
    if (f.kind === 'data') {
      const stream = this.#streams.get(f.streamId);
      if (!stream) {
        this.send(controlFrame(FrameType.RST_STREAM, 0, rstStreamPayload(f.streamId, RstStatus.INVALID_STREAM)));
        return;
      }
      stream.remoteData(f.data, (f.flags & FLAG_FIN) !== 0);
      return;
    }
    const p = f.payload;
    switch (f.type) {
      case FrameType.SYN_STREAM: {
        if (p.length < 10) throw new Error('SPDY SYN_STREAM frame is too short');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        // Every header block goes through the decompressor, in order, or its state drifts.
        const headers = decodeHeaderBlock(await this.#decompressor.decompress(p.subarray(10)));
        if (id === 0 || id % 2 === 0 || this.#streams.has(id)) {
          this.send(controlFrame(FrameType.RST_STREAM, 0, rstStreamPayload(id, id === 0 || id % 2 === 0 ? RstStatus.PROTOCOL_ERROR : RstStatus.STREAM_IN_USE)));
          return;
        }
        this.#lastPeerStream = Math.max(this.#lastPeerStream, id);
        const stream = new SpdyStream(this, id, headers);
        this.#streams.set(id, stream);
        this.send(controlFrame(FrameType.SYN_REPLY, 0, synReplyPayload(id, this.#compressor.compress(encodeHeaderBlock({})))));
        this.#opts.onStream(stream);
        if (f.flags & FLAG_FIN) stream.remoteData(Buffer.alloc(0), true);
        return;
      }
      case FrameType.SYN_REPLY:
      case FrameType.HEADERS: {
        if (p.length < 4) throw new Error('SPDY SYN_REPLY/HEADERS frame is too short');
        await this.#decompressor.decompress(p.subarray(4));
        if (f.flags & FLAG_FIN) this.#streams.get(p.readUInt32BE(0) & 0x7fffffff)?.remoteData(Buffer.alloc(0), true);
        return;
      }
      case FrameType.RST_STREAM: {
        if (p.length < 8) throw new Error('SPDY RST_STREAM frame is too short');
        this.#streams.get(p.readUInt32BE(0) & 0x7fffffff)?.gone();
        return;
      }
      case FrameType.PING: {
        if (p.length < 4) throw new Error('SPDY PING frame is too short');
        // Odd ids are the client's: echo them. Even ones would answer our own pings (we send none).
        if (p.readUInt32BE(0) % 2 === 1) this.send(controlFrame(FrameType.PING, 0, p.subarray(0, 4)));
        return;
      }
      case FrameType.GOAWAY:
        this.#shutdown();
        return;
      case FrameType.SETTINGS:
      case FrameType.WINDOW_UPDATE:
        return;
      default:
        // Unknown control frames must be ignored (SPDY/3.1 section 2.2.1).
        return;
    }
  }
}
