// Serves CRI v1 (RuntimeService + ImageService) on a unix socket, the way a container runtime
// does for kubelet. Handlers are plain async functions from request to response; this file
// owns the grpc-js plumbing: socket hygiene, status-code mapping, streaming, shutdown.
import { mkdir, lstat, unlink, chmod } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES, methodKey, serviceDefinition, type CriServiceName } from './proto.ts';
import { CriError, codeName } from './errors.ts';
import { socketPathOf, grpcTargetOf } from './endpoint.ts';
import type { DeepPartial, ImageServiceMethods, RuntimeServiceMethods } from './types.ts';

export interface CallContext {
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
  /** The gRPC method, e.g. 'RunPodSandbox'. */
  rpc: string;
}

type MethodShape = { request: unknown; response: unknown; kind: 'unary' | 'serverStream' };

/** A unary RPC answers once; a server-streaming RPC (GetContainerEvents) yields until aborted. */
export type Handler<M extends MethodShape> = M['kind'] extends 'serverStream'
  ? (request: M['request'], ctx: CallContext) => AsyncIterable<DeepPartial<M['response']>>
  : (request: M['request'], ctx: CallContext) => Promise<DeepPartial<M['response']>> | DeepPartial<M['response']>;

export type RuntimeServiceHandlers = { [K in keyof RuntimeServiceMethods]: Handler<RuntimeServiceMethods[K]> };
export type ImageServiceHandlers = { [K in keyof ImageServiceMethods]: Handler<ImageServiceMethods[K]> };
export type CriHandlers = Partial<RuntimeServiceHandlers & ImageServiceHandlers>;

export interface ServeCriOptions {
  /** Where unexpected handler failures are reported; defaults to console.error. */
  log?: (line: string) => void;
  /** Socket file mode; 0660 so only root and the socket's group reach the runtime. */
  socketMode?: number;
}

export interface CriServer {
  readonly endpoint: string;
  readonly socketPath: string;
  /** Lets in-flight calls finish for up to graceMs (default 5s), then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

export async function serveCri(endpoint: string, impl: CriHandlers, options: ServeCriOptions = {}): Promise<CriServer> {
  const socketPath = socketPathOf(endpoint);
  const log = options.log ?? ((line: string) => console.error(line));
  await prepareSocketPath(socketPath);

  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  const handlers = impl as Record<string, Handler<MethodShape> | undefined>;
  for (const service of ['RuntimeService', 'ImageService'] as const) {
    server.addService(serviceDefinition(service), implementationFor(service, handlers, log));
  }

  await new Promise<number>((resolve, reject) => {
    server.bindAsync(grpcTargetOf(endpoint), grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(new Error(`CRI server cannot listen on ${endpoint}: ${err.message}`)) : resolve(port));
  });
  await chmod(socketPath, options.socketMode ?? 0o660);

  return {
    endpoint,
    socketPath,
    close: (graceMs = 5000) => shutdown(server, socketPath, graceMs),
  };
}

/**
 * Creates the socket's directory and removes a socket left by a runtime that died, but refuses
 * to take over a socket that still answers or a path that is not a socket.
 */
async function prepareSocketPath(socketPath: string): Promise<void> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o750 });
  const existing = await lstat(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!existing) return;
  if (!existing.isSocket()) {
    throw new Error(`CRI socket path ${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await socketAnswers(socketPath)) {
    throw new Error(`CRI socket ${socketPath} is in use by another running server`);
  }
  await unlink(socketPath);
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

function implementationFor(
  service: CriServiceName,
  handlers: Record<string, Handler<MethodShape> | undefined>,
  log: (line: string) => void,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [rpc, def] of Object.entries(serviceDefinition(service))) {
    const handler = handlers[methodKey(rpc)];
    const fail = (err: unknown): grpc.ServerErrorResponse => toServiceError(service, rpc, err, log);
    if (!handler) {
      out[rpc] = unimplemented(service, rpc, def.responseStream);
    } else if (def.responseStream) {
      out[rpc] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        void streamResponses(call, handler as Handler<MethodShape & { kind: 'serverStream' }>, rpc, fail);
      };
    } else {
      out[rpc] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const signal = abortOnCancel(call);
        const unary = handler as Handler<MethodShape & { kind: 'unary' }>;
        Promise.resolve()
          .then(() => unary(call.request, { signal, rpc }))
          .then((res) => callback(null, res ?? {}), (err: unknown) => callback(fail(err)));
      };
    }
  }
  return out;
}

async function streamResponses(
  call: grpc.ServerWritableStream<unknown, unknown>,
  handler: Handler<MethodShape & { kind: 'serverStream' }>,
  rpc: string,
  fail: (err: unknown) => grpc.ServerErrorResponse,
): Promise<void> {
  const signal = abortOnCancel(call);
  try {
    for await (const item of handler(call.request, { signal, rpc })) {
      if (signal.aborted) break;
      if (!call.write(item)) await waitForDrain(call, signal);
    }
    if (!signal.aborted) call.end();
  } catch (err) {
    if (!signal.aborted) call.emit('error', fail(err));
  }
}

function waitForDrain(call: grpc.ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { call.off('drain', done); signal.removeEventListener('abort', done); resolve(); };
    call.on('drain', done);
    signal.addEventListener('abort', done);
  });
}

function abortOnCancel(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort(new CriError(grpc.status.CANCELLED, 'call cancelled by the client')));
  return controller.signal;
}

function unimplemented(service: string, rpc: string, streaming: boolean): grpc.UntypedHandleCall {
  const error = { code: grpc.status.UNIMPLEMENTED, details: `${service}/${rpc} is not implemented by this runtime` };
  if (streaming) return (call: grpc.ServerWritableStream<unknown, unknown>) => { call.emit('error', error); };
  return (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(error);
}

/** CriError keeps its code; anything else is a bug in the handler: Internal, and logged. */
function toServiceError(service: string, rpc: string, err: unknown, log: (line: string) => void): grpc.ServerErrorResponse {
  if (err instanceof CriError) {
    return Object.assign(new Error(err.message), { code: err.code, details: err.message });
  }
  const message = err instanceof Error ? err.message : String(err);
  log(`cri: ${service}/${rpc} failed unexpectedly (answering ${codeName(grpc.status.INTERNAL)}): ${
    err instanceof Error && err.stack ? err.stack : message}`);
  return Object.assign(new Error(message), { code: grpc.status.INTERNAL, details: message });
}

async function shutdown(server: grpc.Server, socketPath: string, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
    server.tryShutdown(() => { clearTimeout(timer); resolve(); });
  });
  // Node removes the socket file when the listener closes; this covers a forced close.
  await unlink(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
