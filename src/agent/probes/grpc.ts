// grpc probes: grpc.health.v1.Health/Check over plaintext HTTP/2 on the pod's IP, as kubelet's
// pkg/probe/grpc does: wait for the connection within the timeout, then one Check with the
// probe's service name; only SERVING is success.
// https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#define-a-grpc-liveness-probe
// https://github.com/grpc/grpc/blob/master/doc/health-checking.md
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import { goQuote, goSeconds, grpcErrorText, joinHostPort, PROBE_USER_AGENT, type ProbeOutcome } from './outcome.ts';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** HealthCheckResponse.ServingStatus, by number. */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthCheckRequest(req: { service: string }): Buffer {
  const w = protobuf.Writer.create();
  if (req.service) w.uint32((1 << 3) | 2).string(req.service);
  return Buffer.from(w.finish());
}

/** HealthCheckResponse { ServingStatus status = 1; } */
export function decodeHealthCheckResponse(buf: Buffer): { status: number } {
  const r = protobuf.Reader.create(buf);
  let status = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) status = r.int32();
    else r.skipType(tag & 7);
  }
  return { status };
}

export async function grpcProbe(host: string, port: number, service: string, timeoutSeconds: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  const addr = joinHostPort(host, port);
  const timeout = goSeconds(timeoutSeconds);
  const deadline = Date.now() + timeoutSeconds * 1000;
  const client = new grpc.Client(addr, grpc.credentials.createInsecure(), {
    'grpc.primary_user_agent': PROBE_USER_AGENT,
    // One connection per probe run, as kubelet dials one; no retries behind our back.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
  });
  const close = () => client.close();
  signal?.addEventListener('abort', close, { once: true });
  try {
    // kubelet dials with WithBlock: an unreachable server is a timeout, not an immediate failure.
    const connectError = await new Promise<Error | undefined>((resolve) => client.waitForReady(deadline, resolve));
    if (connectError) {
      if (signal?.aborted) throw signal.reason;
      return { result: 'failure', output: `timeout: failed to connect service ${goQuote(addr)} within ${timeout}: context deadline exceeded` };
    }
    const answer = await new Promise<{ err: grpc.ServiceError | null; res?: { status: number } }>((resolve) => {
      client.makeUnaryRequest(HEALTH_CHECK_PATH, encodeHealthCheckRequest, decodeHealthCheckResponse, { service },
        new grpc.Metadata(), { deadline }, (err, res) => resolve({ err, res }));
    });
    if (answer.err) {
      if (signal?.aborted) throw signal.reason;
      const { code, details } = answer.err;
      if (code === grpc.status.UNIMPLEMENTED) {
        return { result: 'failure', output: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${details}` };
      }
      if (code === grpc.status.DEADLINE_EXCEEDED) {
        return { result: 'failure', output: `timeout: health rpc did not complete within ${timeout}` };
      }
      return { result: 'failure', output: `error: health rpc probe failed: ${grpcErrorText(code, details)}` };
    }
    const status = answer.res?.status ?? 0;
    if (status !== 1) {
      return { result: 'failure', output: `service unhealthy (responded with ${goQuote(SERVING_STATUS[status] ?? String(status))})` };
    }
    return { result: 'success', output: 'service healthy' };
  } finally {
    signal?.removeEventListener('abort', close);
    client.close();
  }
}
