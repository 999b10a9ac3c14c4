// Passing an upgrade request (WebSocket or SPDY) on to another server and splicing the two
// connections once it switches protocols, as Kubernetes' UpgradeAwareHandler does for the API
// server → kubelet hop and for kubelet → the runtime's streaming server. The client's protocol
// negotiation (Sec-WebSocket-Protocol, X-Stream-Protocol-Version) goes through untouched, so
// whatever the two ends agree on works; a refusal comes back to the client as the far end wrote it.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';

/** Request headers never passed on: credentials for this hop and hop-specific ones. */
const DROPPED = new Set(['host', 'authorization', 'proxy-authorization', 'cookie', 'content-length', 'transfer-encoding', 'keep-alive']);

/** The client's headers minus this hop's credentials (Impersonate-* too). */
export function forwardedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || DROPPED.has(k) || k.startsWith('impersonate-')) continue;
    out[k] = v;
  }
  return out;
}

export interface UpgradeTarget {
  url: URL;
  headers: OutgoingHttpHeaders;
  /** For https targets: client certificate, CA, verification. */
  tls?: ConnectionOptions;
  /** Abandon the attempt to connect after this long. */
  connectTimeoutMs?: number;
}

/** The most of a refusal's body we pass back. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Sends the upgrade request to target and, on 101, splices client and target. Resolves once the
 * exchange is settled (spliced, or the refusal relayed); rejects only if the target could not be
 * reached at all (nothing was written to the client then).
 */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const { url } = target;
    const headers: OutgoingHttpHeaders = { ...target.headers, host: url.host };
    // A bodyless POST must say so, or Node would send a chunked terminator into the new protocol.
    if (req.method !== 'GET' && req.method !== 'HEAD') headers['content-length'] = '0';
    const options: https.RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: req.method,
      headers,
      agent: false,
      timeout: target.connectTimeoutMs ?? 30_000,
      ...(url.protocol === 'https:' ? target.tls : {}),
    };
    const out = (url.protocol === 'https:' ? https : http).request(options);
    let settled = false;
    out.on('timeout', () => out.destroy(new Error(`no answer from ${url.host} within ${target.connectTimeoutMs ?? 30_000} ms`)));
    out.on('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    out.on('upgrade', (res, upstream, upHead) => {
      settled = true;
      out.setTimeout(0);
      upstream.setTimeout(0);
      socket.write(statusLine(res) + headerLines(res.rawHeaders) + '\r\n');
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upstream.write(head);
      splice(socket, upstream);
      resolve();
    });
    out.on('response', (res) => {
      settled = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ERROR_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY);
        const keep = res.rawHeaders.filter((_, i, a) => i % 2 === 0 && !['content-length', 'transfer-encoding', 'connection'].includes(a[i].toLowerCase()));
        const raw: string[] = [];
        for (const name of keep) raw.push(name, String(res.headers[name.toLowerCase()]));
        socket.write(statusLine(res) + headerLines(raw) + `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        socket.end(body);
        resolve();
      });
      res.on('error', () => socket.destroy());
    });
    out.end();
  });
}

/** Writes a complete HTTP response on a raw (not yet upgraded) socket and closes it. */
export function writeRawResponse(socket: Duplex, code: number, body: string, contentType = 'application/json'): void {
  const bytes = Buffer.from(body);
  socket.write(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${bytes.length}\r\nCache-Control: no-cache, private\r\nConnection: close\r\n\r\n`);
  socket.end(bytes);
}

/** Pipes both ways; either side closing or failing closes the other. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
  a.on('close', close);
  b.on('close', close);
}

function statusLine(res: IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode} ${res.statusMessage || http.STATUS_CODES[res.statusCode ?? 0] || ''}\r\n`;
}

function headerLines(raw: string[]): string {
  let s = '';
  for (let i = 0; i + 1 < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return s;
}
