// CRI endpoints are unix sockets named like kubelet's --container-runtime-endpoint
// (e.g. unix:///run/containerd/containerd.sock).
import { isAbsolute } from 'node:path';

/** Absolute socket path of 'unix:///abs/path' (a bare absolute path is accepted too). */
export function socketPathOf(endpoint: string): string {
  const path = endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint;
  if (!isAbsolute(path)) {
    throw new Error(`CRI endpoint ${JSON.stringify(endpoint)} must be unix:///absolute/path/to.sock`);
  }
  return path;
}

/** The grpc-js target for an endpoint: always the 'unix:///abs' form. */
export function grpcTargetOf(endpoint: string): string {
  return `unix://${socketPathOf(endpoint)}`;
}
