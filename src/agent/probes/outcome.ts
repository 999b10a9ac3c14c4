// What one probe run gives, and the Go-flavoured error texts kubelet's probers put in Events, so
// `kubectl describe pod` reads the same as on a real node.
// https://github.com/kubernetes/kubernetes/tree/master/pkg/probe
import { isIP } from 'node:net';

/**
 * A probe run's verdict (kubelet's probe.Result): 'warning' counts as success but is worth an
 * Event (an HTTP redirect kubelet did not follow). output is what the Event shows.
 */
export interface ProbeOutcome {
  result: 'success' | 'failure' | 'warning';
  output: string;
}

/**
 * The probe could not be run at all (kubelet's probe error: a bad port, a CRI failure): the
 * result is thrown away instead of counted, and the Event says "probe errored".
 */
export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** The User-Agent kubelet 1.32 sends with HTTP and gRPC probes. */
export const PROBE_USER_AGENT = 'kube-probe/1.32';

/** Probes read at most this much of a response or of exec output (kubelet's 10 KiB limit). */
export const MAX_OUTPUT_BYTES = 10 * 1024;

/** Go's net.JoinHostPort: brackets around IPv6 literals. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go's time.Duration formatting for whole seconds ("1s", "2m0s"). */
export function goSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h ? `${h}h` : ''}${m}m${seconds % 60}s`;
}

/** Go's %q for the plain strings probes deal with. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented',
  'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];

/** How grpc-go prints a status error: `rpc error: code = NotFound desc = unknown service`. */
export function grpcErrorText(code: number, message: string): string {
  return `rpc error: code = ${GRPC_CODE_NAMES[code] ?? `Code(${code})`} desc = ${message}`;
}

const DIAL_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
  EADDRNOTAVAIL: 'connect: cannot assign requested address',
  ECONNRESET: 'read: connection reset by peer',
  EPIPE: 'write: broken pipe',
};

/** A connection failure as Go's net package words it: `dial tcp 10.0.0.5:80: connect: connection refused`. */
export function dialErrorText(host: string, port: number, err: Error): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${host}: no such host`;
  if (code === 'ETIMEDOUT') return `dial tcp ${joinHostPort(host, port)}: i/o timeout`;
  return `dial tcp ${joinHostPort(host, port)}: ${DIAL_ERRORS[code] ?? err.message}`;
}

/** An AbortSignal that fires after ms or when parent does; dispose() clears its timer. */
export function deadlineSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => { expired = true; controller.abort(new Error('probe timeout')); }, ms);
  timer.unref();
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    dispose: () => { clearTimeout(timer); parent?.removeEventListener('abort', onParent); },
  };
}
