// httpGet probes as kubelet's pkg/probe/http runs them: GET with `User-Agent: kube-probe/1.32` and
// `Accept: */*` unless the probe's httpHeaders say otherwise, no keep-alive, certificates not
// verified, one deadline for the whole exchange, redirects followed only while they stay on the
// same host (up to 10 requests); 200-399 is success, a redirect left unfollowed a warning.
// https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#http-probes
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { HTTPHeader } from 'kubernetes-types/core/v1.d.ts';
import {
  deadlineSignal, dialErrorText, joinHostPort, MAX_OUTPUT_BYTES, PROBE_USER_AGENT, type ProbeOutcome,
} from './outcome.ts';

export interface HttpProbeTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** The probe's path, query included; a missing leading slash is added. */
  path: string;
  headers?: HTTPHeader[];
  timeoutMs: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Go's http.Client gives up when a redirect would make the 11th request. */
const MAX_REQUESTS = 10;

interface Response { status: number; headers: IncomingHttpHeaders; body: string }

export async function httpProbe(target: HttpProbeTarget, parent?: AbortSignal): Promise<ProbeOutcome> {
  const path = target.path.startsWith('/') ? target.path : `/${target.path}`;
  let display = `${target.scheme}://${joinHostPort(target.host, target.port)}${path}`;
  let url = new URL(display);
  const firstHostname = url.hostname;
  const headers = probeHeaders(target.headers ?? []);
  // A Host header replaces the URL's host; it survives relative redirects only (Go's client).
  const hostOverride = typeof headers.host === 'string' && headers.host !== '' ? headers.host : undefined;
  let host = hostOverride ?? joinHostPort(target.host, target.port);
  const deadline = deadlineSignal(target.timeoutMs, parent);
  try {
    for (let requests = 1; ; requests++) {
      const phase = { headersReceived: false };
      let res: Response;
      try {
        res = await get(url, { ...headers, host }, deadline.signal, phase);
      } catch (err) {
        if (parent?.aborted) throw err;
        return { result: 'failure', output: `Get ${JSON.stringify(display)}: ${requestErrorText(url, err as Error, deadline.timedOut(), phase.headersReceived)}` };
      }
      const location = res.headers.location;
      if (REDIRECT_STATUSES.has(res.status) && location) {
        const next = new URL(location, url);
        if (next.hostname === firstHostname) {
          if (requests >= MAX_REQUESTS) {
            return { result: 'failure', output: `Get ${JSON.stringify(next.href)}: stopped after ${MAX_REQUESTS} redirects` };
          }
          const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location);
          host = relative && hostOverride ? hostOverride : next.host;
          url = next;
          display = next.href;
          continue;
        }
      }
      return verdict(res);
    }
  } finally {
    deadline.dispose();
  }
}

function verdict(res: Response): ProbeOutcome {
  if (res.status >= 200 && res.status < 400) {
    if (res.status >= 300) return { result: 'warning', output: `Probe terminated redirects, Response body: ${res.body}` };
    return { result: 'success', output: res.body };
  }
  // kubelet keeps the body out of this message on purpose (kubernetes#99425).
  return { result: 'failure', output: `HTTP probe failed with statuscode: ${res.status}` };
}

/** The probe's httpHeaders (repeats add values) plus kubelet's User-Agent and Accept defaults. */
function probeHeaders(list: HTTPHeader[]): OutgoingHttpHeaders {
  const headers: Record<string, string[]> = {};
  for (const { name, value } of list) (headers[name.toLowerCase()] ??= []).push(value);
  const out: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(headers)) out[name] = values.length === 1 ? values[0] : values;
  if (!('user-agent' in out)) out['user-agent'] = PROBE_USER_AGENT;
  if (!('accept' in out)) out.accept = '*/*';
  else if (out.accept === '') delete out.accept; // an empty Accept means "send none"
  if (Array.isArray(out.host)) out.host = out.host[0];
  return out;
}

function get(url: URL, headers: OutgoingHttpHeaders, signal: AbortSignal, phase: { headersReceived: boolean }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const https = url.protocol === 'https:';
    const options = {
      hostname,
      port: url.port || (https ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers,
      agent: false as const, // a fresh connection, closed after the answer (kubelet disables keep-alive)
      signal,
      ...(https ? { rejectUnauthorized: false, ...(isIP(hostname) ? {} : { servername: hostname }) } : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(options, (res) => {
      phase.headersReceived = true;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, MAX_OUTPUT_BYTES).toString('utf8') });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_OUTPUT_BYTES) done(); // a longer body is cut, not an error
      });
      res.once('end', done);
      res.once('error', reject);
    });
    req.once('error', reject);
    // An in-flight probe never keeps the process alive (its deadline timer is unref'd too).
    req.once('socket', (socket) => socket.unref());
    req.end();
  });
}

function requestErrorText(url: URL, err: Error, timedOut: boolean, headersReceived: boolean): string {
  if (timedOut) {
    return headersReceived
      ? 'context deadline exceeded (Client.Timeout or context cancellation while reading body)'
      : 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code && /^E[A-Z]+$/.test(code) && code !== 'ECONNRESET' && code !== 'EPIPE') {
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return dialErrorText(hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80)), err);
  }
  if (code === 'ECONNRESET' && !headersReceived) return 'EOF';
  return err.message;
}
