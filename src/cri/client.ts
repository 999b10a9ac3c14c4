// A CRI v1 client, as kubelet uses one: every RPC of RuntimeService and ImageService as a
// promise-returning method with a per-call deadline; failures reject with CriError carrying
// the runtime's gRPC status code.
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES, methodKey, serviceDefinition } from './proto.ts';
import { CriError, type CodeValue } from './errors.ts';
import { grpcTargetOf } from './endpoint.ts';
import type { DeepPartial, ImageServiceMethods, RuntimeServiceMethods, VersionResponse } from './types.ts';

/** The CRI API version this client speaks; sent in VersionRequest. */
export const CRI_API_VERSION = 'v1';

/** kubelet's default --runtime-request-timeout. */
export const DEFAULT_TIMEOUT_MS = 2 * 60 * 1000;

export interface CallOptions {
  /** Deadline for this call; Infinity for none. Defaults to the client's timeoutMs. */
  timeoutMs?: number;
  /** Cancels the call (it then rejects with code CANCELLED). */
  signal?: AbortSignal;
}

type MethodShape = { request: unknown; response: unknown; kind: 'unary' | 'serverStream' };

export type ClientMethod<M extends MethodShape> = M['kind'] extends 'serverStream'
  ? (request?: DeepPartial<M['request']>, options?: CallOptions) => AsyncIterable<M['response']>
  : (request?: DeepPartial<M['request']>, options?: CallOptions) => Promise<M['response']>;

type Methods = RuntimeServiceMethods & ImageServiceMethods;

export type CriClient = { [K in keyof Methods]: ClientMethod<Methods[K]> } & {
  readonly endpoint: string;
  /** Resolves once the socket is connected, rejects after timeoutMs. */
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
};

export interface CriClientOptions {
  /** Default deadline of each call (PullImage has none unless given; see below). */
  timeoutMs?: number;
}

export function createCriClient(endpoint: string, options: CriClientOptions = {}): CriClient {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const client = new grpc.Client(grpcTargetOf(endpoint), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });

  const methods: Record<string, unknown> = {};
  for (const service of ['RuntimeService', 'ImageService'] as const) {
    for (const [rpc, def] of Object.entries(serviceDefinition(service))) {
      const timeoutFor = (req: Record<string, unknown>, opts: CallOptions): number =>
        opts.timeoutMs ?? defaultTimeoutFor(rpc, req, defaultTimeout);
      methods[methodKey(rpc)] = def.responseStream
        ? (req: Record<string, unknown> = {}, opts: CallOptions = {}) =>
          streamCall(client, def, rpc, req, opts, timeoutFor(req, opts))
        : (req: Record<string, unknown> = {}, opts: CallOptions = {}) =>
          unaryCall(client, def, rpc, req, opts, timeoutFor(req, opts));
    }
  }
  const versionCall = methods.version as (req: unknown, opts?: CallOptions) => Promise<VersionResponse>;
  methods.version = (req?: { version?: string }, opts?: CallOptions) =>
    versionCall({ version: CRI_API_VERSION, ...req }, opts);

  return Object.assign(methods, {
    endpoint,
    waitForReady: (timeoutMs = defaultTimeout) => new Promise<void>((resolve, reject) => {
      client.waitForReady(Date.now() + timeoutMs, (err) => err
        ? reject(new CriError(grpc.status.UNAVAILABLE, `CRI runtime at ${endpoint} not ready: ${err.message}`))
        : resolve());
    }),
    close: () => client.close(),
  }) as CriClient;
}

/**
 * Deadlines follow kubelet's remote runtime client: image pulls have none, and ExecSync with a
 * timeout gets that timeout on top of the usual one (none when it has none).
 */
function defaultTimeoutFor(rpc: string, req: Record<string, unknown>, defaultTimeout: number): number {
  if (rpc === 'PullImage') return Infinity;
  if (rpc === 'ExecSync') {
    const seconds = Number(req.timeout ?? 0);
    return seconds > 0 ? defaultTimeout + seconds * 1000 : Infinity;
  }
  return defaultTimeout;
}

function callOptions(timeoutMs: number): grpc.CallOptions {
  return Number.isFinite(timeoutMs) ? { deadline: Date.now() + timeoutMs } : {};
}

function toCriError(rpc: string, err: grpc.ServiceError): CriError {
  return new CriError(err.code as CodeValue, err.details || err.message, rpc);
}

function unaryCall(
  client: grpc.Client, def: grpc.MethodDefinition<unknown, unknown>, rpc: string,
  req: unknown, opts: CallOptions, timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new CriError(grpc.status.CANCELLED, `${rpc} cancelled before it was sent`, rpc));
      return;
    }
    const call = client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req,
      new grpc.Metadata(), callOptions(timeoutMs), (err, res) => {
        opts.signal?.removeEventListener('abort', cancel);
        if (err) reject(toCriError(rpc, err));
        else resolve(res);
      });
    const cancel = () => call.cancel();
    opts.signal?.addEventListener('abort', cancel, { once: true });
  });
}

async function* streamCall(
  client: grpc.Client, def: grpc.MethodDefinition<unknown, unknown>, rpc: string,
  req: unknown, opts: CallOptions, timeoutMs: number,
): AsyncGenerator<unknown> {
  // Event streams live as long as the caller wants them: no deadline unless one is asked for.
  const deadline = opts.timeoutMs === undefined ? Infinity : timeoutMs;
  const call = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, req,
    new grpc.Metadata(), callOptions(deadline));
  const cancel = () => call.cancel();
  opts.signal?.addEventListener('abort', cancel, { once: true });
  try {
    for await (const item of call) yield item;
  } catch (err) {
    const serviceError = err as grpc.ServiceError;
    // A stop the caller asked for (signal, or breaking out of the loop) ends quietly.
    if (serviceError.code === grpc.status.CANCELLED && opts.signal?.aborted) return;
    throw typeof serviceError.code === 'number' ? toCriError(rpc, serviceError) : err;
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
    call.cancel();
  }
}
