// CRI errors are gRPC statuses: kubelet branches on the code (e.g. NotFound from
// ContainerStatus means "already gone", see kuberuntime's use of status.Code), so the code
// must survive both the server and the client side intact.
import { status } from '@grpc/grpc-js';

/** gRPC status codes (status.NOT_FOUND etc.). */
export { status as Code } from '@grpc/grpc-js';
export type CodeValue = (typeof status)[keyof typeof status];

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(status).map(([name, value]) => [value, name]),
);

/** 'NOT_FOUND' style name of a gRPC status code, for messages and logs. */
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

/**
 * A failure with a gRPC status code. Handlers throw it to answer with that code; the client
 * rejects with it, carrying the code the runtime sent and the RPC that failed.
 */
export class CriError extends Error {
  readonly code: CodeValue;
  /** The RPC that failed (e.g. 'RunPodSandbox'), when known. */
  readonly rpc: string | undefined;

  constructor(code: CodeValue, message: string, rpc?: string) {
    super(message);
    this.name = 'CriError';
    this.code = code;
    this.rpc = rpc;
  }
}

export function isCriError(err: unknown, code?: CodeValue): err is CriError {
  return err instanceof CriError && (code === undefined || err.code === code);
}

export function isNotFound(err: unknown): boolean {
  return isCriError(err, status.NOT_FOUND);
}
